import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

/// A newcomer's first mistakes (issue 19): typos of subcommands, `help` of one that does not
/// exist, an id that cannot be one, a negative number: bad usage (64) with a message that says
/// what to do, before any request, and no lock file left behind.
@Suite(.removesTempDirs) struct UsageTests {
    @Test(arguments: [("lsit", "list"), ("verfiy", "verify"), ("galery", "gallery"), ("wacth", "watch"), ("fecth", "fetch")])
    func aTypoOfASubcommandIsBadUsageWithASuggestion(typo: String, meant: String) async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let run = try await offPool {
                try runIn(dir, [typo], env: ["LUMENFALL_API_KEY": server.apiKey, "LUMENFALL_BASE_URL": server.baseURL])
            }
            #expect(run.status == 64)
            #expect(run.stderr.contains("did you mean '\(meant)'?"), "\(run.stderr)")
            #expect(run.stderr.hasPrefix("lumenfall-fetch: error: "))
            #expect(server.requests().isEmpty, "nothing was sent to the API")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty, "no lock file is left")
        }
    }

    @Test func namingFetchSendsTheWordAsAnIdAndLeavesNoLockFile() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(spec(bytes: 1000) { $0.id = "lsit" })
            let run = try await server.runCLI(["fetch", id, "-o", dir], env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: "\(dir)/\(DirectoryLock.fileName)"))
            #expect(FileManager.default.fileExists(atPath: "\(dir)/lsit.mp4"))
        }
    }

    /// Each way of asking for help ends with the examples of the command it shows (read from
    /// the words asked, never from the screen's text).
    @Test(arguments: [
        (["--help"], "lumenfall-fetch video_abc123 video_def456 -o videos"),
        (["help", "s3", "cleanup"], "lumenfall-fetch s3 cleanup s3://bucket/archives/ --dry-run"),
        (["s3", "--help"], "lumenfall-fetch s3 cleanup s3://bucket/archives/ --dry-run"),
        (["video_abc", "--help"], "lumenfall-fetch video_abc123 video_def456 -o videos"),
        (["list", "--limit", "5", "-h"], "lumenfall-fetch list --status completed --since 2d"),
    ])
    func everyWayToAskForHelpGetsItsCommandsEpilogue(args: [String], expected: String) async throws {
        let r = try await runCLI(args)
        #expect(r.status == 0)
        #expect(r.stdout.contains(expected), "\(args): \(r.stdout.suffix(400))")
    }

    @Test func helpOfNoSuchSubcommandIsBadUsage() async throws {
        let run = try await runCLI(["help", "nosuch"])
        #expect(run.status == 64)
        #expect(run.stderr.contains("there is no subcommand 'nosuch'"))
        #expect(run.stderr.contains("fetch, list, archive, verify, gallery, watch, s3"))
        let typo = try await runCLI(["help", "lsit"])
        #expect(typo.status == 64 && typo.stderr.contains("did you mean 'list'?"))
        #expect(try await runCLI(["help", "list"]).status == 0)
    }

    @Test func anIdThatCannotBeOneIsRefusedBeforeAnyRequest() async throws {
        let run = try await runCLI(["../etc/passwd"], env: ["LUMENFALL_API_KEY": "lmnfl_0123456789"])
        #expect(run.status == 64)
        #expect(run.stderr.contains("'../etc/passwd' is not a video id"), "\(run.stderr)")
    }

    @Test func aNegativeNumberIsJudgedByItsOptionNotTakenForOne() async throws {
        let run = try await runCLI(["video_1", "--retries", "-1"], env: ["LUMENFALL_API_KEY": "lmnfl_0123456789"])
        #expect(run.status == 64)
        #expect(run.stderr.contains("--retries must be between 0 and 1000"), "\(run.stderr)")
        #expect(!run.stderr.contains("Missing value"))
    }

    /// `--shard env:VAR/N` takes its shard from a 0-based index in the environment (an Indexed
    /// Job's pod); unset, out of range or not a number is a usage error that names the variable.
    @Test(
        arguments: [
            (nil, "env:JOB_COMPLETION_INDEX/4", Int32(64), "$JOB_COMPLETION_INDEX is not set"),
            ("4", "env:JOB_COMPLETION_INDEX/4", 64, "$JOB_COMPLETION_INDEX is '4', not an index from 0 to 3"),
            ("x\u{1b}[2J", "env:JOB_COMPLETION_INDEX/4", 64, "is 'x\\x1b[2J'"),
            ("3", "env:JOB_COMPLETION_INDEX/4", 0, ""),
            ("0", "env:JOB_COMPLETION_INDEX/1", 0, ""),
            (nil, "env:/4", 64, "it takes K/N (1 <= K <= N <= 10000) or env:VAR/N"),
            (nil, "5/4", 64, "it takes K/N"),
            (nil, "4/4", 0, ""),
        ] as [(String?, String, Int32, String)])
    func aShardFromTheEnvironment(index: String?, shard: String, status: Int32, message: String) async throws {
        var env = ["LUMENFALL_FETCH_PARSE_ONLY": "1"]
        if let index { env["JOB_COMPLETION_INDEX"] = index }
        let run = try await runCLI(["--all", "--shard", shard, "-o", makeTempDir()], env: env)
        #expect(run.status == status, "\(run.stderr)")
        #expect(message.isEmpty || run.stderr.contains(message), "\(run.stderr)")
    }

    @Test func versionNamesTheProgram() async throws {
        let run = try await runCLI(["--version"])
        #expect(run.status == 0)
        #expect(run.stdout.hasPrefix("lumenfall-fetch "))
        #expect(run.stdout.contains("libcurl/") && run.stdout.contains("libarchive"))
    }

    /// The binary run with `dir` as its working folder, as a user types it in a shell.
    func runIn(_ dir: String, _ args: [String], env: [String: String]) throws -> CLIRun {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try fetchBinary())
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        var e = ProcessInfo.processInfo.environment
        e["XDG_CONFIG_HOME"] = "/nonexistent/lumenfall-test-config"
        for (k, v) in env { e[k] = v }
        p.environment = e
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return CLIRun(status: p.terminationStatus, stdout: "", stderr: String(decoding: data, as: UTF8.self), reason: p.terminationReason)
    }
}
