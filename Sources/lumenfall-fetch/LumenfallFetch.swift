import ArgumentParser
import Foundation
import LumenfallCore

@main
struct LumenfallFetch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lumenfall-fetch",
        abstract: "Save AI-generated videos from a Lumenfall (or OpenAI) Videos API before their links expire.",
        version: lumenfallFetchVersion,
        subcommands: [FetchCommand.self, ListCommand.self, ArchiveCommand.self, VerifyCommand.self],
        defaultSubcommand: FetchCommand.self)

    /// Errors become exit codes here and only here: a CLIError prints its message (made safe for
    /// a terminal) and exits with its code; everything else (usage errors: 64) is
    /// swift-argument-parser's.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch let e as CLIError {
            if !e.message.isEmpty {
                FileHandle.standardError.write(Data("lumenfall-fetch: error: \(TerminalText.safe(e.message))\n".utf8))
            }
            Foundation.exit(e.code)
        } catch {
            exit(withError: error)
        }
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
