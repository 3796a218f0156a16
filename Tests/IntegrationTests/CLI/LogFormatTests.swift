import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

/// `--log-format json` on every subcommand: each line on stderr is one JSON object with `time`,
/// `level` and `msg` (the tool's own lines, the libraries' swift-log lines, usage errors), with
/// the key redacted; text stays as it was.
@Suite(.removesTempDirs) struct LogFormatTests {
    /// Every stderr line parsed as an object; a line that is not one fails the test.
    func objects(_ stderr: String) -> [[String: Any]] {
        stderr.split(separator: "\n").compactMap { line in
            let o = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
            #expect(o != nil, "not a JSON object: \(line)")
            guard let o else { return nil }
            #expect(o["time"] is String && o["level"] is String && o["msg"] is String, "\(line)")
            #expect(Array(line.utf8.prefix(9)) == Array(#"{"time":""#.utf8), "time comes first: \(line)")
            return o
        }
    }

    @Test func fetchWritesOnlyObjectsWithTheKeyRedactedAndTheLibrariesLogsAmongThem() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let ok = server.createJob(spec(bytes: 200_000))
            let refused = server.createJob(spec { $0.outcome = "failed" })
            let r = try await server.runCLI(
                [ok, refused, "-o", dir, "--log-format", "json", "--verbose", "--progress", "plain"],
                env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(r.status == 1, "\(r.stderr)")
            let lines = objects(r.stderr)
            #expect(lines.contains { ($0["msg"] as? String)?.contains("\(ok): saved") == true }, "\(r.stderr)")
            #expect(lines.contains { $0["level"] as? String == "debug" }, "--verbose's swift-log lines are objects too")
            #expect(lines.contains { ($0["msg"] as? String)?.hasPrefix("done: 1 saved") == true })
            #expect(!r.stderr.contains(server.apiKey))
            // stdout keeps the saved file's path, for scripts.
            #expect(r.stdout.contains("\(ok).mp4"))
        }
    }

    @Test func usageErrorsAndOtherSubcommandsSpeakJSONToo() async throws {
        let typo = try await runCLI(["lsit", "--log-format", "json"])
        #expect(typo.status == 64)
        #expect(objects(typo.stderr).first?["level"] as? String == "error")
        let bad = try await runCLI(["fetch", "--log-format=json", "--retries", "x", "abc"])
        #expect(bad.status == 64)
        let o = objects(bad.stderr).first
        #expect((o?["msg"] as? String)?.contains("--retries") == true)
        #expect((o?["usage"] as? String)?.contains("lumenfall-fetch fetch") == true)
        let missing = try await runCLI(["archive", makeTempDir() + "/none", "-o", makeTempDir() + "/a.tar", "--log-format", "json"])
        #expect(missing.status == 2)
        #expect(objects(missing.stderr).first?["msg"] as? String != nil)
        // Text is unchanged.
        let text = try await runCLI(["lsit"])
        #expect(text.stderr.hasPrefix("lumenfall-fetch: error: 'lsit' is not a subcommand"))
    }

    @Test func everySubcommandTakesTheOption() async throws {
        for sub in ["fetch", "list", "archive", "verify", "gallery", "watch", "config", "doctor", "s3 cleanup"] {
            let help = try await runCLI(sub.split(separator: " ").map(String.init) + ["--help"])
            #expect(help.stdout.contains("--log-format <FORMAT>"), "\(sub) --help lacks --log-format")
        }
    }
}
