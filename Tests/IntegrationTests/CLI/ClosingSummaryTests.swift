import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

@Suite(.removesTempDirs) struct ClosingSummaryTests {
    /// The closing table lists what was not saved, each with its status and reason, above the
    /// totals; the saved ids were said as they were saved and are not repeated.
    @Test func theClosingTableListsWhatWasNotSaved() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let ok = (0..<2).map { _ in server.createJob(spec(bytes: 50_000)) }
            let bad = server.createJob(spec { $0.outcome = "failed" })
            let r = try await server.runCLI(
                ok + [bad, "-o", dir, "--poll-interval", "0.05"],
                env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(r.status == 1)
            let lines = r.stderr.split(separator: "\n").map(String.init)
            let done = try #require(lines.firstIndex { $0.contains("done: 2 saved") })
            #expect(lines[done - 2].hasSuffix("not saved:"))
            #expect(lines[done - 1].contains(bad) && lines[done - 1].contains("failed") && lines[done - 1].contains("generation failed"))
            #expect(!lines[(done - 2)...done].contains { l in ok.contains { l.contains($0) } }, "saved ids are not repeated")
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
