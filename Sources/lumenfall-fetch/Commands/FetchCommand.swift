import ArgumentParser
import Foundation
import Logging
import LumenfallCore

struct FetchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Wait for each video to finish, download it with resume, and write its sidecar JSON.",
        discussion: """
            Each id ends as DIR/<id>.<ext> plus DIR/<id>.json. Partial downloads live in \
            DIR/<id>.<ext>.part and resume on the next run.
            """)

    @OptionGroup(title: "Configuration") var configFile: ConfigOptions

    @Argument(help: "Video ids (video_...). More can come from --input or --all.")
    var ids: [String] = []

    @Option(
        name: [.customShort("i"), .long],
        help: ArgumentHelp(
            "Read more ids from FILE, one a line; '-' reads stdin. Blank lines and # comments are skipped.", valueName: "FILE"))
    var input: [String] = []

    @Flag(help: "Also fetch every video the API lists (GET /videos), except failed and cancelled ones.")
    var all = false

    @Option(
        help: ArgumentHelp(
            "With --all: only videos created since DATE (2026-11-01, 2026-11-01T08:00:00Z, or an age: 36h, 7d).", valueName: "DATE"))
    var since: Since?

    @Option(
        help: ArgumentHelp("With --all: stop after N listed videos (the listing is read page by page as downloads go).", valueName: "N"))
    var maxItems: Int?

    @OptionGroup(title: "Output") var out: OutputOptions

    @OptionGroup var preview: PreviewOptions

    @OptionGroup(title: "Connection") var connection: ConnectionOptions
    @OptionGroup(title: "Polling") var polling: PollingOptions
    @OptionGroup(title: "Transfer") var transfer: TransferOptions

    @Option(
        help: ArgumentHelp(
            "After the batch, bundle every saved id (video and sidecar) into this archive (.tar, .tar.gz, .tar.zst, .tar.xz).",
            valueName: "PATH"))
    var archive: String?

    @OptionGroup(title: "Archive") var archiveOptions: ArchiveOptions

    @Flag(help: "After the batch, write DIR/index.html, a static page of every saved video (see the gallery subcommand); with --archive, the archive carries one too.")
    var gallery = false

    func validate() throws {
        if ids.isEmpty && input.isEmpty && !all { throw ValidationError("give at least one video id, --input FILE or --all") }
        if since != nil && !all { throw ValidationError("--since goes with --all") }
        if maxItems != nil && !all { throw ValidationError("--max-items goes with --all") }
        if let m = maxItems, m < 1 { throw ValidationError("--max-items must be at least 1") }
        if input.filter({ $0 == "-" }).count > 1 { throw ValidationError("--input - (stdin) can be given only once") }
        if let a = archive, let why = Archiver.checkName(a) { throw ValidationError("--archive \(a): \(why)") }
        if archive == nil && (archiveOptions.maxSize != nil || archiveOptions.removeAfterArchive) {
            throw ValidationError("--max-size and --remove-after-archive go with --archive PATH")
        }
    }

    func run() async throws {
        let key = try connection.loadKey()
        // Every id file is opened now (an unreadable one is a set-up problem before any work)
        // and read line by line while the run goes: a million-line file is never held whole.
        var files: [LineIDSource] = []
        for path in input {
            do {
                files.append(try LineIDSource(path: path))
            } catch {
                throw CLIError(code: Exit.setup, "cannot read the id list \(path); check the path")
            }
        }
        let dir = out.output
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw CLIError(code: Exit.setup, "cannot create the output folder \(dir): \(error.localizedDescription)")
        }
        guard access(dir, W_OK) == 0 else {
            throw CLIError(code: Exit.setup, "cannot write into the output folder \(dir); check its permissions")
        }
        let lock = try lockFolder(dir)
        defer { withExtendedLifetime(lock) {} }

        var config = FetchConfiguration(outputDirectory: dir, api: connection.makeClient(key: key))
        transfer.apply(to: &config)
        config.previews = preview.previews
        config.poll = polling.policy(retry: transfer.retryPolicy)
        config.pollJobs = polling.pollJobs

        // The report keeps the batch's numbers, not one entry per id; --archive keeps the saved
        // ids (one string each) to bundle them afterwards.
        config.keepOutcomes = false
        config.keepSavedIDs = archive != nil
        let env = ProcessInfo.processInfo.environment
        let mode = out.progress.resolved(stderrIsTerminal: isatty(STDERR_FILENO) == 1, term: env["TERM"])
        // NO_COLOR (no-color.org): any non-empty value turns colour off.
        let live =
            mode == .live ? LiveDisplay(color: (env["NO_COLOR"] ?? "").isEmpty && env["TERM"] != "dumb", redact: { key.redact($0) }) : nil
        let printer = EventPrinter(
            // With the live block on a terminal that is also stdout, the saved lines name the
            // files: paths there would land inside the block.
            quiet: out.quiet || mode == .none, key: key, outputDirectory: dir,
            pathsOnStdout: !out.json && !(live != nil && isatty(STDOUT_FILENO) == 1), live: live,
            plainProgress: mode == .plain)
        let events = out.json ? JSONEvents(key: key, outputDirectory: dir) : nil
        LoggingSystem.bootstrap { label in
            var h = RedactingLogHandler(label: label, printer: printer)
            h.logLevel = .debug
            return h
        }
        var logger = Logger(label: "lumenfall-fetch")
        logger.logLevel = out.verbose ? .debug : .warning
        let fetcher = Fetcher(
            config: config, logger: logger,
            events: {
                printer.print($0)
                events?.handle($0)
            })

        // --all: the listing is read page by page while the downloads run, never held whole.
        let listing =
            all
            ? ListingIDSource(
                cursor: ListCursor(api: config.api, since: since?.date, pageSize: 100),
                maxItems: maxItems, keep: { $0.status != .failed && $0.status != .cancelled }) : nil
        let source = ChainedIDSource([ArrayIDSource(ids)] + files + (listing.map { [$0] } ?? []))

        let started = Date()
        let signals = SignalTrap()
        let work = Task { await fetcher.run(source: source) }
        signals.install { _ in
            live?.stop()  // first: the lines that follow must not land inside the block
            work.cancel()
        }
        live?.start()
        let report = await work.value
        live?.stop()

        let (summary, items) = report.summary(directory: dir, elapsedSeconds: Date().timeIntervalSince(started))
        if let sig = signals.caught {
            // One summary of what was done, whatever was still queued.
            printer.summary(summary)
            events?.summary(summary, interrupted: true)
            printer.line("interrupted; partial downloads are kept and resume on the next run")
            throw CLIError.silent(Exit.forSignal(sig))
        }
        if let listing, !out.quiet {
            let skipped = listing.skipped > 0 ? " (\(listing.skipped) failed or cancelled skipped)" : ""
            let capped = maxItems.map { listing.taken >= $0 ? " (stopped at --max-items \($0))" : "" } ?? ""
            printer.line("the API listed \(listing.taken) videos to fetch\(skipped)\(capped)")
        }
        if let e = report.sourceFailure {
            if let e = e as? APIError {
                let before = (listing?.taken ?? 0) > 0 ? "; the ids listed before it were fetched" : ""
                printer.line("error: \(describeListError(e, api: config.api))\(before)")
            } else {
                printer.line("error: \(e); the ids read before it were fetched")
            }
        }
        let given = ids.count + files.reduce(0) { $0 + $1.yielded }
        if !all && given == 0 && report.authenticationFailure == nil {
            throw CLIError(code: Exit.setup, "the id lists hold no ids")
        }
        let t = report.tally
        if all && t.saved + t.alreadySaved + t.failed + t.expired == 0 && report.sourceFailure == nil
            && report.authenticationFailure == nil
        {
            printer.line("nothing to fetch")
        }
        printer.closingTable(report.tally)
        printer.summary(summary)
        events?.summary(summary, interrupted: false)
        if let auth = report.authenticationFailure {
            throw CLIError(code: Exit.apiKey, "\(auth): check the key in \(connection.keySource)", redacting: key)
        }
        if gallery {
            do {
                let page = try writeGallery(dir, say: { printer.line($0) })
                if !out.json { print(page) }
            } catch let e as CLIError {
                printer.line("error: \(e.message)")
                if archive == nil { throw CLIError.silent(Exit.someFailed) }
            }
        }
        if let path = archive {
            // The archive carries a gallery when asked, or when the folder has one already.
            let archiver = Archiver(
                directory: dir, path: path, maxSize: archiveOptions.maxSize?.bytes,
                verify: archiveOptions.removeAfterArchive, batch: summary,
                gallery: gallery || AtomicFile.size(of: "\(dir)/\(Gallery.fileName)") != nil)
            do {
                let result = try runArchiver(
                    archiver, items: items, remove: archiveOptions.removeAfterArchive, printPaths: !out.json
                ) { printer.line($0) }
                events?.archived(paths: result.parts, members: result.items.count, bytes: result.bytes)
                // The archived files are gone from the folder: its page must not link to them.
                if archiveOptions.removeAfterArchive && archiver.gallery { _ = try? writeGallery(dir, say: { printer.line($0) }) }
            } catch let e as CLIError {
                throw e
            } catch {
                printer.line("error: \(error); no archive was written")
                throw CLIError.silent(Exit.someFailed)
            }
        }
        if !report.allSucceeded { throw CLIError.silent(Exit.someFailed) }
    }

}
