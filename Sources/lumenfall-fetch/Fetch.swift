import ArgumentParser
import Foundation
import Logging
import LumenfallCore

struct Fetch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Wait for each video to finish, download it with resume, and write its sidecar JSON.",
        discussion: """
            Each id ends as DIR/<id>.<ext> plus DIR/<id>.json. Partial downloads live in \
            DIR/<id>.<ext>.part and resume on the next run. Exit codes: 0 all saved, 1 some ids \
            not saved, 2 local set-up problem, 3 API key missing or rejected, 64 bad usage, \
            130/143 interrupted.
            """)

    @Argument(help: "Video ids (video_...). More can come from --input or --all.")
    var ids: [String] = []

    @Flag(help: "Also fetch every video the API lists (GET /videos), except failed and cancelled ones.")
    var all = false

    @Option(help: ArgumentHelp("With --all: stop after N listed videos (the listing is read page by page as downloads go).", valueName: "N"))
    var maxItems: Int?

    @Option(help: ArgumentHelp("With --all: only videos created since DATE (2026-11-01, 2026-11-01T08:00:00Z, or an age: 36h, 7d).", valueName: "DATE"))
    var since: String?

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("Output folder (created if missing).", valueName: "DIR"))
    var output: String = "."

    @Option(name: [.customShort("i"), .long], help: ArgumentHelp(
        "Read more ids from FILE, one a line; '-' reads stdin. Blank lines and # comments are skipped.", valueName: "FILE"))
    var input: [String] = []

    @OptionGroup var connection: ConnectionOptions

    @Option(help: ArgumentHelp("First wait between polls of an unfinished job; later waits grow with jitter up to --max-poll-interval.", valueName: "SECONDS"))
    var pollInterval: Double = 5

    @Option(help: ArgumentHelp("Cap on the wait between two polls.", valueName: "SECONDS"))
    var maxPollInterval: Double = 60

    @Option(help: ArgumentHelp("Give up on an id that has not completed after this long (0: wait for ever).", valueName: "SECONDS"))
    var maxWait: Double = 3600

    @Option(help: ArgumentHelp("Abort and resume a transfer slower than --min-speed (by default: one that moves no byte) for this long.", valueName: "SECONDS"))
    var stallTimeout: Double = 30

    @Option(help: ArgumentHelp("A transfer slower than RATE on average over --stall-timeout counts as stalled, as curl's -Y: bytes/s, or 10K, 1M (binary units).", valueName: "RATE"))
    var minSpeed: String = "1"

    @Option(help: ArgumentHelp("Give up on one id's download (all attempts, waits and link refreshes) after this long; the partial file is kept. Default: no limit.", valueName: "SECONDS"))
    var maxTime: Double?

    @Option(help: ArgumentHelp("Give up connecting to a host after this long.", valueName: "SECONDS"))
    var connectTimeout: Double = 30

    @Option(help: ArgumentHelp("Transient failures in a row (429, 5xx, resets, stalls) tolerated per id.", valueName: "N"))
    var retries: Int = 10

    @Option(help: ArgumentHelp("First wait after a transient failure; doubles each time (with jitter), up to 60 s. Retry-After wins when sent.", valueName: "SECONDS"))
    var retryDelay: Double = 1

    @Option(help: ArgumentHelp("How many downloads run at once; they start with the link that expires first.", valueName: "N"))
    var jobs: Int = 4

    @Option(help: ArgumentHelp("How many ids are polled at once, apart from the downloads.", valueName: "N"))
    var pollJobs: Int = 8

    @Option(help: ArgumentHelp("After the batch, bundle every saved id (video and sidecar) into this archive (.tar, .tar.gz, .tar.zst, .tar.xz).", valueName: "PATH"))
    var archive: String?

    @OptionGroup var archiveOptions: ArchiveOptions

    @Flag(name: [.short, .long], help: "Print only errors and the final summary.")
    var quiet = false

    @Flag(name: [.short, .long], help: "Also print debug detail (requests, decisions).")
    var verbose = false

    /// The most any duration option takes: a year. Beyond it a value is a typo, and a value
    /// like 1e300 must be refused here rather than trap a conversion later.
    static let maxSeconds = 366.0 * 86400

    func validate() throws {
        if ids.isEmpty && input.isEmpty && !all { throw ValidationError("give at least one video id, --input FILE or --all") }
        if since != nil && !all { throw ValidationError("--since goes with --all") }
        if maxItems != nil && !all { throw ValidationError("--max-items goes with --all") }
        if let m = maxItems, m < 1 { throw ValidationError("--max-items must be at least 1") }
        for (name, value) in [("--poll-interval", pollInterval), ("--max-poll-interval", maxPollInterval),
                              ("--max-wait", maxWait), ("--stall-timeout", stallTimeout),
                              ("--connect-timeout", connectTimeout), ("--retry-delay", retryDelay),
                              ("--max-time", maxTime ?? 1)] where !(value <= Self.maxSeconds) {
            throw ValidationError("\(name) \(value): give at most \(Int(Self.maxSeconds)) seconds (a year)")
        }
        if let t = maxTime, !(t > 0) { throw ValidationError("--max-time must be more than 0 seconds") }
        if minSpeedBytes == nil { throw ValidationError("--min-speed \(minSpeed): give a rate such as 1, 500, 10K or 1M (bytes per second)") }
        if retries > 1000 { throw ValidationError("--retries must be at most 1000") }
        if let s = since, parseSince(s) == nil { throw ValidationError("--since \(s): give a date (2026-11-01) or an age (36h, 7d)") }
        if !(pollInterval > 0) { throw ValidationError("--poll-interval must be more than 0 seconds") }
        if !(maxPollInterval > 0) { throw ValidationError("--max-poll-interval must be more than 0 seconds") }
        if !(maxWait >= 0) { throw ValidationError("--max-wait must be 0 (no limit) or more") }
        if !(stallTimeout >= 1) { throw ValidationError("--stall-timeout must be at least 1 second") }
        if !(connectTimeout > 0) { throw ValidationError("--connect-timeout must be more than 0 seconds") }
        if retries < 0 { throw ValidationError("--retries must be 0 or more") }
        if !(retryDelay >= 0) { throw ValidationError("--retry-delay must be 0 or more") }
        if jobs < 1 || jobs > 64 { throw ValidationError("--jobs must be between 1 and 64") }
        if pollJobs < 1 || pollJobs > 64 { throw ValidationError("--poll-jobs must be between 1 and 64") }
        if input.filter({ $0 == "-" }).count > 1 { throw ValidationError("--input - (stdin) can be given only once") }
        if let a = archive, let why = Archiver.checkName(a) { throw ValidationError("--archive \(a): \(why)") }
        if archive == nil && (archiveOptions.maxSize != nil || archiveOptions.removeAfterArchive) {
            throw ValidationError("--max-size and --remove-after-archive go with --archive PATH")
        }
    }

    var minSpeedBytes: Int? {
        parseSize(minSpeed).flatMap { $0 <= 1 << 40 ? Int($0) : nil }
    }

    func run() async throws {
        let key: APIKey
        switch connection.loadKey() {
        case .success(let k): key = k
        case .failure(let e): fail(e)
        }
        var wanted = ids
        for path in input {
            let text: String?
            if path == "-" {
                text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            } else {
                text = try? String(contentsOfFile: path, encoding: .utf8)
            }
            guard let text else { fail(CLIError(code: Exit.setup, "cannot read the id list \(path); check the path")) }
            wanted += VideoID.parseList(text)
        }
        if wanted.isEmpty && !all { fail(CLIError(code: Exit.setup, "the id lists hold no ids")) }
        do {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        } catch {
            fail(CLIError(code: Exit.setup, "cannot create the output folder \(output): \(error.localizedDescription)"))
        }
        guard access(output, W_OK) == 0 else {
            fail(CLIError(code: Exit.setup, "cannot write into the output folder \(output); check its permissions"))
        }
        let lock = lockFolder(output)
        defer { withExtendedLifetime(lock) {} }

        var api = connection.makeClient(key: key)
        api.connectTimeout = connectTimeout
        api.stallTimeout = stallTimeout
        var config = FetchConfiguration(outputDirectory: output, api: api)
        let retry = RetryPolicy(initialDelay: retryDelay, maxDelay: max(retryDelay, 60), maxRetries: retries)
        config.poll = PollPolicy(interval: pollInterval, maxInterval: maxPollInterval,
                                 maxWait: maxWait == 0 ? nil : maxWait, retry: retry)
        config.download.connectTimeout = connectTimeout
        config.download.stallTimeout = stallTimeout
        config.download.minSpeed = minSpeedBytes ?? 1
        config.download.maxTime = maxTime
        config.download.retry = retry
        config.jobs = jobs
        config.pollJobs = pollJobs

        let printer = EventPrinter(quiet: quiet, key: key)
        let redactor = printer
        LoggingSystem.bootstrap { label in
            var h = RedactingLogHandler(label: label, printer: redactor)
            h.logLevel = .debug
            return h
        }
        var logger = Logger(label: "lumenfall-fetch")
        logger.logLevel = verbose ? .debug : .warning
        let fetcher = Fetcher(config: config, logger: logger, events: { printer.print($0) })

        // --all: the listing is read page by page while the downloads run, never held whole.
        var sources: [IDSource] = [ArrayIDSource(wanted)]
        let listing = all ? ListingIDSource(
            cursor: ListCursor(api: api, since: since.flatMap { parseSince($0) }, pageSize: 100),
            maxItems: maxItems, keep: { $0.status != .failed && $0.status != .cancelled }) : nil
        if let listing { sources.append(listing) }
        let source = ChainedIDSource(sources)

        let started = Date()
        let signals = SignalTrap()
        let work = Task { await fetcher.run(source: source) }
        signals.install { _ in work.cancel() }
        let report = await work.value

        if let sig = signals.caught {
            printer.line("interrupted; partial downloads are kept and resume on the next run")
            Foundation.exit(sig == SIGINT ? Exit.sigint : Exit.sigterm)
        }
        let (summary, items) = report.summary(directory: output, elapsedSeconds: Date().timeIntervalSince(started))
        if let listing, !quiet {
            printer.line("the API listed \(listing.taken) videos to fetch\(listing.skipped > 0 ? " (\(listing.skipped) failed or cancelled skipped)" : "")\(maxItems.map { listing.taken >= $0 ? " (stopped at --max-items \($0))" : "" } ?? "")")
        }
        if let e = report.sourceFailure {
            let before = (listing?.taken ?? 0) > 0 ? "; the ids listed before it were fetched" : ""
            printer.line("error: \(describeListError(e, api: api))\(before)")
        }
        if all && report.outcomes.isEmpty && report.sourceFailure == nil && report.authenticationFailure == nil {
            printer.line("nothing to fetch")
        }
        printer.summary(summary)
        for (_, outcome) in report.outcomes {
            switch outcome {
            case .saved(let file, _, _), .alreadySaved(let file):
                print((output as NSString).appendingPathComponent(file))
            case .failed: break
            }
        }
        if let auth = report.authenticationFailure {
            fail(CLIError(code: Exit.apiKey, "\(auth): check the key in \(connection.apiKeyFile ?? "LUMENFALL_API_KEY")"), key: key)
        }
        if let path = archive {
            let archiver = Archiver(directory: output, path: path, maxSize: archiveOptions.maxBytes,
                                    verify: archiveOptions.removeAfterArchive, batch: summary)
            do {
                try runArchiver(archiver, items: items, remove: archiveOptions.removeAfterArchive) { printer.line($0) }
            } catch {
                printer.line("error: \(error); no archive was written")
                throw ExitCode(Exit.someFailed)
            }
        }
        if !report.allSucceeded { throw ExitCode(Exit.someFailed) }
    }

    private func fail(_ e: CLIError, key: APIKey? = nil) -> Never { exitWith(e, key: key) }
}
