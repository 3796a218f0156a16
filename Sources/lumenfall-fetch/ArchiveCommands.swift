import ArgumentParser
import Foundation
import LumenfallCore

/// `--max-size` and `--remove-after-archive`: shared by `fetch --archive` and `archive`.
struct ArchiveOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Split into parts NAME-0001.tar.zst, -0002, ... whose members add up to at most SIZE (uncompressed): 500M, 2G, 1T (binary units) or bytes.",
        valueName: "SIZE"))
    var maxSize: String?

    @Flag(help: "Delete the archived videos and sidecars, only after the archive was written and verified.")
    var removeAfterArchive = false

    var maxBytes: Int64? { maxSize.flatMap(parseSize) }

    func validate() throws {
        if let s = maxSize, parseSize(s) == nil {
            throw ValidationError("--max-size \(s): give a size such as 500M, 2G or 1073741824")
        }
    }
}

/// Writes the archive and prints what it holds; shared by `archive` and `fetch --archive`.
func runArchiver(_ archiver: Archiver, items: [ArchiveItem], remove: Bool, out: (String) -> Void) throws {
    // Interrupted, the half-written parts go (the originals are untouched) and we exit
    // 130/143 at once; a signal that comes while the parts are being renamed waits for the
    // renames, so a split archive is never left half-named.
    let commit = ArchiveCommit()
    let trap = SignalTrap()
    trap.install { sig in
        let stopped = commit.abort()
        FileHandle.standardError.write(Data("lumenfall-fetch: interrupted; \(stopped ? "no archive was written" : "the archive was already complete")\n".utf8))
        exit(sig == SIGINT ? Exit.sigint : Exit.sigterm)
    }
    defer { withExtendedLifetime(trap) {} }
    let result = try archiver.write(items, commit: commit)
    for p in result.parts { print(TerminalText.safe(p)) }
    out("archived \(result.items.count) videos (\(formatBytes(result.bytes))) into \(result.parts.count == 1 ? result.parts[0] : "\(result.parts.count) parts")")
    if remove {
        Archiver.removeLoose(result.items, directory: archiver.directory)
        out("removed the \(result.items.count) archived videos and their sidecars from \(archiver.directory)")
    }
}

struct Archive: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bundle the videos and sidecars a folder already holds into a tar archive.",
        discussion: "Exit codes: 0 written, 1 the archive could not be written (nothing is left under its name), 2 the folder cannot be read, 64 bad usage.")

    @Argument(help: "The folder lumenfall-fetch saved into.")
    var directory: String

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("The archive to write; its name picks the compression (.tar, .tar.gz/.tgz, .tar.zst/.tzst, .tar.xz).", valueName: "PATH"))
    var output: String

    @OptionGroup var archive: ArchiveOptions

    func validate() throws {
        if let why = Archiver.checkName(output) { throw ValidationError("-o \(output): \(why)") }
    }

    func run() throws {
        let say = { (s: String) in FileHandle.standardError.write(Data("lumenfall-fetch: \(TerminalText.safe(s))\n".utf8)) }
        // Deleting files a running fetch is writing would lose them: take the folder's lock.
        let lock = archive.removeAfterArchive ? lockFolder(directory) : nil
        defer { withExtendedLifetime(lock) {} }
        let scanned: (items: [ArchiveItem], problems: [ArchiveItem.Problem])
        do {
            scanned = try ArchiveItem.scan(directory: directory)
        } catch {
            say("error: cannot read the folder \(directory): \(error.localizedDescription)")
            throw ExitCode(Exit.setup)
        }
        for p in scanned.problems { say("skipped: \(p)") }
        do {
            try runArchiver(Archiver(directory: directory, path: output, maxSize: archive.maxBytes,
                                     verify: archive.removeAfterArchive),
                            items: scanned.items, remove: archive.removeAfterArchive, out: say)
        } catch {
            say("error: \(error); no archive was written")
            throw ExitCode(Exit.someFailed)
        }
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check archives in one streaming pass against their manifest.json and SHA256SUMS.",
        discussion: "Reports missing, extra, corrupt and unsafe members by name. Exit codes: 0 every archive checks out, 1 a problem was found, 64 bad usage.")

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
        if bad { throw ExitCode(Exit.someFailed) }
    }
}
