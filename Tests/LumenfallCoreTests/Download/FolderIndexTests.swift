import Foundation
import Testing

@testable import LumenfallCore

/// The folder index may only say "nothing there" when nothing is: a `.part`, a video without
/// its sidecar and a preview all count; a stem marked after a failure is looked for again.
@Suite struct FolderIndexTests {
    func folder(_ names: [String]) -> String {
        let dir = NSTemporaryDirectory() + "lumenfall-index-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for n in names { _ = FileManager.default.createFile(atPath: "\(dir)/\(n)", contents: Data("x".utf8)) }
        return dir
    }

    @Test func partsAndVideosWithoutSidecarsAreFoundSavedOnesAndStrangersAreNot() throws {
        let dir = folder([
            "a.mp4.part", "a.mp4.part.state", "b.webm", "c.mp4", "c.json", "d.thumbnail.png", "e.json", "notes.txt",
            "f.mp4.tmp", ".g.json.tmp-x1",
        ])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let index = try #require(FolderIndex(directory: dir))
        #expect(index.mayHaveFiles("a"))  // a .part
        #expect(index.mayHaveFiles("b"))  // a video without its sidecar
        #expect(index.mayHaveFiles("d.thumbnail"))  // a preview (previews have no sidecar of their own)
        #expect(!index.mayHaveFiles("c"))  // saved: video and sidecar
        #expect(!index.mayHaveFiles("e"))
        #expect(!index.mayHaveFiles("f"))
        #expect(!index.mayHaveFiles("new"))
        index.mark("new")
        #expect(index.mayHaveFiles("new"))
    }

    /// A sidecar temp a killed run left is removed once it is old; a fresh one (a live run's) stays.
    @Test func oldSidecarTempsAreRemovedAndFreshOnesKept() throws {
        let dir = folder([".a.json.tmp-old1", ".b.json.tmp-new1", ".c.tar.tmp-x", "d.json"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let hourAgo = Date().addingTimeInterval(-3600)
        try FileManager.default.setAttributes([.modificationDate: hourAgo], ofItemAtPath: "\(dir)/.a.json.tmp-old1")
        try FileManager.default.setAttributes([.modificationDate: hourAgo], ofItemAtPath: "\(dir)/.c.tar.tmp-x")
        let index = try #require(FolderIndex(directory: dir))
        #expect(Set(index.sidecarTemps.map { ($0 as NSString).lastPathComponent }) == [".a.json.tmp-old1", ".b.json.tmp-new1"])
        index.removeStaleSidecarTemps()
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: dir))
        #expect(left == [".b.json.tmp-new1", ".c.tar.tmp-x", "d.json"])
    }

    @Test func aFolderTooBigOrMissingIsNotIndexed() {
        let dir = folder((0..<20).map { "v\($0).mp4" })
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(FolderIndex(directory: dir, maxEntries: 10) == nil)
        #expect(FolderIndex(directory: dir, maxEntries: 100) != nil)
        #expect(FolderIndex(directory: dir + "/nothing") == nil)
    }
}
