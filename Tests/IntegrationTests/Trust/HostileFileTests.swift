import Foundation
import LumenfallSandbox
import Testing

@testable import LumenfallCore

/// Files that are not what they claim (issue 17, findings 5 and 6): a FIFO where a video or an
/// archive should be, a tar member whose header claims a petabyte.
@Suite(.removesTempDirs) struct HostileFileTests {
    @Test func aVideoReplacedByAFIFOAfterTheScanStopsTheArchiveAtOnce() async throws {
        try await withSandbox { server in
            let (dir, ids) = try await savedFolder(server, count: 2, bytes: 40_000)
            let items = try ArchiveItem.scan(directory: dir).items
            let video = "\(dir)/\(ids[0]).mp4"
            #expect(unlink(video) == 0 && mkfifo(video, 0o644) == 0)
            let out = makeTempDir() + "/a.tar"
            let started = Date()
            // On a thread of its own: were the FIFO waited on, no cooperative thread is lost.
            let refused = try await offPool { () -> Bool in
                do {
                    _ = try Archiver(directory: dir, path: out).write(items)
                    return false
                } catch { return true }
            }
            #expect(refused)
            #expect(Date().timeIntervalSince(started) < 30)
            #expect(!FileManager.default.fileExists(atPath: out), "no archive is left")
        }
    }

    @Test func verifyRefusesAFIFOInsteadOfWaitingOnIt() async throws {
        let fifo = makeTempDir() + "/x.tar"
        #expect(mkfifo(fifo, 0o644) == 0)
        let r = try await runCLI(["verify", fifo])
        #expect(r.status == 1, "\(r.stderr)")
        #expect((r.stdout + r.stderr).contains("not a regular file"), "\(r.stdout)\(r.stderr)")
    }

    /// A GNU sparse member of 1 TiB in a 10 KiB tar, not listed anywhere: never read (hashing
    /// its zeros took hours). Listed in SHA256SUMS only, it is over the cap for sizes no
    /// manifest gives, and not read either.
    @Test(arguments: [false, true])
    func aSparseMemberClaimingATebibyteIsNotHashed(listed: Bool) async throws {
        let dir = makeTempDir()
        let big = "\(dir)/video_sparse.mp4"
        #expect(FileManager.default.createFile(atPath: big, contents: nil) && truncate(big, 1 << 40) == 0)
        if listed {
            try Data("\(String(repeating: "0", count: 64))  video_sparse.mp4\n".utf8).write(to: URL(fileURLWithPath: "\(dir)/SHA256SUMS"))
        }
        let tar = makeTempDir() + "/sparse.tar"
        // tar and the verifier block: on a thread of their own, never on the cooperative pool.
        let status = try await offPool { () -> Int32 in
            let t = Process()
            t.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            t.arguments =
                ["tar", "--sparse", "-C", dir, "-cf", tar] + (listed ? ["SHA256SUMS", "video_sparse.mp4"] : ["video_sparse.mp4"])
            try t.run()
            t.waitUntilExit()
            return t.terminationStatus
        }
        #expect(status == 0)
        #expect((AtomicFile.size(of: tar) ?? .max) < 1 << 20, "the archive itself is small")
        let started = Date()
        let report = try await offPool { ArchiveVerifier.verify(path: tar) }
        #expect(Date().timeIntervalSince(started) < 60)
        #expect(report.bytes == 0, "no byte of the claim was hashed")
        #expect(!report.problems.isEmpty)
    }
}
