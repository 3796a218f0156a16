import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

/// The API as the whole run sees it (issue 19): a dead API is said once and ends the run in
/// seconds with exit 4; an outage after the API has answered is waited out together, said once
/// when it starts and once when it ends.
@Suite(.removesTempDirs) struct APIOutageTests {
    @Test func aDeadAPIIsSaidOnceAndEndsTheRunWithExit4() async throws {
        let dir = makeTempDir()
        let ids = ["video_a", "video_b", "video_c"]
        let started = Date()
        let run = try await runCLI(
            ids + ["-o", dir, "--base-url", "http://127.0.0.1:1/openai/v1", "--api-wait", "2s", "--json"],
            env: ["LUMENFALL_API_KEY": "lmnfl_0123456789"])
        let took = run.ended.timeIntervalSince(started)
        #expect(run.status == 4, "\(run.stderr)")
        #expect(took < 20, "a dead API is reported in seconds (took \(took) s)")
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.filter { $0.contains("cannot be reached") }.count == 1, "\(run.stderr)")
        #expect(!run.stderr.contains("polling again"), "no id retries on its own")
        #expect(run.stderr.contains("could not be reached in 2 s"), "\(run.stderr)")
        #expect(run.stderr.contains("check --base-url"))
        // curl's sentence once per line that needs it (when it went down, and the final error),
        // never twice in one line.
        #expect(run.stderr.components(separatedBy: "Couldn't connect to server").count - 1 == 2, "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/\(DirectoryLock.fileName)"))
        // --json says it once too (and the schema check holds the event to docs/schemas/).
        #expect(run.stdout.components(separatedBy: #""event":"api_unreachable""#).count - 1 == 1, "\(run.stdout)")
    }

    @Test func anOutageAfterTheFirstAnswerIsWaitedOutAndTheRunFinishes() async throws {
        let dir = makeTempDir()
        let errFile = "\(dir)/stderr.txt"
        let first = try await SandboxServer.start()
        let port = first.port
        var job = SandboxJobSpec()
        job.id = "video_outage"
        job.bytes = 4096
        job.queuedSeconds = 3600  // never done on the first server
        first.createJob(job)
        let out = "\(dir)/out"
        let eventsFile = "\(dir)/events.jsonl"
        let args = [
            "video_outage", "-o", out, "--base-url", first.baseURL, "--poll-interval", "0.2", "--max-poll-interval", "0.3",
            "--api-wait", "2s", "--progress", "plain", "--json",
        ]
        let child = try launchWithStderr(args, stderr: errFile, stdout: eventsFile)
        try await waitUntil("the first poll", timeout: 60) { first.requests().contains { $0.path.hasSuffix("/video_outage") } }
        try await first.shutdown()
        try await waitUntil("the outage line", timeout: 60) {
            ((try? String(contentsOfFile: errFile, encoding: .utf8)) ?? "").contains("cannot be reached")
        }
        // Longer than --api-wait: it has answered once, so --outage-limit (30 min) applies.
        try await Task.sleep(nanoseconds: 3_000_000_000)
        job.queuedSeconds = 0
        job.processingSeconds = 0
        let second = try await SandboxServer.start(port: port)
        second.createJob(job)
        let status = try await offPool {
            child.waitUntilExit()
            return child.terminationStatus
        }
        try await second.shutdown()
        let err = (try? String(contentsOfFile: errFile, encoding: .utf8)) ?? ""
        #expect(status == 0, "\(err)")
        #expect(err.components(separatedBy: "cannot be reached").count - 1 == 1, "\(err)")
        #expect(err.contains("answers again after"), "\(err)")
        #expect(FileManager.default.fileExists(atPath: "\(out)/video_outage.mp4"))
        // The pair of --json events, once each (kept for the schema check).
        let events = (try? String(contentsOfFile: eventsFile, encoding: .utf8)) ?? ""
        OutputCapture.events(of: args, stdout: events)
        #expect(events.components(separatedBy: #""event":"api_unreachable""#).count - 1 == 1, "\(events)")
        #expect(events.components(separatedBy: #""event":"api_reachable""#).count - 1 == 1, "\(events)")
    }

    func launchWithStderr(_ args: [String], stderr path: String, stdout: String) throws -> Process {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        _ = FileManager.default.createFile(atPath: stdout, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try fetchBinary())
        p.arguments = args
        var e = ProcessInfo.processInfo.environment
        e["XDG_CONFIG_HOME"] = "/nonexistent/lumenfall-test-config"
        e["LUMENFALL_API_KEY"] = SandboxServer.defaultAPIKey
        p.environment = e
        p.standardError = FileHandle(forWritingAtPath: path)
        p.standardOutput = FileHandle(forWritingAtPath: stdout)
        try p.run()
        return p
    }
}
