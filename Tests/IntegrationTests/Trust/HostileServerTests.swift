import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

@Suite(.removesTempDirs) struct HostileServerTests {
    @Test func hugeNumbersFromTheServerDoNotCrashTheBatch() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let huge = server.createJob(
                spec(bytes: 10_000) {
                    $0.queuedPolls = 0
                    $0.faults.rawObject = hostileObject(",\"progress\":1e300")
                })
            let negative = server.createJob(
                spec(bytes: 10_000) {
                    $0.queuedPolls = 0
                    $0.faults.rawObject = hostileObject(",\"progress\":-1e300,\"created_at\":-1e300,\"expires_at\":1e300")
                })
            let plain = server.createJob(spec(bytes: 10_000))
            let r = try await server.runCLI(
                [huge, negative, plain, "-o", dir, "--poll-interval", "0.05"],
                env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(r.reason == .exit, "the process must not die of a signal")
            #expect(r.status == 0, "\(r.stderr)")
            for id in [huge, negative, plain] { #expect(FileManager.default.fileExists(atPath: "\(dir)/\(id).json")) }
        }
    }

    @Test(arguments: [
        "--stall-timeout", "--connect-timeout", "--poll-interval", "--max-poll-interval", "--max-wait",
        "--retry-delay", "--max-time",
    ])
    func absurdDurationsAreUsageErrors(option: String) async throws {
        for value in ["1e300", "nan", "inf"] {
            let r = try await runCLI(
                ["video_a", "-o", makeTempDir(), option, value, "--base-url", "http://127.0.0.1:9/openai/v1"],
                env: ["LUMENFALL_API_KEY": "lmnfl_0123456789"])
            #expect(r.reason == .exit)
            #expect(r.status == 64, "\(option) \(value): \(r.stderr)")
            #expect(r.stderr.contains(option))
        }
    }

    @Test func controlCharactersFromTheServerAreShownEscaped() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let failed = server.createJob(
                spec {
                    $0.outcome = "failed"
                    $0.errorCode = "bad\u{1b}]0;owned\u{07}"
                    $0.errorMessage = "fine\rsaved OK \u{1b}[2J"
                })
            let weird = server.createJob(spec { $0.outcome = "\u{1b}[32mcompleted" })
            let env = ["LUMENFALL_API_KEY": server.apiKey]
            let r = try await server.runCLI([failed, weird, "-o", dir, "--poll-interval", "0.05"], env: env)
            #expect(r.status == 1)
            expectNoControlCharacters(r.stderr + r.stdout)
            #expect(r.stderr.contains("bad\\x1b]0;owned\\x07"))
            #expect(r.stderr.contains("fine\\x0dsaved OK \\x1b[2J"))
            #expect(r.stderr.contains("unknown status '\\x1b[32mcompleted'"))

            server.createJob(spec { $0.model = "sora\u{1b}[31m-2\r" })
            let list = try await server.runCLI(["list"], env: env)
            #expect(list.status == 0)
            expectNoControlCharacters(list.stdout + list.stderr)
            #expect(list.stdout.contains("sora\\x1b[31m-2\\x0d"))
        }
    }

    @Test func escapesInAnIdMismatchA400BodyAndListedIdsAreShownEscaped() async throws {
        try await withSandbox { server in
            let env = ["LUMENFALL_API_KEY": server.apiKey]
            // The server answers for another id, one with an escape sequence in it.
            let mismatch = server.createJob(
                spec {
                    $0.queuedPolls = 0
                    $0.faults.rawObject = hostileObject().replacingOccurrences(of: "\"{{id}}\"", with: "\"other\\u001b[2J\\r\"")
                })
            let refused = server.createJob(
                spec {
                    $0.faults.apiErrors = [SandboxAPIFault(status: 400, code: "BAD\u{1b}[5m", message: "no\u{07}pe\rOK")]
                })
            let r = try await server.runCLI(
                [
                    mismatch, refused, "-o", makeTempDir(),
                    "--poll-interval", "0.05", "--retry-delay", "0.05",
                ], env: env)
            #expect(r.status == 1)
            expectNoControlCharacters(r.stderr + r.stdout)
            #expect(r.stderr.contains("the server answered with other\\x1b[2J\\x0d"), "\(r.stderr)")
            #expect(r.stderr.contains("BAD\\x1b[5m: no\\x07pe\\x0dOK"), "\(r.stderr)")

            // --all meets a listed id that cannot be a file name: named, escaped, skipped.
            let all = try await server.runCLI(
                [
                    "--all", "-o", makeTempDir(),
                    "--poll-interval", "0.05", "--retry-delay", "0.05",
                ], env: env)
            expectNoControlCharacters(all.stderr + all.stdout)
            #expect(all.stderr.contains("other\\x1b[2J\\x0d: invalid id"), "\(all.stderr)")
        }
    }

    @Test func verifyShowsForgedMemberNamesEscaped() async throws {
        let dir = makeTempDir()
        let tar = dir + "/forged.tar"
        // A member whose name rewrites the line to look like a passing check.
        let script = """
            import io, tarfile, sys
            with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
                data = b"x"
                info = tarfile.TarInfo("evil\\r" + sys.argv[1] + ": OK (2 members)\\x1b[K")
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, tar]
        try p.run()
        p.waitUntilExit()
        try #require(p.terminationStatus == 0)
        let r = try await runCLI(["verify", tar])
        #expect(r.status == 1)
        expectNoControlCharacters(r.stdout + r.stderr)
        #expect(r.stdout.contains("evil\\x0d"))
    }

    @Test func aKeyEchoedByTheServerIsPrintedAndStoredNowhere() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(
                spec(bytes: 10_000) {
                    $0.queuedPolls = 0
                    $0.faults.rawObject = hostileObject(prompt: "you sent {{auth}}", model: "{{auth}}")
                })
            let env = ["LUMENFALL_API_KEY": server.apiKey]
            let r = try await server.runCLI(
                [
                    id, "-o", dir, "--poll-interval", "0.05",
                    "--archive", dir + "/all.tar",
                ], env: env)
            #expect(r.status == 0, "\(r.stderr)")
            let list = try await server.runCLI(["list"], env: env)
            let listJSON = try await server.runCLI(["list", "--json"], env: env)
            let all = r.stdout + r.stderr + list.stdout + list.stderr + listJSON.stdout
            #expect(!all.contains(server.apiKey))
            #expect(list.stdout.contains("<redacted API key>"))
            let key = try #require(APIKey(server.apiKey))
            for file in ["\(id).json", "all.tar"] {
                let bytes = try #require(fileBytes("\(dir)/\(file)"))
                #expect(!key.occurs(in: bytes), "\(file) holds the key")
            }
            let side = try sidecar(dir, id)
            #expect((side["video"] as? [String: Any])?["prompt"] as? String == "you sent <redacted API key>")
            let v = try await runCLI(["verify", dir + "/all.tar"])
            #expect(v.status == 0, "\(v.stdout)")
        }
    }

    @Test func aVeryShortKeyIsWarnedAboutAndDoesNotGarbleOutput() async throws {
        try await withSandbox(apiKey: "x") { server in
            server.createJob(
                spec {
                    $0.urlTTL = -10
                    $0.queuedPolls = 0
                })
            let r = try await server.runCLI(["list"], env: ["LUMENFALL_API_KEY": "x"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("expired"))
            #expect(r.stdout.contains("EXPIRES IN"))
            #expect(!r.stdout.contains("redacted"))
            #expect(r.stderr.contains("shorter than 8 characters"))
        }
    }

    @Test func aBOMIsDroppedAndUTF16IsRefusedSoEverySidecarIsUTF8JSON() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let bom = server.createJob(spec(bytes: 10_000) { $0.faults.encoding = "bom" })
            let utf16 = server.createJob(spec(bytes: 10_000) { $0.faults.encoding = "utf16" })
            let report = await fetch(server, [bom, utf16], dir: dir)
            try expectSaved(server, bom, dir: dir)
            let bytes = try #require(fileBytes("\(dir)/\(bom).json"))
            #expect(bytes.first == UInt8(ascii: "{"))
            #expect(String(validating: bytes, as: UTF8.self) != nil)
            let f = try failure(of: report, at: 1, "a UTF-16 object cannot make a sidecar")
            #expect(f.message.contains("UTF-16"))
            #expect(!FileManager.default.fileExists(atPath: "\(dir)/\(utf16).json"))
            // The saved one is archived, not skipped.
            let items = try ArchiveItem.scan(directory: dir)
            #expect(items.items.map(\.id) == [bom])
        }
    }

    @Test func costsThatOverflowAreUnknownAndTheArchiveVerifies() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let ids = (0..<2).map { _ in server.createJob(spec(bytes: 10_000) { $0.costEstimate = 1e308 }) }
            let env = ["LUMENFALL_API_KEY": server.apiKey]
            let r = try await server.runCLI(ids + ["-o", dir, "--poll-interval", "0.05"], env: env)
            #expect(r.status == 0, "\(r.stderr)")
            let a = try await runCLI(["archive", dir, "-o", dir + "/a.tar"])
            #expect(a.status == 0, "\(a.stderr)")
            let manifest = try #require(Manifest.expectations(fromJSON: try extractManifest(dir + "/a.tar")))
            #expect(manifest.count == 4)
            let v = try await runCLI(["verify", dir + "/a.tar"])
            #expect(v.status == 0, "\(v.stdout)")
        }
    }
}
