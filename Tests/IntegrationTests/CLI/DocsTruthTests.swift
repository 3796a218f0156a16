import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

/// One source of truth (issue 19): the docs and the binary agree. Every option a subcommand has
/// is documented, every option the reference's tables name exists, every example in --help and
/// in README.md parses, and each exit code README.md documents is what the binary does.
@Suite(.removesTempDirs) struct DocsTruthTests {
    static let subcommands = ["fetch", "list", "archive", "verify", "gallery", "watch", "s3 cleanup", "config", "doctor"]

    static func repoFile(_ path: String) throws -> String {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent(path).path
            if FileManager.default.fileExists(atPath: candidate) { return try String(contentsOfFile: candidate, encoding: .utf8) }
            dir = dir.deletingLastPathComponent()
        }
        throw POSIXError(.ENOENT)
    }

    static func docs() throws -> String {
        try ["README.md", "docs/reference.md", "docs/watch.md", "docs/s3.md", "docs/behaviour.md"].map(repoFile).joined(separator: "\n")
    }

    /// The long options of a subcommand's help screen.
    func options(_ command: String) async throws -> Set<String> {
        let help = try await runCLI(command.split(separator: " ").map(String.init) + ["--help"]).stdout
        let body = help.components(separatedBy: "EXAMPLES:").first ?? help
        let found = body.matches(of: /(?m)^\s+(?:-[a-zA-Z], )?(--[a-z0-9][a-z0-9-]*)/).map { String($0.1) }
        return Set(found).subtracting(["--help", "--version"])
    }

    @Test func everyOptionIsDocumented() async throws {
        let docs = try Self.docs()
        for command in Self.subcommands {
            for option in try await options(command) {
                let named = docs.range(of: NSRegularExpression.escapedPattern(for: option) + "(?![a-z0-9-])", options: .regularExpression)
                #expect(named != nil, "\(command) \(option) is in no doc")
            }
        }
    }

    @Test func everyOptionTheReferenceNamesExists() async throws {
        var all = Set<String>()
        for command in Self.subcommands { all.formUnion(try await options(command)) }
        all.insert("--version")
        let reference = try Self.repoFile("docs/reference.md")
        // The options tables: rows that start with an option.
        for row in reference.split(separator: "\n") where row.hasPrefix("| `--") {
            for m in row.prefix(while: { $0 != "|" || row.first == "|" }).matches(of: /^\| `(--[a-z0-9-]+)/) {
                #expect(all.contains(String(m.1)), "docs/reference.md names \(m.1), which no subcommand has")
            }
        }
    }

    @Test func everyExampleParses() async throws {
        var lines: [String] = []
        for command in [""] + Self.subcommands {
            let help = try await runCLI(command.split(separator: " ").map(String.init) + ["--help"]).stdout
            guard let examples = help.components(separatedBy: "EXAMPLES:").dropFirst().first?.components(separatedBy: "EXIT CODES:").first
            else { continue }
            lines += examples.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                $0.hasPrefix("lumenfall-fetch ")
            }
        }
        let readme = try Self.repoFile("README.md")
        lines += readme.split(separator: "\n").map(String.init).filter { $0.hasPrefix("lumenfall-fetch ") }
        #expect(lines.count >= 25)
        for line in lines {
            // The command up to a shell's pipe, list or comment.
            let command = line.components(separatedBy: " #").first!.components(separatedBy: " && ").first!
                .components(separatedBy: " | ").first!
            let args = command.split(separator: " ").dropFirst().map { String($0).replacingOccurrences(of: "~/", with: "/tmp/") }
            let r = try await runCLI(args, env: ["LUMENFALL_FETCH_PARSE_ONLY": "1", "LUMENFALL_API_KEY": "lmnfl_0123456789"])
            #expect(r.status == 0, "\(line) does not parse: \(r.stderr)")
        }
    }

    /// README.md's table of exit codes, each made to happen.
    @Test func eachDocumentedExitCodeIsWhatTheBinaryDoes() async throws {
        let readme = try Self.repoFile("README.md")
        let documented = Set(
            readme.split(separator: "\n").filter { $0.hasPrefix("| ") }.compactMap { row -> [Int32]? in
                let cell = row.split(separator: "|").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
                let codes = cell.split(separator: "/").compactMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
                return codes.isEmpty ? nil : codes
            }.flatMap { $0 })
        #expect(documented == [0, 1, 2, 3, 4, 64, 130, 143])
        try await withSandbox { server in
            let dir = makeTempDir()
            _ = FileManager.default.createFile(atPath: "\(dir)/afile", contents: Data("x".utf8))
            let key = ["LUMENFALL_API_KEY": server.apiKey]
            let ok = server.createJob(spec(bytes: 1000))
            let other = server.createJob(spec(bytes: 1000))
            let failed = server.createJob(spec { $0.outcome = "failed" })
            let scenarios: [(Int32, [String], [String: String])] = [
                (0, [ok, "-o", dir, "--poll-interval", "0.05"], key),
                (1, [failed, "-o", dir, "--poll-interval", "0.05"], key),
                (2, [ok, "-o", "\(dir)/afile/sub"], key),
                (3, [ok, "-o", dir], [:]),
                (4, [other, "-o", dir, "--base-url", "http://127.0.0.1:1/openai/v1", "--api-wait", "1s"], key),
                (64, ["lsit"], key),
            ]
            for (code, args, env) in scenarios {
                let hasBase = args.contains("--base-url")
                let r = hasBase ? try await runCLI(args, env: env) : try await server.runCLI(args, env: env)
                #expect(r.status == code, "\(args.joined(separator: " ")): \(r.status), documented \(code): \(r.stderr)")
            }
            // 130: Ctrl-C mid-download.
            let slow = server.createJob(spec(bytes: 8 << 20) { $0.faults.throttleBytesPerSecond = 1 << 20 })
            let p = try server.launchCLI([slow, "-o", "\(dir)/slow"], env: key)
            try await waitUntil("a partial file", timeout: 60) {
                (try? FileManager.default.contentsOfDirectory(atPath: "\(dir)/slow"))?.contains { $0.hasSuffix(".part") } ?? false
            }
            kill(p.process.processIdentifier, SIGINT)
            #expect(await p.result().status == 130)
        }
    }
}
