import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

/// `--json` is a contract (docs/reference.md, "--json events"): every stdout line is one object with
/// the documented fields, whatever happens to the ids.
@Suite(.removesTempDirs) struct JSONEventsTests {
    /// The fields each event must carry (beyond schema, event, time), and which may be null.
    static let required: [String: [String]] = [
        "queued": ["id"],
        "input_ended": ["ids"],
        "api_unreachable": ["reason", "waiting_up_to"],
        "api_reachable": ["after_seconds"],
        "status": ["id", "status", "progress"],
        "download_started": ["id", "host", "offset", "total"],
        "progress": ["id", "bytes", "total", "speed"],
        "retry": ["id", "stage", "reason", "delay"],
        "restart": ["id", "reason"],
        "segmented": ["id", "connections"],
        "saved": ["id", "path", "already_saved"],
        "asset_saved": ["id", "asset", "path", "bytes"],
        "asset_unavailable": ["id", "asset", "reason"],
        "claimed_elsewhere": ["id", "holder"],
        "failed": ["id", "kind", "message"],
        "expired": ["id", "message"],
        "expiry_at_risk": ["id", "expires_at", "remaining_bytes", "needed_seconds"],
        "archived": ["path", "parts", "members", "bytes"],
        "summary": [
            "saved", "already_saved", "failed", "expired", "bytes", "cost", "cost_unknown", "elapsed", "interrupted_ids", "interrupted",
        ],
    ]

    /// `fetch --help` names every event, and only those.
    @Test func helpNamesEveryEvent() async throws {
        let help = try await runCLI(["fetch", "--help"]).stdout.replacingOccurrences(of: "\n", with: " ")
            .replacingOccurrences(of: #"\s+"#, with: " ", options: .regularExpression)
        for name in Self.required.keys.sorted() + ["state_set_aside"] {
            #expect(help.contains(name), "fetch --help does not name \(name)")
        }
    }

    @Test func everyLineIsADocumentedEvent() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let ok = server.createJob(spec(bytes: 3_000_000) { $0.faults.dropAfterBytes = 1_000_000 })  // a retry
            let failed = server.createJob(spec { $0.outcome = "failed" })
            let expired = server.createJob(spec { $0.urlTTL = -1 })
            let r = try await server.runCLI(
                [
                    ok, failed, expired, "-o", dir, "--json", "--poll-interval", "0.05",
                    "--retry-delay", "0.05", "--archive", dir + "/all.tar",
                ], env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(r.status == 1)
            let lines = r.stdout.split(separator: "\n").map(String.init)
            var events: [[String: Any]] = []
            for line in lines {
                let obj = try #require(
                    try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
                events.append(obj)
                #expect(obj["schema"] as? Int == 1)
                let name = try #require(obj["event"] as? String)
                let fields = try #require(Self.required[name], "undocumented event \(name)")
                for f in fields { #expect(obj.keys.contains(f), "\(name) lacks \(f): \(line)") }
                let time = try #require(obj["time"] as? String)
                #expect(time.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"#, options: .regularExpression) != nil, "\(time)")
            }
            func named(_ n: String, _ id: String? = nil) -> [[String: Any]] {
                events.filter { $0["event"] as? String == n && (id == nil || $0["id"] as? String == id) }
            }
            #expect(named("queued").count == 3)
            #expect(named("retry", ok).contains { $0["stage"] as? String == "download" && $0["kept"] as? Int == 1_000_000 })
            let saved = try #require(named("saved", ok).first)
            #expect(saved["bytes"] as? Int == 3_000_000)
            #expect(saved["path"] as? String == "\(dir)/\(ok).mp4")
            #expect((saved["sha256"] as? String)?.count == 64)
            #expect(saved["cost"] as? Double == 0.21 && saved["currency"] as? String == "USD")
            #expect(named("failed", failed).first?["kind"] as? String == "generation_failed")
            #expect(named("expired", expired).count == 1)
            let summary = try #require(named("summary").first)
            #expect(summary["saved"] as? Int == 1 && summary["failed"] as? Int == 1 && summary["expired"] as? Int == 1)
            #expect((summary["cost"] as? [String: Any])?["USD"] as? Double == 0.21)
            #expect(named("archived").first?["members"] as? Int == 1)
            // Human lines stay on stderr; stdout holds nothing else.
            #expect(r.stderr.contains("done: 1 saved"))
        }
    }

    @Test func progressComesAtMostTwiceASecondPerId() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(spec(bytes: 3_000_000) { $0.faults.throttleBytesPerSecond = 1_000_000 })
            let r = try await server.runCLI(
                [id, "-o", dir, "--json", "--poll-interval", "0.05"],
                env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(r.status == 0, "\(r.stderr)")
            let progress = r.stdout.split(separator: "\n").filter { $0.contains("\"event\":\"progress\"") }
            // 3 s of transfer: about 6, never a line per chunk.
            #expect(progress.count >= 3 && progress.count <= 8, "\(progress.count)")
            #expect(progress.dropFirst().allSatisfy { $0.contains("\"speed\":") && !$0.contains("\"speed\":null") })
        }
    }

    /// The rarer events, in one run, so the schema check of what the suite wrote
    /// (Tests/Conformance/validate_outputs.py) sees them too: previews saved and not offered, a
    /// segmented file, a file changed on the server (restart), a damaged state file set aside.
    @Test func rarerEventsAreWrittenAsDocumented() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let previews = server.createJob(spec(bytes: 100_000))
            let none = server.createJob(spec(bytes: 100_000) { $0.previews = "none" })
            let big = server.createJob(spec(bytes: 6 << 20))
            let changed = server.createJob(
                spec {
                    $0.faults.dropAfterBytes = 250_000
                    $0.faults.changeContentAfterRequests = 1
                })
            let damaged = server.createJob(spec(bytes: 200_000))
            try Data(repeating: 7, count: 1000).write(to: URL(fileURLWithPath: "\(dir)/\(damaged).mp4.part"))
            try Data("not a state file".utf8).write(to: URL(fileURLWithPath: "\(dir)/\(damaged).mp4.part.state"))
            let common = ["-o", dir, "--json", "--poll-interval", "0.05", "--retry-delay", "0.05"]
            let r = try await server.runCLI(
                [previews, none, changed, damaged, "--with", "thumbnail,spritesheet"] + common, env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(r.status == 0, "\(r.stderr)")
            let segmented = try await server.runCLI([big, "--segments", "2"] + common, env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(segmented.status == 0, "\(segmented.stderr)")
            let events = (r.stdout + segmented.stdout).split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            func has(_ name: String, _ id: String) -> Bool {
                events.contains { $0["event"] as? String == name && $0["id"] as? String == id }
            }
            #expect(has("asset_saved", previews))
            #expect(has("asset_unavailable", none))
            #expect(has("segmented", big))
            #expect(has("restart", changed))
            #expect(has("state_set_aside", damaged))
        }
    }

    /// `expiry_at_risk` from the binary (SchedulingTests has its decision), on the jobs of
    /// `createExpiryAtRiskPair`.
    @Test func expiryAtRiskIsWrittenAsDocumented() async throws {
        try await withSandbox { server in
            let (first, risky) = server.createExpiryAtRiskPair()
            let r = try await server.runCLI(
                [first, risky, "-o", makeTempDir(), "--json", "--jobs", "1", "--poll-interval", "0.05"],
                env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(r.status == 0, "\(r.stderr)")
            let risk = r.stdout.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }.filter { $0["event"] as? String == "expiry_at_risk" }
            #expect(risk.count == 1, "\(r.stdout)")
            #expect(risk.first?["id"] as? String == risky)
            #expect(risk.first?["remaining_bytes"] as? Int == 32_000_000)
        }
    }
}
