import ArgumentParser
import Foundation
import LumenfallCore

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check archives in one streaming pass against their manifest.json and SHA256SUMS.",
        discussion:
            "Reports missing, extra, corrupt and unsafe members by name."
    )

    @OptionGroup(title: "Configuration") var configFile: ConfigOptions

    @Argument(help: "Archives (.tar, .tar.gz, .tgz, .tar.zst, .tzst, .tar.xz).")
    var paths: [String]

    func validate() throws {
        if paths.isEmpty { throw ValidationError("give at least one archive to verify") }
    }

    func run() throws {
        var bad = false
        for path in paths {
            let r = ArchiveVerifier.verify(path: path)
            // Member names come from the archive: a forged name must not print a fake "OK".
            let shown = TerminalText.safe(path)
            if r.ok {
                print("\(shown): OK (\(r.members) members, \(formatBytes(r.bytes)) checked)")
            } else {
                bad = true
                for p in r.problems { print("\(shown): \(TerminalText.safe(p.description))") }
                print("\(shown): FAILED (\(r.problems.count) problem\(r.problems.count == 1 ? "" : "s"))")
            }
        }
        if bad { throw CLIError.silent(Exit.someFailed) }
    }
}
