import ArgumentParser
import Foundation
import Logging
import LumenfallCore
import LumenfallCurl

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

    @OptionGroup(title: "Input") var source: InputOptions

    @OptionGroup(title: "Output") var out: OutputOptions

    @OptionGroup(title: "Output") var preview: PreviewOptions

    @OptionGroup(title: "S3") var endpoint: S3EndpointOption
    @OptionGroup(title: "S3") var s3Output: S3OutputOptions

    /// `-o s3://bucket/prefix/`, when that is the output.
    var s3Location: S3Location? {
        if case .s3(let l) = out.output { return l }
        return nil
    }

    @OptionGroup(title: "Connection") var connection: ConnectionOptions
    @OptionGroup(title: "Polling") var polling: PollingOptions
    @OptionGroup(title: "Polling") var apiWait: APIWaitOptions
    @OptionGroup(title: "Transfer") var transfer: TransferOptions

    @OptionGroup(title: "After the batch") var after: AfterBatchOptions

    @OptionGroup(title: "Archive") var archiveOptions: ArchiveOptions
    @OptionGroup(title: "S3") var s3Archive: S3ArchiveOptions

    // The groups' values under their plain names, as the run reads them.
    var input: [String] { source.input }
    var all: Bool { source.all }
    var since: Since? { source.since }
    var maxItems: Int? { source.maxItems }
    var shard: InputOptions.Shard? { source.shard }
    var archive: ArchiveTarget? { after.archive }
    var gallery: Bool { after.gallery }

    @OptionGroup(title: "Logging") var logging: LogOptions

    func validate() throws {
        if s3Location != nil {
            if gallery { throw ValidationError("--gallery needs a local folder: with -o s3:// the files leave the machine") }
        } else if s3Output.workDir != nil || (endpoint.s3Endpoint != nil && !(archive?.isS3 ?? false)) {
            throw ValidationError(
                "--work-dir and --s3-endpoint go with -o s3://bucket/prefix/ (--s3-endpoint also with --archive s3://...)")
        }
        if ids.isEmpty && input.isEmpty && !all && !source.partials {
            throw ValidationError("give at least one video id, --input FILE, --all or --partials")
        }
        if out.name != nil, s3Location != nil {
            throw ValidationError("--name names files in a local folder; with -o s3:// objects are named by their id")
        }
        if source.partials, s3Location != nil {
            throw ValidationError("--partials reads a local folder's partial files; with -o s3:// the work folder resumes its own")
        }
        // Checked before any request or lock: an id becomes a file name in the folder.
        for id in ids {
            if let why = VideoID.problem(with: id) { throw ValidationError("'\(TerminalText.safe(id))' is not a video id: \(why)") }
        }
        if input.filter({ $0 == "-" }).count > 1 { throw ValidationError("--input - (stdin) can be given only once") }
        if let a = archive { _ = try archiveOptions.options(for: a.path) }
        if archive == nil && (archiveOptions.maxSize != nil || archiveOptions.removeAfterArchive || archiveOptions.level != nil) {
            throw ValidationError("--max-size, --remove-after-archive and --level go with --archive PATH")
        }
    }

    func run() async throws {
        let key = try connection.loadKey()
        let files = try openIDFiles()
        if source.dryRun { return try await dryRun(key: key, files: files) }
        // -o s3://: the files are saved in a work folder first, then go up. With --archive
        // they stay there until the archive of the batch is written from them, then go.
        // The run's own libcurl loop: every request of this run (API, media, S3) goes through it,
        // and it is shut down when the run ends.
        let curl = CurlMulti()
        defer { curl.shutdown() }
        let opened = try await OpenedOutput.open(
            out.output, s3: s3Output, endpoint: endpoint, keepLocalCopies: archive != nil, multi: curl)
        defer { withExtendedLifetime(opened.lock) {} }
        let destination = opened.destination
        let dir = opened.folder

        let config = configuration(dir, destination: destination, api: connection.makeClient(key: key, multi: curl))
        let (printer, events, live) = makeOutput(key: key, destination: destination)
        var logger = Logger(label: "lumenfall-fetch")
        logger.logLevel = out.verbose ? .debug : .warning
        let fetcher = Fetcher(
            config: config, logger: logger,
            events: {
                printer.print($0)
                events?.handle($0)
            })

        let started = Date()
        let signals = SignalTrap()
        // The sources are iterators owned by the task that runs the loop: they move into it
        // (the opened id files with them) and only their counts come back.
        let plan = idPlan
        // --partials: the folder's .part files, read before the run adds its own.
        let partials = source.partials ? PartialsIDSource(directory: dir, names: config.names) : nil
        let work = Task { [files, config, plan, ids, partials] () async -> (FetchReport, SourceCounts) in
            let (source, listing) = plan.source(partials: partials, files: files, api: config.api)
            let report = await fetcher.run(source: source)
            return (
                report,
                SourceCounts(
                    given: ids.count + (partials?.found ?? 0) + files.reduce(0) { $0 + $1.yielded }, listed: listing?.taken,
                    listingSkipped: listing?.skipped ?? 0)
            )
        }
        signals.install { _ in
            live?.stop()  // first: the lines that follow must not land inside the block
            work.cancel()
        }
        live?.start()
        let (report, counts) = await work.value
        live?.stop()

        let (summary, items) = report.summary(directory: dir, elapsedSeconds: Date().timeIntervalSince(started))
        if let sig = signals.caught {
            reportInterruption(report, summary, dir: dir, names: config.names, printer: printer, events: events)
            throw CLIError.silent(Exit.forSignal(sig))
        }
        try reportSources(report, counts, printer: printer, api: config.api)
        printer.closingTable(report.tally)
        printer.summary(summary)
        events?.summary(summary, interrupted: false)
        if let auth = report.authenticationFailure {
            throw CLIError(code: Exit.apiKey, "\(auth): check the key in \(connection.keySource)", redacting: key)
        }
        if let down = report.apiUnreachable { throw CLIError(code: Exit.apiUnreachable, down, redacting: key) }
        try galleryStep(dir, printer: printer)
        try await archiveStep(dir, items: items, summary: summary, printer: printer, events: events, curl: curl)
        if !report.allSucceeded { throw CLIError.silent(Exit.someFailed) }
    }
}

extension FetchCommand {
    /// What the run does, from the options: the output, the transfer and polling settings.
    func configuration(_ dir: String, destination: any Destination, api: APIClient) -> FetchConfiguration {
        var config = FetchConfiguration(outputDirectory: dir, api: api)
        transfer.apply(to: &config)
        config.previews = preview.previews
        config.destination = destination
        config.poll = polling.policy(retry: transfer.retryPolicy)
        config.pollJobs = polling.pollJobs
        config.apiHealth = apiWait.policy
        // Files named by --name (now or by an earlier run) are found again through the
        // folder's name index.
        config.names = NameIndex(directory: dir)
        config.naming = out.name
        // The report keeps the batch's numbers, not one entry per id; --archive keeps the saved
        // ids (one string each) to bundle them afterwards.
        config.keepOutcomes = false
        config.keepSavedIDs = archive != nil
        return config
    }

    /// After a signal: one summary of what was done, whatever was still queued, and a line that
    /// promises the next run only the partial files that exist.
    func reportInterruption(
        _ report: FetchReport, _ summary: BatchSummary, dir: String, names: NameIndex?, printer: EventPrinter, events: JSONEvents?
    ) {
        printer.summary(summary)
        events?.summary(summary, interrupted: true)
        let stopped = report.tally.failures.filter { $0.failure.kind == .stopped }.map(\.id)
        let kept = stopped.filter { MediaFile.existingPart(directory: dir, id: names?.stem(for: $0) ?? $0) != nil }.count
        let parts = kept == 0 ? "no partial file" : kept == 1 ? "1 partial file is" : "\(kept) partial files are"
        printer.line(
            "interrupted: \(report.tally.interrupted) id\(report.tally.interrupted == 1 ? "" : "s") not finished; \(parts)"
                + (kept == 0 ? " was started" : " kept and resume on the next run"))
    }

    /// Every id file is opened before any work (an unreadable one is a set-up problem) and read
    /// line by line while the run goes: a million-line file is never held whole.
    func openIDFiles() throws -> [LineIDSource] {
        var files: [LineIDSource] = []
        for path in input {
            do {
                files.append(try LineIDSource(path: path))
            } catch {
                throw CLIError(code: Exit.setup, "cannot read the id list \(path); check the path")
            }
        }
        return files
    }

    /// Where the run speaks: the live block or plain lines on stderr, paths on stdout, `--json`
    /// events; and the log handler that sends library logs through the same redaction.
    func makeOutput(key: APIKey, destination: any Destination) -> (EventPrinter, JSONEvents?, LiveDisplay?) {
        let env = ProcessInfo.processInfo.environment
        // With --log-format json every line on stderr is an object: no live block among them.
        let asked = out.progress.resolved(stderrIsTerminal: isatty(STDERR_FILENO) == 1, term: env["TERM"])
        let mode = asked == .live && Diagnostics.format == .json ? .plain : asked
        // NO_COLOR (no-color.org): any non-empty value turns colour off.
        let live =
            mode == .live ? LiveDisplay(color: (env["NO_COLOR"] ?? "").isEmpty && env["TERM"] != "dumb", redact: { key.redact($0) }) : nil
        let printer = EventPrinter(
            // With the live block on a terminal that is also stdout, the saved lines name the
            // files: paths there would land inside the block.
            quiet: out.quiet || mode == .none, key: key, place: { destination.place(of: $0) },
            pathsOnStdout: !out.json && !(live != nil && isatty(STDOUT_FILENO) == 1), live: live,
            plainProgress: mode == .plain, timestamps: out.timestamps)
        // JSON lines on a stdout that is the live block's terminal go above the block, never into it.
        let above = live != nil && isatty(STDOUT_FILENO) == 1 ? live : nil
        let events =
            out.json
            ? JSONEvents(
                key: key, place: { destination.place(of: $0) }, write: { line in above.map { $0.scrollOut(line) } ?? Console.out(line) })
            : nil
        // swift-log lines (--verbose) through the printer: redacted, in the run's format.
        LoggingSystem.bootstrap { _ in
            StderrLogHandler(write: { level, message, fields in printer.line("\(level.rawValue): \(message)", fields: fields) })
        }
        return (printer, events, live)
    }

    /// What the id sources came to: the listing's count, a source that failed part-way, id
    /// lists that held nothing.
    func reportSources(_ report: FetchReport, _ counts: SourceCounts, printer: EventPrinter, api: APIClient) throws {
        if let taken = counts.listed, !out.quiet {
            let custom = !source.status.isEmpty || !source.model.isEmpty || source.until != nil
            let n = counts.listingSkipped
            let skipped = n == 0 ? "" : custom ? " (\(n) left out by --status, --model or --until)" : " (\(n) failed or cancelled left out)"
            let capped = maxItems.map { taken >= $0 ? " (stopped at --max-items \($0))" : "" } ?? ""
            printer.line("the API listed \(taken) videos to fetch\(skipped)\(capped)")
        }
        if let e = report.sourceFailure {
            if let e = e as? APIError {
                let before = (counts.listed ?? 0) > 0 ? "; the ids listed before it were fetched" : ""
                printer.line("error: \(describeListError(e, api: api))\(before)")
            } else {
                printer.line("error: \(ErrorText.describe(e)); the ids read before it were fetched")
            }
        }
        if !all && counts.given == 0 && report.authenticationFailure == nil {
            if source.partials && ids.isEmpty && input.isEmpty {
                printer.line("no partial downloads in the folder; nothing to finish")
                return
            }
            throw CLIError(code: Exit.setup, "the id lists hold no ids")
        }
        let t = report.tally
        if all && t.saved + t.alreadySaved + t.failed + t.expired == 0 && report.sourceFailure == nil
            && report.authenticationFailure == nil
        {
            printer.line("nothing to fetch")
        }
    }

    /// `--gallery`: the folder's page, after the batch. A failure fails the run unless an
    /// archive is still to be written (which then decides).
    func galleryStep(_ dir: String, printer: EventPrinter) throws {
        if gallery {
            do {
                let page = try writeGallery(dir, say: { printer.line($0) })
                if !out.json { print(page) }
            } catch let e as CLIError {
                printer.line("error: \(e.message)")
                if archive == nil { throw CLIError.silent(Exit.someFailed) }
            }
        }
    }

    /// `--archive`: the batch's saved ids into one archive (a file, or streamed into a multipart
    /// upload), then what leaves the work folder.
    func archiveStep(
        _ dir: String, items: [ArchiveItem], summary: BatchSummary, printer: EventPrinter, events: JSONEvents?, curl: CurlMulti
    ) async throws {
        if let target = archive {
            let path = target.path
            // The archive carries a gallery when asked, or when the folder has one already.
            var archiver = Archiver(
                directory: dir, path: path, maxSize: archiveOptions.maxSize?.bytes,
                verify: archiveOptions.removeAfterArchive, batch: summary,
                gallery: gallery || AtomicFile.size(of: "\(dir)/\(Gallery.fileName)") != nil)
            archiver.compressionOptions = try archiveOptions.options(for: path)
            do {
                let result: Archiver.Result
                if target.isS3 {
                    result = try await runS3Archiver(archiver, items: items, options: s3Archive, endpoint: endpoint, multi: curl) {
                        printer.line($0)
                    }
                    printer.line(
                        "archived \(result.items.count) video\(result.items.count == 1 ? "" : "s") (\(formatBytes(result.bytes))) into \(path)"
                    )
                    if !out.json { for p in result.parts { print(p) } }
                    if archiveOptions.removeAfterArchive { Archiver.removeLoose(result.items, directory: dir) }
                } else {
                    result = try runArchiver(
                        archiver, items: items, remove: archiveOptions.removeAfterArchive, printPaths: !out.json
                    ) { printer.line($0) }
                }
                events?.archived(paths: result.parts, members: result.items.count, bytes: result.bytes)
                // With -o s3:// the work folder's copies are stored (and proved) in the bucket
                // and now in the archive: they go. A failed archive keeps them for the next run.
                if s3Location != nil, !archiveOptions.removeAfterArchive { Archiver.removeLoose(result.items, directory: dir) }
                // The archived files are gone from the folder: its page must not link to them.
                if archiveOptions.removeAfterArchive && archiver.gallery { _ = try? writeGallery(dir, say: { printer.line($0) }) }
            } catch let e as CLIError {
                throw e
            } catch {
                printer.line("error: \(ErrorText.describe(error)); no archive was written")
                throw CLIError.silent(Exit.someFailed)
            }
        }
    }
}

/// What the id sources counted, handed back by the task that owned them.
struct SourceCounts: Sendable {
    /// Ids given on the command line and read from id files.
    var given: Int
    /// `--all`: the ids the listing yielded (nil without `--all`).
    var listed: Int?
    var listingSkipped: Int
}
