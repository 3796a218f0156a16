import Foundation
import Testing

/// Every help screen, word for word, against Tests/IntegrationTests/CLI/Snapshots/help-*.txt: a
/// change to an option's text shows up in review. After an intended change, regenerate them
/// with `UPDATE_SNAPSHOTS=1 swift test --filter HelpSnapshotTests` and read the diff.
@Suite struct HelpSnapshotTests {
    static let snapshots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")

    static let commands = ["", "fetch", "list", "archive", "verify", "gallery", "watch", "s3", "s3 cleanup", "config", "doctor"]

    @Test(arguments: commands)
    func helpMatchesItsSnapshot(command: String) async throws {
        let words = command.split(separator: " ").map(String.init)
        let r = try await runCLI(words + ["--help"], env: ["COLUMNS": "80"])
        #expect(r.status == 0)
        let file = Self.snapshots.appendingPathComponent("help-\(command.isEmpty ? "root" : words.joined(separator: "-")).txt")
        if ProcessInfo.processInfo.environment["UPDATE_SNAPSHOTS"] != nil {
            try r.stdout.write(to: file, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: file, encoding: .utf8)
        #expect(r.stdout == expected, "help for '\(command)' changed; see the doc comment to update the snapshot")
        if !command.isEmpty {
            // Every subcommand ends with 3 to 6 examples, then the exit codes.
            let examples = r.stdout.components(separatedBy: "EXAMPLES:\n").last?.components(separatedBy: "EXIT CODES:").first ?? ""
            let count = examples.split(separator: "\n").filter { $0.hasPrefix("  lumenfall-fetch ") }.count
            #expect((3...6).contains(count), "\(count) examples")
            #expect(r.stdout.contains("EXIT CODES:\n  0 "))
        }
    }

    /// The list above is the binary's: every subcommand its root help names has a snapshot.
    @Test func everySubcommandHasASnapshot() async throws {
        let r = try await runCLI(["--help"], env: ["COLUMNS": "200"])
        let section = r.stdout.components(separatedBy: "SUBCOMMANDS:\n").last?.components(separatedBy: "\n\n").first ?? ""
        let names = section.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
        #expect(names.count >= 7, "\(names)")
        for name in names { #expect(Self.commands.contains(name), "no snapshot for \(name)") }
    }

    @Test func versionNamesTheLibraries() async throws {
        let r = try await runCLI(["--version"])
        #expect(r.stdout.contains("libcurl/"))
        #expect(r.stdout.contains("libarchive "))
    }
}
