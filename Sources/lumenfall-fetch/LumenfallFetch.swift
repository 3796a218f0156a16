import ArgumentParser
import Foundation
import LumenfallArchive
import LumenfallCore
import LumenfallCurl

@main
struct LumenfallFetch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lumenfall-fetch",
        abstract: "Save AI-generated videos from a Lumenfall (or OpenAI) Videos API before their links expire.",
        usage: """
            lumenfall-fetch [fetch] <id> ... [-o DIR] [<options>]   (fetch is the default)
            lumenfall-fetch <subcommand> [<options>]
            """,
        version: "lumenfall-fetch \(lumenfallFetchVersion) (\(libcurlVersion); \(libarchiveVersion))",
        subcommands: commands,
        defaultSubcommand: FetchCommand.self)

    /// Every subcommand, once: the parser, the config file's tables and the help epilogues read
    /// this list. A new subcommand is a file in Commands/ and a line here.
    static let commands: [ParsableCommand.Type] = [
        FetchCommand.self, ListCommand.self, ArchiveCommand.self, VerifyCommand.self, GalleryCommand.self, WatchCommand.self,
        S3Command.self, ConfigCommand.self, DoctorCommand.self,
    ]

    /// Errors become exit codes here and only here: a CLIError prints its message (made safe for
    /// a terminal) and exits with its code; everything else (usage errors: 64) is
    /// swift-argument-parser's.
    static func main() async {
        do {
            // Defaults from the config file go in front of the user's own arguments.
            let args = CommandWords.joinNegativeValues(Array(CommandLine.arguments.dropFirst()))
            try CommandWords.checkHelp(args)
            let all = try ConfigFile.apply(to: args)
            Diagnostics.preset(from: all)
            var command = try parseAsRoot(all)
            try CommandWords.checkIDs(userArguments: args, fetchIDs: (command as? FetchCommand)?.ids)
            // For the docs' tests: every example in --help and the docs must parse and validate.
            if ProcessInfo.processInfo.environment["LUMENFALL_FETCH_PARSE_ONLY"] == "1" {
                print(type(of: command).configuration.commandName ?? "")
                Foundation.exit(0)
            }
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch let e as CLIError {
            if !e.message.isEmpty {
                Diagnostics.line("error: \(TerminalText.safe(e.message))")
            }
            SignalTrap.exitNow(e.code)
        } catch {
            // A help screen gets the examples and the exit codes below the options.
            if exitCode(for: error) == .success, let subject = helpSubject(arguments: CommandLine.arguments.dropFirst()) {
                let screen = fullMessage(for: error)
                print(screen.hasSuffix("\n") ? String(screen.dropLast()) : screen)
                print("")
                print(HelpEpilogue.text(for: subject), terminator: "")
                Foundation.exit(0)
            }
            // Usage errors read like ours: one prefix, then the parser's usage line.
            let code = exitCode(for: error)
            var text = fullMessage(for: error)
            if code == .success {
                print(text)  // --version
                Foundation.exit(0)
            }
            if text.hasPrefix("Error: ") { text = "error: " + text.dropFirst(7) }
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { TerminalText.safe(String($0)) }
            if Diagnostics.format == .json {
                // One object: the error, and the parser's usage lines as a field.
                let first = lines.first ?? ""
                let rest = lines.dropFirst().joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
                Diagnostics.line(first, fields: rest.isEmpty ? [] : [("usage", rest)])
            } else {
                let shown = lines.joined(separator: "\n")
                Console.err((shown.hasPrefix("error: ") ? "lumenfall-fetch: " : "") + shown + (text.hasSuffix("\n") ? "" : "\n"))
            }
            Foundation.exit(code.rawValue)
        }
    }

    /// The subcommand a help screen is about, from the user's own words, as the parser reads
    /// them: the leading words that name a subcommand and its nested ones (`s3 cleanup`), after
    /// an optional `help`; "" for the root (`--help` or `help` alone); `fetch`, the default,
    /// for anything else. nil when the request is not for help (`--version`).
    static func helpSubject(arguments: ArraySlice<String>) -> String? {
        let flags: Set = ["-h", "--help", "--help-hidden"]
        var rest = arguments
        let viaHelp = rest.first == "help"
        guard viaHelp || rest.contains(where: flags.contains) else { return nil }
        if viaHelp { rest = rest.dropFirst() }
        var path: [String] = []
        var level = commands
        while let word = rest.first, let command = level.first(where: { $0.configuration.commandName == word }) {
            path.append(word)
            rest = rest.dropFirst()
            level = command.configuration.subcommands
        }
        if !path.isEmpty { return path.joined(separator: " ") }
        return viaHelp || rest.allSatisfy(flags.contains) ? "" : "fetch"
    }
}

/// Takes the folder's lock, or throws exit 2 naming the run that holds it.
func lockFolder(_ directory: String) throws(CLIError) -> DirectoryLock {
    do {
        return try DirectoryLock(directory: directory)
    } catch {
        switch error {
        case .busy(let dir, let pid):
            throw CLIError(
                code: Exit.setup,
                "another lumenfall-fetch\(pid.map { " (pid \($0))" } ?? "") is working in \(dir); wait for it to finish or use another folder"
            )
        case .cannotOpen(let why):
            throw CLIError(code: Exit.setup, why)
        }
    }
}
