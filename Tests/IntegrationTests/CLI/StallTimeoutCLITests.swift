import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

/// `--stall-timeout N` through the binary: the stall is found by the transfer loop's own check
/// (its words), after about N seconds of silence, not libcurl's averaged low-speed check
/// (`Operation too slow. Less than 1 bytes/sec ...`), which fired up to 6 s late.
@Suite(.removesTempDirs) struct StallTimeoutCLITests {
    @Test func aStalledBodyIsCutByTheLoopsCheck() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(
                spec(bytes: 1 << 20) {
                    $0.queuedPolls = 0
                    $0.faults.stallAfterBytes = 100_000
                    $0.faults.stallSeconds = 120
                })
            let r = try await server.runCLI(
                [id, "-o", dir, "--stall-timeout", "2", "--retries", "0", "--progress", "plain"],
                env: ["LUMENFALL_API_KEY": server.apiKey])
            server.releaseStalls()
            #expect(r.status == 1)
            #expect(r.stderr.contains("Operation too slow: no data for 2 s"), "\(r.stderr)")
            #expect(!r.stderr.contains("Less than 1 bytes/sec"))
            #expect(r.stderr.contains("the partial file (100000 bytes) is kept"))
        }
    }
}
