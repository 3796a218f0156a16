import ArgumentParser
import Foundation
import LumenfallCore

struct ArchiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive",
        abstract: "Bundle the videos and sidecars a folder already holds into a tar archive.",
        discussion:
            "Reads every video back against its sidecar's SHA-256 on the way in, writes manifest.json and SHA256SUMS first, and renames the archive into place only when it is whole."
    )

    @OptionGroup(title: "Configuration") var configFile: ConfigOptions

    @Argument(help: "The folder lumenfall-fetch saved into.")
    var directory: String

    @Option(
        name: [.customShort("o"), .long],
        help: ArgumentHelp(
            "The archive to write; its name picks the compression (.tar, .tar.gz/.tgz, .tar.zst/.tzst, .tar.xz).", valueName: "PATH"),
        transform: ArchiveTarget.parseForWriting)
    var output: ArchiveTarget

    @OptionGroup(title: "Archive") var archive: ArchiveOptions
    @OptionGroup(title: "S3") var s3: S3ArchiveOptions

    @OptionGroup(title: "S3") var endpoint: S3EndpointOption
    @OptionGroup(title: "Output") var talk: ToolOutputOptions

    @Flag(
        help:
            "Also write DIR/index.html (see the gallery subcommand). Each archive part carries a gallery page of its own videos with this flag, or whenever DIR/index.html exists."
    )
    var gallery = false

    @OptionGroup(title: "Logging") var logging: LogOptions

    func validate() throws { _ = try archive.options(for: output.path) }

    func run() async throws {
        let quiet = talk.quiet
        let line = ProgressLine(talk)
        let say: @Sendable (String) -> Void = { s in
            line.finish()
            if !quiet { Diagnostics.line(TerminalText.safe(s)) }
        }
        // Deleting files a running fetch is writing would lose them: take the folder's lock.
        let lock = archive.removeAfterArchive ? try lockFolder(directory) : nil
        defer { withExtendedLifetime(lock) {} }
        let scanned: (items: [ArchiveItem], problems: [ArchiveItem.Problem])
        if let why = AtomicFile.folderProblem(directory) { throw CLIError(code: Exit.setup, "cannot read the folder \(directory): \(why)") }
        do {
            scanned = try ArchiveItem.scan(directory: directory)
        } catch {
            throw CLIError(code: Exit.setup, "cannot read the folder \(directory): \(ErrorText.describe(error))")
        }
        for p in scanned.problems {
            say("skipped: \(p)")
            if talk.json { ToolJSON.emit("skipped", [("reason", "\(p)")]) }
        }
        let hadGallery = AtomicFile.size(of: "\(directory)/\(Gallery.fileName)") != nil
        if gallery { try writeGallery(directory, say: say) }
        do {
            var archiver = Archiver(
                directory: directory, path: output.path, maxSize: archive.maxSize?.bytes,
                verify: archive.removeAfterArchive, gallery: gallery || hadGallery)
            line.begin(
                "archiving into \(output.path)",
                total: scanned.items.reduce(0) { $0 + $1.videoBytes + $1.assets.reduce(0) { $0 + $1.bytes } })
            archiver.progress = { line.add($0) }
            archiver.compressionOptions = try archive.options(for: output.path)
            defer { line.finish() }
            if output.isS3 {
                // Streamed into multipart uploads; each part's ETag is checked against the bytes
                // sent, which is the check --remove-after-archive waits for.
                let result = try await runS3Archiver(archiver, items: scanned.items, options: s3, endpoint: endpoint, say: say)
                line.finish()
                say(
                    "archived \(result.items.count) video\(result.items.count == 1 ? "" : "s") (\(formatBytes(result.bytes))) into \(output)"
                )
                if !talk.json { for p in result.parts { print(p) } }
                if archive.removeAfterArchive { Archiver.removeLoose(result.items, directory: directory) }
                if talk.json { Self.emitArchived(result) }
            } else {
                let result = try runArchiver(
                    archiver, items: scanned.items, remove: archive.removeAfterArchive, printPaths: !talk.json, out: say)
                if talk.json { Self.emitArchived(result) }
            }
        } catch let e as CLIError {
            throw e
        } catch {
            throw CLIError(code: Exit.someFailed, "\(ErrorText.describe(error)); no archive was written")
        }
        // The archived files are gone from the folder: its page must not link to them.
        if archive.removeAfterArchive && (gallery || hadGallery) { try writeGallery(directory, say: say) }
    }
}

extension ArchiveCommand {
    static func emitArchived(_ r: Archiver.Result) {
        ToolJSON.emit("archived", [("path", r.parts.first), ("parts", r.parts), ("members", r.items.count), ("bytes", r.bytes)])
    }
}

/// Writes the archive and prints what it holds; shared by `archive` and `fetch --archive`.
/// `printPaths`: each part's path on stdout (not with --json, whose stdout is the events).
@discardableResult
func runArchiver(
    _ archiver: Archiver, items: [ArchiveItem], remove: Bool, printPaths: Bool = true, out: (String) -> Void
) throws -> Archiver.Result {
    // Interrupted, the half-written parts go (the originals are untouched) and we exit
    // 130/143 at once; a signal that comes while the parts are being renamed waits for the
    // renames, so a split archive is never left half-named. Exiting from the handler is the
    // point: the writer may be deep inside libarchive.
    let commit = ArchiveCommit()
    let trap = SignalTrap()
    trap.install { sig in
        let stopped = commit.abort()
        Diagnostics.line("interrupted; \(stopped ? "no archive was written" : "the archive was already complete")")
        SignalTrap.exitNow(Exit.forSignal(sig))
    }
    defer { withExtendedLifetime(trap) {} }
    let result: Archiver.Result
    do {
        result = try archiver.write(items, commit: commit)
    } catch {
        // The writer stopped because the handler aborted it: the exit is the signal's, and
        // the handler has said what happened.
        if let sig = trap.caught { throw CLIError.silent(Exit.forSignal(sig)) }
        throw error
    }
    if printPaths { for p in result.parts { print(TerminalText.safe(p)) } }
    out(
        "archived \(result.items.count) videos (\(formatBytes(result.bytes))) into \(result.parts.count == 1 ? result.parts[0] : "\(result.parts.count) parts")"
    )
    if remove {
        Archiver.removeLoose(result.items, directory: archiver.directory)
        out("removed the \(result.items.count) archived videos and their sidecars from \(archiver.directory)")
    }
    return result
}
