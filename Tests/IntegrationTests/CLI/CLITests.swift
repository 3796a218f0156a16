import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

@Suite(.removesTempDirs) struct CLITests {
    @Test func withoutAKeyItExitsNamingTheVariable() async throws {
        let r = try await runCLI(["video_a", "-o", makeTempDir(), "--base-url", "http://127.0.0.1:9/openai/v1"])
        #expect(r.status == 3)
        #expect(r.stderr.contains("LUMENFALL_API_KEY"))
    }

    /// The helper drains stdout and stderr at once: 3000 invalid ids make ~250 KiB of stderr,
    /// which deadlocked a helper that read stdout to its end first.
    @Test func theHelperReadsALargeStderrWithoutDeadlock() async throws {
        let list = makeTempDir() + "/ids.txt"
        try (0..<3000).map { "not/a/valid/id/number/\($0)/padding-padding-padding" }.joined(separator: "\n")
            .write(toFile: list, atomically: true, encoding: .utf8)
        let r = try await runCLI(
            ["-i", list, "-o", makeTempDir(), "--base-url", "http://127.0.0.1:9/openai/v1"],
            env: ["LUMENFALL_API_KEY": "lmnfl_0123456789"])
        #expect(r.status == 1)
        #expect(r.stderr.utf8.count > 64 * 1024)
        #expect(r.stderr.contains("number/2999/padding"))
    }

    /// `list --status foo` used to list nothing, silently; a value the API never sends is bad usage.
    @Test func anUnknownStatusFilterIsBadUsageNamingTheValidOnes() async throws {
        let r = try await runCLI(
            ["list", "--status", "foo", "--base-url", "http://127.0.0.1:9/openai/v1"],
            env: ["LUMENFALL_API_KEY": "lmnfl_0123456789"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("'queued', 'in_progress', 'completed', 'failed' or 'cancelled'"))
    }

    /// A megabyte "id" in an id file is named by its start and its length, not printed whole.
    @Test func aHugeInvalidIdIsShortenedInItsMessage() async throws {
        let list = makeTempDir() + "/ids.txt"
        try String(repeating: "x", count: 100_000).write(toFile: list, atomically: true, encoding: .utf8)
        let r = try await runCLI(
            ["-i", list, "-o", makeTempDir(), "--base-url", "http://127.0.0.1:9/openai/v1"],
            env: ["LUMENFALL_API_KEY": "lmnfl_0123456789"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("… (100000 characters): invalid id"))
        #expect(r.stderr.utf8.count < 2000)
    }

    @Test func badUsageExits64() async throws {
        let noIDs = try await runCLI(["-o", makeTempDir()], env: ["LUMENFALL_API_KEY": "lmnfl_x"])
        #expect(noIDs.status == 64)
        let ftp = try await runCLI(["video_a", "--base-url", "ftp://example.com/v1"], env: ["LUMENFALL_API_KEY": "lmnfl_x"])
        #expect(ftp.status == 64)
        #expect(ftp.stderr.contains("ftp://"))
        let plain = try await runCLI(["video_a", "--base-url", "http://example.com/v1"], env: ["LUMENFALL_API_KEY": "lmnfl_x"])
        #expect(plain.status == 64)
        #expect(plain.stderr.contains("https"))
    }

    @Test func exitCodesSayWhetherEveryIdWasSaved() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let good = server.createJob(spec(bytes: 80_000))
            let bad = server.createJob(spec { $0.outcome = "failed" })
            let list = dir + "/ids.txt"
            try "# batch\n\(good)\n\n\(bad)  # this one fails\n".write(toFile: list, atomically: true, encoding: .utf8)
            let env = ["LUMENFALL_API_KEY": server.apiKey]
            let mixed = try await server.runCLI(
                [
                    "-i", list, "-o", dir + "/out",
                    "--poll-interval", "0.05", "--retry-delay", "0.05",
                ], env: env)
            #expect(mixed.status == 1)
            #expect(mixed.stderr.contains("\(bad): generation failed: content_policy_violation"))
            #expect(mixed.stdout == dir + "/out/\(good).mp4\n")
            let allGood = try await runCLI([good, "-o", dir + "/out"], env: env.merging(["LUMENFALL_BASE_URL": server.baseURL]) { $1 })
            #expect(allGood.status == 0)
            #expect(allGood.stderr.contains("already saved"))
            #expect(!(mixed.stderr + allGood.stderr + mixed.stdout).contains(server.apiKey))
        }
    }

    @Test func aRejectedKeyExits3WithoutPrintingIt() async throws {
        try await withSandbox { server in
            let id = server.createJob(spec())
            let secret = "lmnfl_this_key_is_revoked_123"
            let keyFile = makeTempDir() + "/key"
            try (secret + "\n").write(toFile: keyFile, atomically: true, encoding: .utf8)
            let r = try await server.runCLI([id, "-o", makeTempDir(), "--api-key-file", keyFile])
            #expect(r.status == 3)
            #expect(r.stderr.contains("rejected the key"))
            #expect(r.stderr.contains(keyFile))
            #expect(r.stderr.contains("can be read by other users; chmod 600 it"))  // written 0644
            #expect(!(r.stderr + r.stdout).contains(secret))
        }
    }

    @Test(arguments: [(SIGINT, Int32(130)), (SIGTERM, Int32(143))])
    func aSignalStopsWithin2SecondsAndKeepsThePart(signal: Int32, code: Int32) async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            // The stall starts at 3 MiB: past the 1 MiB write buffer, so progress shows on disk.
            let stallAt = 3 << 20
            let id = server.createJob(spec(bytes: 4 << 20) { $0.faults.stallAfterBytes = stallAt })
            let p = try server.launchCLI(
                [
                    id, "-o", dir, "--poll-interval", "0.05",
                    "--stall-timeout", "60",
                ], env: ["LUMENFALL_API_KEY": server.apiKey])
            let part = "\(dir)/\(id).mp4.part"
            let deadline = Date().addingTimeInterval(30)
            while (AtomicFile.size(of: part) ?? 0) < 2 << 20, Date() < deadline {
                try await Task.sleep(nanoseconds: 50_000_000)
            }
            #expect((AtomicFile.size(of: part) ?? 0) >= 2 << 20)
            // Everything up to the stall is on disk before the signal (an event, not a sleep):
            // the last buffered MiB arrives after the first two.
            while (AtomicFile.size(of: part) ?? 0) < Int64(stallAt), Date() < deadline {
                try await Task.sleep(nanoseconds: 50_000_000)
            }
            let sent = Date()
            kill(p.process.processIdentifier, signal)
            let r = await p.result()
            // The promise is 2 s (a watchdog exits at 1.8 s); the margin is for a loaded machine.
            #expect(r.ended.timeIntervalSince(sent) < 3)
            #expect(r.status == code)
            #expect(r.stderr.contains("interrupted"))
            // Everything received was flushed on the way out, nothing more.
            #expect(AtomicFile.size(of: part) == Int64(stallAt))
            #expect(FileManager.default.fileExists(atPath: part + ".state"))
        }
    }
}
