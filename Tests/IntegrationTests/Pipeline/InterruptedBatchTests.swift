import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

@Suite(.removesTempDirs) struct InterruptedBatchTests {
    /// Ctrl-C with 100 000 ids still to go: out within 2 s, one summary, not a line per id.
    @Test func ctrlCWithAHundredThousandIdsQueued() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let downloading = server.createJob(spec(bytes: 4 << 20) { $0.faults.stallAfterBytes = 1 << 20 })
            let polling = (0..<8).map { _ in server.createJob(spec { $0.queuedSeconds = 3600 }) }
            let list = dir + "/ids.txt"
            var text = ([downloading] + polling).joined(separator: "\n") + "\n"
            for i in 0..<99_991 { text += "video_waiting_\(i)\n" }
            try text.write(toFile: list, atomically: true, encoding: .utf8)
            let p = try server.launchCLI(
                ["-i", list, "-o", dir + "/out", "--poll-interval", "0.2", "--jobs", "1"],
                env: ["LUMENFALL_API_KEY": server.apiKey])
            let part = "\(dir)/out/\(downloading).mp4.part"
            let deadline = Date().addingTimeInterval(30)
            while (AtomicFile.size(of: part) ?? 0) == 0, Date() < deadline {
                try await Task.sleep(nanoseconds: 50_000_000)
            }
            let sent = Date()
            kill(p.process.processIdentifier, SIGINT)
            let r = await p.result()
            // The 2 s promise is kept by the process's own exit timer (SignalTrap, 1.8 s); a test
            // under CI's load measures the machine, not that, so only a hang fails here.
            #expect(r.ended.timeIntervalSince(sent) < 10)
            #expect(r.status == 130)
            let lines = r.stderr.split(separator: "\n")
            // A line per id in flight (8 polls, 1 download), then one summary.
            #expect(lines.count < 40, "\(lines.count) lines")
            #expect(lines.filter { $0.contains("done:") }.count == 1, "\(r.stderr)")
            // The ids never reached were never asked for.
            #expect(!server.requests().contains { $0.path.contains("video_waiting_") })
        }
    }

    /// After Ctrl-C the counts add up: saved, failed and interrupted are each their own, the
    /// interrupted ids are not reported as failures one by one, and the one line about partial
    /// files counts only those on disk.
    @Test func countsAfterCtrlCAddUpAndInterruptedIsNotFailed() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let saved = server.createJob(spec(bytes: 1000) { $0.queuedPolls = 0 })
            let failed = server.createJob(
                spec {
                    $0.outcome = "failed"
                    $0.queuedPolls = 0
                })
            let downloading = server.createJob(spec(bytes: 4 << 20) { $0.faults.stallAfterBytes = 1 << 20 })
            let waiting = (0..<3).map { _ in server.createJob(spec { $0.queuedSeconds = 3600 }) }
            let ids = [saved, failed, downloading] + waiting
            let p = try server.launchCLI(
                ids + ["-o", dir, "--poll-interval", "0.2", "--progress", "plain"], env: ["LUMENFALL_API_KEY": server.apiKey])
            let part = "\(dir)/\(downloading).mp4.part"
            try await waitUntil("the download's first bytes and the saved id", timeout: 60) {
                (AtomicFile.size(of: part) ?? 0) > 0 && FileManager.default.fileExists(atPath: "\(dir)/\(saved).json")
            }
            kill(p.process.processIdentifier, SIGINT)
            let r = await p.result()
            #expect(r.status == 130)
            let done = try #require(r.stderr.split(separator: "\n").first { $0.contains("done:") })
            #expect(done.contains("1 saved, 0 already saved, 1 failed, 0 expired, 4 interrupted"), "\(done)")
            #expect(r.stderr.contains("interrupted: 4 ids not finished; 1 partial file is kept and resume on the next run"), "\(r.stderr)")
            // Only the real failure has a line of its own.
            for id in waiting { #expect(!r.stderr.contains("\(id): interrupted"), "\(r.stderr)") }
        }
    }
}
