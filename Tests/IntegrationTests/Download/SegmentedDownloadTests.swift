import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite(.removesTempDirs) struct SegmentedDownloadTests {
    let mib = 1 << 20

    /// Four ranged connections at once, each throttled by the host, make one whole file.
    /// (Speed is Scripts/bench's business: 3.9 x one connection there.)
    @Test func rangesOverSeveralConnectionsMakeOneWholeFile() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(spec(bytes: 8 * mib) { $0.faults.throttleBytesPerSecond = 4 * mib })
            let before = server.connectionsAccepted
            let r = try await server.runCLI(
                [id, "-o", dir, "--poll-interval", "0.05", "--segments", "4"],
                env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(r.status == 0, "\(r.stderr)")
            try expectSaved(server, id, dir: dir)
            #expect(r.stderr.contains("4 connections"))
            let ranges = mediaRequests(server, id).compactMap(\.range)
            #expect(ranges.contains("bytes=0-0"), "the probe: \(ranges)")
            for k in 0..<4 {
                #expect(ranges.contains("bytes=\(k * 2 * mib)-\((k + 1) * 2 * mib - 1)"), "range \(k): \(ranges)")
            }
            // Throttled transfers that overlap need a connection each (media is HTTP/1.1).
            #expect(server.connectionsAccepted - before >= 4)
        }
    }

    /// SIGKILL in the middle: the next run asks each range only for what it lacks.
    @Test func aKilledSegmentedDownloadResumesEveryRange() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            // 128 KiB/s a connection: each 2 MiB range takes 16 s, so the moment to kill (every
            // range started, none finished) lasts about 15 s, longer than the test process is
            // ever starved of CPU at the suite's busy start (it was 3 s at 512 KiB/s, and CI
            // missed it). The probe and the four ranges are throttled; the rerun runs free.
            let id = server.createJob(
                spec(bytes: 8 * mib) {
                    $0.faults.throttleBytesPerSecond = mib / 8
                    $0.faults.throttleTimes = 5
                })
            let args = [id, "-o", dir, "--base-url", server.baseURL, "--poll-interval", "0.05", "--segments", "4"]
            let env = ["LUMENFALL_API_KEY": server.apiKey]
            // Killed once a checkpoint shows bytes in at least three ranges and none finished.
            let saved = try await kill(args, env: env, state: "\(dir)/\(id).mp4.part.state") { ranges in
                ranges.filter { $0.next > $0.start }.count >= 3 && ranges.allSatisfy { $0.next < $0.end }
            }
            #expect(saved.count >= 4)
            let before = mediaRequests(server, id).count

            let r = try await runCLI(args, env: env)
            #expect(r.status == 0, "\(r.stderr)")
            try expectSaved(server, id, dir: dir)
            // No new probe and no range from its start: each asks from where its state said
            // (or further: the last checkpoint may lag the kill by a second of bytes).
            let resumed = mediaRequests(server, id).dropFirst(before).compactMap(\.range)
            #expect(!resumed.isEmpty)
            #expect(!resumed.contains("bytes=0-0"), "\(resumed)")
            for range in saved where range.next > range.start && range.next < range.end {
                let asked = resumed.compactMap { r -> Int? in
                    let from = Int(r.dropFirst(6).split(separator: "-")[0]) ?? -1
                    return from >= range.next && from < range.end ? from : nil
                }
                #expect(!asked.isEmpty, "range \(range.start): \(resumed)")
                #expect(!resumed.contains { $0.hasPrefix("bytes=\(range.start)-") }, "range \(range.start) restarted: \(resumed)")
            }
        }
    }

    /// The state is lost (deleted by hand) after a kill: the `.part` has holes, so only what
    /// comes before the first one is kept, and the file is still right.
    @Test func aRangedPartWithoutItsStateKeepsOnlyItsFirstHoleFreeBytes() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(
                spec(bytes: 8 * mib) {
                    // 128 KiB/s: a 15 s window to kill in (see the test above).
                    $0.faults.throttleBytesPerSecond = mib / 8
                    $0.faults.throttleTimes = 5  // the probe and the four ranges; the rerun runs free
                })
            let env = ["LUMENFALL_API_KEY": server.apiKey]
            let args = [id, "-o", dir, "--base-url", server.baseURL, "--poll-interval", "0.05"]
            let state = "\(dir)/\(id).mp4.part.state"
            // Killed once the last range has bytes (the file ends far past its holes).
            _ = try await kill(args + ["--segments", "4"], env: env, state: state) { ranges in
                (ranges.max { $0.start < $1.start }.map { $0.next > $0.start } ?? false) && ranges.allSatisfy { $0.next < $0.end }
            }
            try FileManager.default.removeItem(atPath: state)
            let size = try #require(FileManager.default.attributesOfItem(atPath: "\(dir)/\(id).mp4.part")[.size] as? Int)
            #expect(size > 6 * mib)  // the last range has bytes: the file ends far past its holes
            let r = try await runCLI(args, env: env)
            #expect(r.status == 0, "\(r.stderr)")
            try expectSaved(server, id, dir: dir)
        }
    }

    /// A host that ignores ranges gets one connection, not four copies of the file.
    @Test func aHostWithoutRangesIsFetchedInOnePiece() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(spec(bytes: 4 * mib) { $0.faults.ignoreRange = true })
            let r = try await server.runCLI(
                [id, "-o", dir, "--poll-interval", "0.05", "--segments", "4"],
                env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(r.status == 0, "\(r.stderr)")
            try expectSaved(server, id, dir: dir)
            #expect(!r.stderr.contains("connections at once"))
            #expect(mediaRequests(server, id).count == 2)  // the probe, then the file
        }
    }

    /// The file changes between runs: the ranged `.part` is stale, proven by the ETag, and the
    /// download starts over in one piece.
    @Test func aChangedFileRestartsInOnePiece() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(
                spec(bytes: 4 * mib) {
                    $0.faults.dropAfterBytes = 300_000
                    $0.faults.dropTimes = 4
                    $0.faults.changeContentAfterRequests = 5
                })
            let r = try await server.runCLI(
                [id, "-o", dir, "--poll-interval", "0.05", "--segments", "4", "--retry-delay", "0.05"],
                env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(r.status == 0, "\(r.stderr)")
            try expectSaved(server, id, dir: dir)
            #expect(r.stderr.contains("in one piece"), "\(r.stderr)")
        }
    }

    /// An expired link refused to several ranges at once is refreshed for all of them.
    @Test func anExpiredLinkIsRefreshedForEveryRange() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(spec(bytes: 4 * mib) { $0.faults.expireURLAfterRequests = 2 })
            let r = try await server.runCLI(
                [id, "-o", dir, "--poll-interval", "0.05", "--segments", "4"],
                env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(r.status == 0, "\(r.stderr)")
            try expectSaved(server, id, dir: dir)
            #expect(r.stderr.contains("fresh one"), "\(r.stderr)")
        }
    }

    struct Range {
        var start: Int
        var end: Int
        var next: Int
    }

    /// Starts a segmented download and SIGKILLs it once a checkpoint satisfies `when`; returns
    /// the ranges that checkpoint recorded.
    func kill(_ args: [String], env: [String: String], state: String, when: ([Range]) -> Bool) async throws -> [Range] {
        let p = try CLIProcess(args, env: env)
        let deadline = Date().addingTimeInterval(30)
        var saved: [Range] = []
        while Date() < deadline {
            try await Task.sleep(nanoseconds: 50_000_000)
            guard let data = FileManager.default.contents(atPath: state),
                let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let seg = obj["segments"] as? [String: Any], let ranges = seg["ranges"] as? [[String: Any]]
            else { continue }
            saved = ranges.map { Range(start: $0["start"] as? Int ?? 0, end: $0["end"] as? Int ?? 0, next: $0["next"] as? Int ?? 0) }
            if when(saved) { break }
        }
        Glibc.kill(p.process.processIdentifier, SIGKILL)
        let killed = await p.result()
        #expect(killed.reason == .uncaughtSignal, "the download ended before the moment came")
        return saved
    }
}
