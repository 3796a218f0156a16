import ArgumentParser
import Foundation
import Logging
import LumenfallCore
import LumenfallCurl
import LumenfallWatch
import UnixSignals

struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Run as a service: save each video as its signed webhook arrives, and sweep the listing so none is missed.",
        discussion: """
            Listens for Lumenfall's video.completed webhooks (Standard Webhooks signatures) on \
            POST /webhooks/lumenfall, records each accepted id in DIR/.lumenfall-watch/journal \
            before answering, and fetches it with the same pipeline as fetch. Every --sweep it \
            lists the videos created since the last sweep and fetches the completed ones not \
            saved yet. GET /healthz and GET /metrics (Prometheus) are served too. SIGTERM stops \
            it within 10 s with transfers checkpointed; the next start resumes them.
            """)

    @OptionGroup(title: "Configuration") var configFile: ConfigOptions
    @Option(
        name: [.customShort("o"), .long],
        help: ArgumentHelp(
            "Output folder (created if missing), or s3://bucket/prefix/ shared with other replicas. (default: .)", valueName: "DIR"),
        transform: OutputTarget.parse)
    var output: OutputTarget = .folder(".")

    @Flag(name: [.short, .long], help: "Log only warnings and errors.")
    var quiet = false

    @OptionGroup(title: "Output") var preview: PreviewOptions

    @Flag(help: "Write DIR/index.html again after each saved video (see the gallery subcommand).")
    var gallery = false

    @Option(
        help: ArgumentHelp(
            "Address and port to listen on (loopback by default: put a TLS proxy in front, or give --tls-cert). (default: 127.0.0.1:8787)",
            valueName: "ADDR:PORT"),
        transform: ListenAddress.parse)
    var listen = ListenAddress(host: "127.0.0.1", port: 8787)

    @Option(
        help: ArgumentHelp(
            "Read the webhook secret(s) from this file instead of $LUMENFALL_WEBHOOK_SECRET; several (rotation) separated by spaces or lines.",
            valueName: "PATH"))
    var webhookSecretFile: String?

    @Option(help: ArgumentHelp("Serve https with this certificate chain (PEM); needs --tls-key.", valueName: "PATH"))
    var tlsCert: String?

    @Option(help: ArgumentHelp("The private key (PEM) for --tls-cert.", valueName: "PATH"))
    var tlsKey: String?

    @Option(
        help: ArgumentHelp(
            "How often to list recent videos and fetch completed ones not saved yet: 30s, 10m, 1h, or off.", valueName: "INTERVAL"))
    var sweep: Interval = Interval(600)

    @Option(help: ArgumentHelp("Each sweep looks this far before the last one's high-water mark.", valueName: "INTERVAL"))
    var sweepMargin: Interval = Interval(600)

    @Option(help: ArgumentHelp("The first sweep in DIR (no high-water mark yet) looks this far back.", valueName: "INTERVAL"))
    var firstSweep: Interval = Interval(86_400)

    @Option(
        help: ArgumentHelp(
            "Bundle each period's saved videos into ARCHIVE_DIR/<period>.tar.zst once the period is over: 1h, 1d, 7d (UTC-aligned).",
            valueName: "INTERVAL"))
    var archiveEvery: Interval?

    @Option(help: ArgumentHelp("Where --archive-every writes its archives (created if missing).", valueName: "DIR"))
    var archiveDir: String?

    @Flag(help: "With --archive-every: delete the archived videos and sidecars once their archive is written and verified.")
    var removeAfterArchive = false

    @OptionGroup(title: "Logging")
    var logging: LogOptions

    @Option(
        help: ArgumentHelp(
            "Write the address actually listened on (ADDR:PORT) to this file once listening: for scripts and port 0.", valueName: "PATH"))
    var addressFile: String?

    @Option(
        help: ArgumentHelp(
            "Connections open at once; at the cap the one idle longest makes room, and when all are inside a request a newcomer is closed (default: half the open-file limit, raised to its hard limit, at most 4096).",
            valueName: "N"))
    var maxConnections: Int?

    @OptionGroup(title: "S3") var endpoint: S3EndpointOption
    @OptionGroup(title: "S3") var s3Output: S3OutputOptions

    @OptionGroup(title: "Connection") var connection: ConnectionOptions
    @OptionGroup(title: "Polling") var polling: PollingOptions
    @OptionGroup(title: "Transfer") var transfer: TransferOptions

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        if case .s3 = output {
            if gallery || archiveEvery != nil {
                throw ValidationError("--gallery and --archive-every need a local folder: with -o s3:// the files leave the machine")
            }
        } else if s3Output.workDir != nil || endpoint.s3Endpoint != nil {
            throw ValidationError("--work-dir and --s3-endpoint go with -o s3://bucket/prefix/")
        }
        if let n = maxConnections, !(1...100_000).contains(n) { throw ValidationError("--max-connections must be 1-100000") }
        if (archiveEvery?.seconds != nil) != (archiveDir != nil) { throw ValidationError("--archive-every and --archive-dir go together") }
        if removeAfterArchive && archiveDir == nil {
            throw ValidationError("--remove-after-archive goes with --archive-every and --archive-dir")
        }
        if let p = archiveEvery?.seconds, p < 60 { throw ValidationError("--archive-every: at least 60s") }
    }

    func run() async throws {
        let key = try connection.loadKey()
        // -o s3://: each replica saves into its own work folder and stores into the bucket;
        // replicas sharing the prefix claim each id there, so one of them fetches it.
        // The service's own libcurl loop, shut down when it stops.
        let curl = CurlMulti()
        defer { curl.shutdown() }
        let opened = try await OpenedOutput.open(output, s3: s3Output, endpoint: endpoint, multi: curl)
        defer { withExtendedLifetime(opened.lock) {} }
        let dir = opened.folder
        let log = WatchLog(json: logging.logFormat == .json, quiet: quiet, redact: { key.redact($0) })
        // What the libraries log (the pipeline, the service group) in watch's own format.
        let libraryLine: @Sendable (Diagnostics.Level, String, [(String, String)]) -> Void = { level, message, fields in
            log.line(Watcher.Level(rawValue: level.rawValue) ?? .info, message, fields)
        }
        LoggingSystem.bootstrap { _ in StderrLogHandler(write: libraryLine) }
        let api = connection.makeClient(key: key, multi: curl)
        let secrets = try await loadSecrets(api: api, log: log)
        if secrets == nil && sweep.seconds == nil {
            throw CLIError(code: Exit.setup, "no webhook secret and --sweep off: nothing would ever be fetched")
        }

        let watcher: Watcher
        do {
            watcher = try Watcher(settings: watcherSettings(dir, secrets: secrets), api: api, log: { log.line($0, $1, $2) })
        } catch {
            throw CLIError(code: Exit.setup, "\(ErrorText.describe(error))")
        }
        let config = fetchConfiguration(dir, api: api, destination: opened.destination)
        let options = try serviceOptions(dir)

        // A service's stderr reader may go away (systemd ignores SIGPIPE for it anyway): a
        // log line must never end the process. Console drops what it cannot write.
        signal(SIGPIPE, SIG_IGN)
        // Trapped before the service listens (and before --address-file says so): a SIGTERM
        // sent as soon as it listens is a stop in order, never the default death.
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        let service: WatchService
        do {
            service = try await WatchService.start(watcher: watcher, fetch: config, options: options, logger: Logger(label: "watch"))
        } catch {
            throw CLIError(code: Exit.setup, "cannot listen on \(listen): \(ErrorText.describe(error))")
        }
        let address = service.address(host: listen.host) ?? "\(listen)"
        log.info(
            "listening",
            [
                ("address", address), ("tls", tlsCert == nil ? "no" : "yes"), ("webhooks", secrets == nil ? "off" : "on"),
                ("sweep", sweep.seconds.map { String(format: "%gs", $0) } ?? "off"),
                ("max_connections", "\(service.server?.maxConnections ?? 0)"), ("destination", opened.destination.description),
            ])
        if let addressFile { try? AtomicFile.write(Array((address + "\n").utf8), to: addressFile) }
        if service.replayed > 0 { log.info("resuming ids accepted before the last stop", [("count", "\(service.replayed)")]) }

        // SIGTERM/SIGINT: the service group stops its parts in order (see WatchService) and
        // run() returns; exit 0. A part that does not end escalates to cancellation after 8 s;
        // this timer is the last resort, so the process ends within 10 s whatever happens.
        let stopper = Task {
            for await sig in signals {
                log.info("stopping", [("signal", "\(sig)")])
                DispatchQueue.global().asyncAfter(deadline: .now() + 9.5) {
                    log.warning("still winding down after 9.5 s; exiting anyway", [])
                    SignalTrap.exitNow(0)
                }
                await service.stop()
                return
            }
        }
        let report = await service.run()
        stopper.cancel()
        if let auth = report?.authenticationFailure {
            throw CLIError(code: Exit.apiKey, "\(auth): check the key in \(connection.keySource)", redacting: key)
        }
        log.info("stopped", [("pending", "\(watcher.journal.pending.count)")])
    }

    func watcherSettings(_ dir: String, secrets: [WebhookSecret]?) -> Watcher.Settings {
        var settings = Watcher.Settings(directory: dir)
        settings.verifier = secrets.map { WebhookVerifier(secrets: $0) }
        settings.sweepInterval = sweep.seconds
        settings.sweepMargin = sweepMargin.seconds ?? 0
        settings.firstSweepWindow = firstSweep.seconds ?? 86_400
        return settings
    }

    func fetchConfiguration(_ dir: String, api: APIClient, destination: any Destination) -> FetchConfiguration {
        var config = FetchConfiguration(outputDirectory: dir, api: api)
        transfer.apply(to: &config)
        config.previews = preview.previews
        config.poll = polling.policy(retry: transfer.retryPolicy)
        config.pollJobs = polling.pollJobs
        // A service waits out any outage of the API: the journal keeps what is pending.
        config.apiHealth = APIHealthPolicy(firstContact: nil, outage: nil)
        config.destination = destination
        config.names = NameIndex(directory: dir)  // files a fetch --name saved are found by id
        return config
    }

    func serviceOptions(_ dir: String) throws -> WatchService.Options {
        var options = WatchService.Options()
        options.host = listen.host
        options.port = listen.port
        options.tls = tlsCert.flatMap { c in tlsKey.map { WatchServer.TLS(certificateFile: c, keyFile: $0) } }
        options.limits.maxConnections = maxConnections
        options.gallery = gallery
        if let archiveDir, let period = archiveEvery?.seconds {
            do {
                try AtomicFile.makeDirectories(archiveDir)
            } catch {
                throw CLIError(code: Exit.setup, "cannot create the archive folder \(archiveDir): \(ErrorText.describe(error))")
            }
            options.rotation = ArchiveRotation(
                folder: dir, archiveDirectory: archiveDir, period: period, removeAfterArchive: removeAfterArchive)
        }
        return options
    }

    /// The secret: the environment, a file, else Lumenfall's endpoint; without one, webhooks
    /// are refused (503) and the sweep alone runs.
    private func loadSecrets(api: APIClient, log: WatchLog) async throws -> [WebhookSecret]? {
        if let file = webhookSecretFile {
            guard let bytes = SecretFile.read(file) else {
                throw CLIError(
                    code: Exit.setup,
                    "cannot read the webhook secret file \(file): it must be a readable regular file under 64 KiB; check the path")
            }
            guard let s = WebhookSecret.list(String(decoding: bytes, as: UTF8.self)) else {
                throw CLIError(code: Exit.setup, "\(file) holds no usable webhook secret (expected whsec_ followed by base64)")
            }
            SecretFile.warnIfExposed(file, what: "webhook secret")
            return s
        }
        if let env = ProcessInfo.processInfo.environment["LUMENFALL_WEBHOOK_SECRET"], !env.isEmpty {
            guard let s = WebhookSecret.list(env) else {
                throw CLIError(
                    code: Exit.setup, "LUMENFALL_WEBHOOK_SECRET holds no usable webhook secret (expected whsec_ followed by base64)")
            }
            return s
        }
        do {
            let s = WebhookSecret.list(try await api.webhookSecret())
            log.info("webhook secret fetched from the API", [("url", api.webhookSecretURL)])
            return s
        } catch {
            log.warning(
                "no webhook secret (set LUMENFALL_WEBHOOK_SECRET or --webhook-secret-file; the API did not give one): webhooks are refused, the sweep alone runs",
                [("error", "\(ErrorText.describe(error))")])
            return nil
        }
    }
}
