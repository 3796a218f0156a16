import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

@Suite(.removesTempDirs) struct RateLimitTests {
    /// Two downloads share one cap: 600 kB at 200 KiB/s take about 2.9 s, and arrive whole.
    @Test func theCapIsForAllTransfersTogether() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let ids = (0..<2).map { _ in server.createJob(spec(bytes: 300_000) { $0.queuedPolls = 0 }) }
            let started = Date()
            let r = try await server.runCLI(
                ids + ["-o", dir, "--poll-interval", "0.05", "--limit-rate", "200K", "--jobs", "2"],
                env: ["LUMENFALL_API_KEY": server.apiKey])
            let elapsed = Date().timeIntervalSince(started)
            #expect(r.status == 0, "\(r.stderr)")
            for id in ids { try expectSaved(server, id, dir: dir) }
            // Never faster than the cap allows (a slow machine only adds time): 600 000 bytes,
            // less a 51 200-byte burst, at 204 800 bytes/s.
            #expect(elapsed > 2.5, "\(elapsed) s")
        }
    }

    @Test func aSpeedFloorAboveEachTransfersShareIsBadUsage() async throws {
        let r = try await runCLI(
            [
                "video_a", "--limit-rate", "10K", "--min-speed", "8K", "--jobs", "4",
                "--base-url", "http://127.0.0.1:9/openai/v1",
            ], env: ["LUMENFALL_API_KEY": "lmnfl_0123456789"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("--limit-rate"))
    }
}
