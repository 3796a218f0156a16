import Foundation
import Synchronization
import Testing

@testable import LumenfallCore

/// The group commit's order is the durability promise: every file of the group synced before
/// any of them gets its final name, every final name synced before the group is reported.
@Suite struct GroupCommitTests {
    /// A fresh folder, removed when the test ends (`defer`) by the caller.
    func makeTempDir() -> String {
        let dir = NSTemporaryDirectory() + "lumenfall-commit-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// What the barriers saw, in order.
    final class Record: Sendable {
        let events = Mutex<[String]>([])
        func add(_ e: String) { events.withLock { $0.append(e) } }
        var all: [String] { events.withLock { $0 } }
    }

    func file(_ dir: String, _ name: String, _ text: String = "x") -> String {
        let path = "\(dir)/\(name)"
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    @Test func dataIsSyncedBeforeAnyRenameAndNamesAfterAll() throws {
        let dir = makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let groups: [[GroupCommit.Rename]] = (0..<3).map { i in
            [
                .init(from: file(dir, "v\(i).mp4.part"), to: "\(dir)/v\(i).mp4", thenRemove: file(dir, "v\(i).mp4.part.state")),
                .init(from: file(dir, ".v\(i).json.tmp-1"), to: "\(dir)/v\(i).json"),
            ]
        }
        let record = Record()
        let commit = GroupCommit { barrier, dirs, files in
            let finals = groups.joined().filter { FileManager.default.fileExists(atPath: $0.to) }.count
            record.add("\(barrier) dirs=\(dirs) files=\(files.count) finals=\(finals)")
        }
        let results = commit.commit(groups)
        #expect(results.allSatisfy { $0 == nil })
        // The data barrier saw every file of the group and no final name yet; the names
        // barrier came after all six renames.
        #expect(record.all == ["data dirs=[\"\(dir)\"] files=6 finals=0", "names dirs=[\"\(dir)\"] files=0 finals=6"])
        for i in 0..<3 {
            #expect(FileManager.default.fileExists(atPath: "\(dir)/v\(i).mp4"))
            #expect(!FileManager.default.fileExists(atPath: "\(dir)/v\(i).mp4.part.state"))
        }
    }

    @Test func aFailedRenameFailsItsIdAlone() throws {
        let dir = makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let good = [GroupCommit.Rename(from: file(dir, "a.mp4.part"), to: "\(dir)/a.mp4")]
        let gone = [GroupCommit.Rename(from: "\(dir)/missing.mp4.part", to: "\(dir)/missing.mp4")]
        let results = GroupCommit { _, _, _ in }.commit([good, gone, good.map { _ in .init(from: file(dir, "b.part"), to: "\(dir)/b") }])
        #expect(results[0] == nil && results[2] == nil)
        #expect(results[1] != nil)
        #expect(FileManager.default.fileExists(atPath: "\(dir)/a.mp4"))
    }

    /// A data barrier that fails renames nothing: every `.part` stays, to be resumed.
    @Test func aFailedDataBarrierRenamesNothing() throws {
        struct DiskGone: Error {}
        let dir = makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let part = file(dir, "a.mp4.part")
        let results = GroupCommit { barrier, _, _ in if barrier == .data { throw DiskGone() } }.commit([
            [.init(from: part, to: "\(dir)/a.mp4")]
        ])
        #expect(results.count == 1 && results[0] != nil)
        #expect(FileManager.default.fileExists(atPath: part))
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/a.mp4"))
    }

    /// The real barriers on real files: they pass, and a file that vanished is an error.
    @Test func theRealBarriersSyncTheFilesAndTheFolder() async throws {
        let dir = makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Off the cooperative pool, as the pipeline does it: a sync on a busy disk can take seconds.
        let from = file(dir, "a.part")
        let ok = try await BlockingIO.run { GroupCommit().commit([[.init(from: from, to: "\(dir)/a")]]) }
        #expect(ok.count == 1 && ok[0] == nil)
        #expect(FileManager.default.fileExists(atPath: "\(dir)/a"))
        #expect(throws: (any Error).self) { try GroupCommit.syncToDisk(.data, [dir], ["\(dir)/nothing"]) }
    }
}
