import Foundation
import Testing

/// Every help screen, word for word, against Tests/IntegrationTests/Snapshots/help-*.txt: a
/// change to an option's text shows up in review. After an intended change, regenerate them
/// with `UPDATE_SNAPSHOTS=1 swift test --filter HelpSnapshotTests` and read the diff.
@Suite struct HelpSnapshotTests {
    static let snapshots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")

    @Test(arguments: ["", "fetch", "list", "archive", "verify", "gallery", "watch"])
    func helpMatchesItsSnapshot(command: String) async throws {
        let r = try await runCLI((command.isEmpty ? [] : [command]) + ["--help"], env: ["COLUMNS": "80"])
        #expect(r.status == 0)
        let file = Self.snapshots.appendingPathComponent("help-\(command.isEmpty ? "root" : command).txt")
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

    @Test func versionNamesTheLibraries() async throws {
        let r = try await runCLI(["--version"])
        #expect(r.stdout.contains("libcurl/"))
        #expect(r.stdout.contains("libarchive "))
    }
}
