import Foundation
import Logging
import LumenfallCore
import ServiceLifecycle
import Synchronization

/// `watch` as one value a program (or a test) can start and stop: the webhook listener, the
/// journal's replay, the fetch pipeline fed by the queue, the sweep, and archive rotation. The
/// command parses flags and maps errors; everything that runs lives here.
///
/// Its parts are swift-service-lifecycle services in one `ServiceGroup`, stopped in order (see
/// `init`).
public final class WatchService: Sendable {
    public struct Options: Sendable {
        /// false: no listener of its own. An app that has an HTTP server routes
        /// `POST /webhooks/lumenfall` to `Watcher.receive(headers:body:)` instead.
        public var listen = true
        public var host = "127.0.0.1"
        public var port = 8787
        public var tls: WatchServer.TLS?
        public var limits = WatchServer.Limits()
        /// Each period's saved files into an archive (a local folder only).
        package var rotation: ArchiveRotation?
        /// DIR/index.html written again after each saved video (a local folder only).
        package var gallery = false
        public init() {}
    }

    public let watcher: Watcher
    /// nil without a listener (`Options.listen` false).
    package let server: WatchServer?
    /// The ids accepted before the last stop and queued again at start.
    public let replayed: Int
    private let group: ServiceGroup
    private let pipeline: Pipeline

    /// Listens and replays the journal; `run()` then runs it. Throws when it cannot listen.
    public static func start(
        watcher: Watcher, fetch config: FetchConfiguration, options: Options, logger: Logger = Logger(label: "lumenfall-watch")
    ) async throws -> WatchService {
        var config = config
        // A service: constant memory whatever it has saved, and repeats decided by the queue.
        config.keepOutcomes = false
        config.keepSavedIDs = false
        config.dedupLimit = 0
        let server =
            options.listen
            ? try await WatchServer.start(
                host: options.host, port: options.port, tls: options.tls, watcher: watcher, limits: options.limits) : nil
        let replayed = watcher.replay()
        return WatchService(watcher: watcher, server: server, replayed: replayed, config: config, options: options, logger: logger)
    }

    /// `host:port` actually listened on (port 0 asks the system for one); nil without a listener.
    public func address(host: String) -> String? { server.map { "\(host):\($0.port)" } }

    private init(
        watcher: Watcher, server: WatchServer?, replayed: Int, config: FetchConfiguration, options: Options, logger: Logger
    ) {
        self.watcher = watcher
        self.server = server
        self.replayed = replayed
        let dir = config.outputDirectory
        let gallery = options.gallery
        let fetcher = Fetcher(
            config: config,
            events: { e in
                watcher.observe(e)
                // A rejected key ends the run; the run's loop may be waiting for the queue's
                // next id (for minutes), so the queue closes now and the run, then the
                // service, ends at once.
                if case .failed(_, let f) = e, f.kind == .authentication { watcher.queue.close() }
                if gallery, case .saved = e { _ = try? Gallery.write(directory: dir) }
            })
        pipeline = Pipeline(fetcher: fetcher, watcher: watcher)
        // swift-service-lifecycle shuts a group down one service at a time, last first: archive
        // rotation and the sweep end, then the pipeline (its queue closes and its transfers are
        // cancelled: each .part and its state stay, the journal keeps their ids), and the
        // listener last, so a delivery that comes during the wind-down is still journaled and
        // answered, and fetched after the next start.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let server { services.append(.init(service: Listener(server: server), serviceName: "listener")) }
        services += [
            // A pipeline that ends on its own (a rejected key) stops the whole service.
            .init(
                service: pipeline, successTerminationBehavior: .gracefullyShutdownGroup,
                failureTerminationBehavior: .gracefullyShutdownGroup, serviceName: "pipeline"),
            .init(service: Sweep(watcher: watcher), serviceName: "sweep"),
        ]
        if let rotation = options.rotation {
            services.append(
                .init(service: Rotation(rotation: rotation, watcher: watcher, gallery: gallery, dir: dir), serviceName: "rotation"))
        }
        var configuration = ServiceGroupConfiguration(services: services, logger: logger)
        // A service that does not end within this escalates to cancellation, which each of
        // ours honours. The library's next step (a fatalError after maximumCancellationDuration)
        // is left unset: a crash is no way for a service to end (the command keeps its own
        // last-resort exit 0; the journal is durable on every accept).
        configuration.maximumGracefulShutdownDuration = .seconds(8)
        group = ServiceGroup(configuration: configuration)
    }

    /// Runs until `stop()` or a rejected key. The report says whether the key was rejected.
    public func run() async -> FetchReport? {
        do {
            try await group.run()
        } catch {
            watcher.log(.warning, "a part of the service failed while stopping", [("error", ErrorText.describe(error))])
        }
        return pipeline.report.withLock { $0 }
    }

    /// Begins the stop, in the order above; `run()` returns once it is done.
    public func stop() async {
        await group.triggerGracefulShutdown()
    }
}

/// The webhook listener: up until the group stops, then closed (last, see above).
private struct Listener: Service {
    let server: WatchServer
    func run() async throws {
        try? await gracefulShutdown()
        await server.stop()
    }
}

/// The fetch pipeline fed by the journal's queue.
private final class Pipeline: Service, Sendable {
    let fetcher: Fetcher
    let watcher: Watcher
    let report = Mutex<FetchReport?>(nil)
    init(fetcher: Fetcher, watcher: Watcher) {
        self.fetcher = fetcher
        self.watcher = watcher
    }
    func run() async throws {
        let queue = watcher.queue
        let result = await withGracefulShutdownHandler {
            // Cancelled on shutdown: transfers checkpoint and stop, waiting polls end.
            await cancelWhenGracefulShutdown { [fetcher] in await fetcher.run(source: queue) }
        } onGracefulShutdown: {
            queue.close()
        }
        report.withLock { $0 = result }
    }
}

/// The periodic sweep of the listing (`--sweep`): a sweep under way is cancelled on shutdown.
private struct Sweep: Service {
    let watcher: Watcher
    func run() async throws {
        guard let every = watcher.settings.sweepInterval else { return try await gracefulShutdown() }
        try? await cancelWhenGracefulShutdown { [watcher] in
            while !Task.isCancelled {
                await watcher.sweep()
                try await Task.sleep(nanoseconds: UInt64(every * 1e9))
            }
        }
    }
}

/// Each period's saved files into an archive (`--archive-every`).
private struct Rotation: Service {
    let rotation: ArchiveRotation
    let watcher: Watcher
    let gallery: Bool
    let dir: String
    func run() async throws {
        try? await cancelWhenGracefulShutdown { [rotation, watcher, gallery, dir] in
            while !Task.isCancelled {
                // Archiving reads whole files: off the cooperative pool. A rotation under way
                // finishes (its commit is all or nothing) before the service ends.
                let result: Result<[ArchiveRotation.Written], Error> = await withCheckedContinuation { c in
                    DispatchQueue.global().async { c.resume(returning: Result { try rotation.run() }) }
                }
                switch result {
                case .success(let written):
                    for w in written { watcher.log(.info, "archived", [("path", w.path), ("videos", "\(w.videos)")]) }
                    if gallery && rotation.removeAfterArchive && !written.isEmpty { _ = try? Gallery.write(directory: dir) }
                case .failure(let e):
                    watcher.log(.warning, "archive rotation failed; tried again at the next period", [("error", ErrorText.describe(e))])
                }
                let wait = rotation.nextBoundary(after: Date()).timeIntervalSinceNow + 2
                try await Task.sleep(nanoseconds: UInt64(max(1, wait) * 1e9))
            }
        }
    }
}
