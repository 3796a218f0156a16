import Foundation
import Testing

@testable import LumenfallWatch

@Suite struct WatchJournalTests {
    func tempDir() -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    /// Issue 17: a journal that is there but cannot be read whole is an error that says what
    /// to do, never taken for an empty journal (its pending ids would be lost).
    @Test func aJournalThatCannotBeReadStopsTheStart() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: "\(dir)/\(WatchJournal.folderName)", withIntermediateDirectories: true)
        #expect(mkfifo("\(dir)/\(WatchJournal.folderName)/journal", 0o600) == 0)
        do {
            _ = try WatchJournal(directory: dir)
            Issue.record("a FIFO was taken for a journal")
        } catch let e as WatchJournal.Failure {
            #expect(e.description.contains("move it aside"), "\(e)")
        }
    }

    @Test func acceptedAndUnfinishedIdsSurviveAReopen() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let j = try WatchJournal(directory: dir)
            #expect(try j.accept("video_a"))
            #expect(try j.accept("video_b"))
            #expect(try !j.accept("video_a"), "already pending: nothing written")
            try j.accept("video_c")
            j.finish("video_b", "saved")
            try j.setHighWater(1_795_000_000)
        }
        // A crash mid-line leaves a torn last line: it is skipped.
        let path = "\(dir)/.lumenfall-watch/journal"
        let h = try #require(FileHandle(forWritingAtPath: path))
        h.seekToEndOfFile()
        h.write(Data("+ video_tor".utf8))
        try h.close()
        let j = try WatchJournal(directory: dir)
        #expect(j.pending == ["video_a", "video_c"], "the torn line was never acknowledged")
        #expect(j.highWater == 1_795_000_000)
        j.finish("video_a", "saved")
        #expect(try WatchJournal(directory: dir).pending == ["video_c"], "the line after a torn one reads clean")
    }

    @Test func aLongJournalIsCompactedToWhatIsPending() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let j = try WatchJournal(directory: dir, compactAt: 64 << 10)
        for i in 0..<3000 {
            try j.accept("video_\(i)")
            if i != 7 { j.finish("video_\(i)", "saved") }
        }
        let size = try #require(try FileManager.default.attributesOfItem(atPath: "\(dir)/.lumenfall-watch/journal")[.size] as? Int)
        #expect(size < (64 << 10) + 4096, "\(size)")
        #expect(try WatchJournal(directory: dir).pending == ["video_7"])
    }
}
