import ArgumentParser
import Foundation
import LumenfallCore

struct S3Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "s3", abstract: "S3 housekeeping.", subcommands: [S3CleanupCommand.self])
}

struct S3CleanupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cleanup",
        abstract: "List the unfinished multipart uploads under s3://bucket/prefix/ and abort those older than --older-than.",
        discussion: """
            An archive upload cut short (a kill, a lost machine) leaves its parts in the bucket, \
            billed, until aborted. A rerun of the same archive resumes such an upload instead; \
            this removes the ones nobody will resume.
            """)

    @OptionGroup(title: "Configuration") var configFile: ConfigOptions

    @Argument(help: "s3://bucket/prefix/ (the uploads whose keys start with the prefix).")
    var target: String

    @Option(help: ArgumentHelp("Abort only uploads started longer ago than this: 30m, 12h, 7d; 0 for all.", valueName: "INTERVAL"))
    var olderThan: Interval = Interval(86_400)

    @Flag(help: "List what would be aborted, abort nothing.")
    var dryRun = false

    @OptionGroup var endpoint: S3EndpointOption

    @OptionGroup(title: "Logging") var logging: LogOptions

    func validate() throws {
        if case .failure(let e) = S3Location.parse(target) { throw ValidationError("\(e)") }
    }

    func run() async throws {
        let location = try S3Location.parse(target).get()
        let client = S3Client(config: try endpoint.config(), location: location)
        let pending: [S3Client.PendingUpload]
        do {
            pending = try await client.listMultipartUploads(prefix: location.prefix)
        } catch {
            throw CLIError(code: Exit.setup, "\(ErrorText.describe(error))")
        }
        let cutoff = Date().addingTimeInterval(-(olderThan.seconds ?? 0))
        var aborted = 0
        var failed = 0
        for u in pending.sorted(by: { $0.key < $1.key }) {
            let started = u.initiated.map(utcString) ?? "unknown"
            let name = TerminalText.safe("s3://\(location.bucket)/\(u.key)")
            guard (u.initiated ?? .distantPast) < cutoff else {
                print("kept     \(name) (started \(started))")
                continue
            }
            if dryRun {
                print("would abort \(name) (started \(started))")
                continue
            }
            do {
                try await client.abortMultipartUpload(u.key, uploadID: u.uploadID)
                aborted += 1
                print("aborted  \(name) (started \(started))")
            } catch {
                failed += 1
                Diagnostics.line("cannot abort \(name): \(TerminalText.safe("\(ErrorText.describe(error))"))")
            }
        }
        Diagnostics.line(
            "\(pending.count) unfinished upload\(pending.count == 1 ? "" : "s") under \(location); \(dryRun ? "none" : "\(aborted)") aborted"
        )
        if failed > 0 { throw CLIError.silent(Exit.someFailed) }
    }
}
