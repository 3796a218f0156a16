import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

@Suite(.removesTempDirs) struct ClosingSummaryTests {
    /// Up to 50 ids: a row each (status, size, cost, path or reason) above the totals.
    @Test func aSmallBatchGetsARowPerId() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let ok = (0..<2).map { _ in server.createJob(spec(bytes: 50_000)) }
            let bad = server.createJob(spec { $0.outcome = "failed" })
            let r = try await server.runCLI(
                ok + [bad, "-o", dir, "--poll-interval", "0.05"],
                env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(r.status == 1)
            let lines = r.stderr.split(separator: "\n").map(String.init)
            let done = try #require(lines.firstIndex { $0.contains("done:") })
            let table = lines[(done - 3)..<done]
            for id in ok {
                #expect(
                    table.contains { $0.contains(id) && $0.contains("saved") && $0.contains("\(dir)/\(id).mp4") && $0.contains("USD 0.21") }
                )
            }
            #expect(table.contains { $0.contains(bad) && $0.contains("failed") && $0.contains("generation failed") })
        }
    }

    /// More than 50: the totals and the ids not saved, no row per id.
    @Test func aBigBatchGetsItsFailures() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let ids = (0..<55).map { i in server.createJob(spec(bytes: 1000) { if i == 7 { $0.outcome = "failed" } }) }
            let r = try await server.runCLI(
                ids + ["-o", dir, "--poll-interval", "0.05", "--jobs", "8"],
                env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(r.status == 1)
            let lines = r.stderr.split(separator: "\n").map(String.init)
            let done = try #require(lines.firstIndex { $0.contains("done: 54 saved") })
            #expect(lines[done - 2].hasSuffix("not saved:"))
            #expect(lines[done - 1].contains(ids[7]))
        }
    }
}
