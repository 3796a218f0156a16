import Foundation
import LumenfallCore

/// `watch` as one value a program (or a test) can start and stop: the webhook listener, the
/// journal's replay, the fetch pipeline fed by the queue, the sweep, and archive rotation. The
/// command parses flags and maps errors; everything that runs lives here.
///
/// Stopping is in order: the sweep and rotation end, the queue closes, the transfers are
/// cancelled (their `.part` and state stay, and the journal keeps their ids), and once the
/// pipeline has wound down the listener closes. A delivery that arrives meanwhile is still
/// journaled and answered, so it is fetched after the next start.
package final class WatchService: Sendable {
    package struct Options: Sendable {
        package var host = "127.0.0.1"
        package var port = 8787
        package var tls: WatchServer.TLS?
        package var limits = WatchServer.Limits()
        /// Each period's saved files into an archive (a local folder only).
        package var rotation: ArchiveRotation?
        /// DIR/index.html written again after each saved video (a local folder only).
        package var gallery = false
        package init() {}
    }

    package let watcher: Watcher
    package let server: WatchServer
    /// The ids accepted before the last stop and queued again at start.
    package let replayed: Int
    private let fetching: Task<FetchReport, Never>
    private let sweeping: Task<Void, Never>
    private let rotating: Task<Void, Never>?

    /// Listens, replays the journal and starts the pipeline. Throws when it cannot listen.
    package static func start(watcher: Watcher, fetch config: FetchConfiguration, options: Options) async throws -> WatchService {
        var config = config
        // A service: constant memory whatever it has saved, and repeats decided by the queue.
        config.keepOutcomes = false
        config.keepSavedIDs = false
        config.dedupLimit = 0
        let server = try await WatchServer.start(
            host: options.host, port: options.port, tls: options.tls, watcher: watcher, limits: options.limits)
        let replayed = watcher.replay()
        return WatchService(watcher: watcher, server: server, replayed: replayed, config: config, options: options)
    }

    /// `host:port` actually listened on (port 0 asks the system for one).
    package func address(host: String) -> String { "\(host):\(server.port)" }

    private init(watcher: Watcher, server: WatchServer, replayed: Int, config: FetchConfiguration, options: Options) {
        self.watcher = watcher
        self.server = server
        self.replayed = replayed
        let dir = config.outputDirectory
        let gallery = options.gallery
        let fetcher = Fetcher(
            config: config,
            events: { e in
                watcher.observe(e)
                if gallery, case .saved = e { _ = try? Gallery.write(directory: dir) }
            })
        fetching = Task { await fetcher.run(source: watcher.queue) }
        sweeping = Task {
            guard let every = watcher.settings.sweepInterval else { return }
            while !Task.isCancelled {
                await watcher.sweep()
                try? await Task.sleep(nanoseconds: UInt64(every * 1e9))
            }
        }
        rotating = options.rotation.map { rotation in
            Task {
                while !Task.isCancelled {
                    // Archiving reads whole files: off the cooperative pool.
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
                    try? await Task.sleep(nanoseconds: UInt64(max(1, wait) * 1e9))
                }
            }
        }
    }

    /// Begins the stop (from a signal handler too); `finished()` returns once it is done.
    package func stop() {
        sweeping.cancel()
        rotating?.cancel()
        watcher.queue.close()
        fetching.cancel()
    }

    /// Waits for the pipeline to end (after `stop()`, or a rejected key), then closes the
    /// listener. The report says whether the key was rejected.
    package func finished() async -> FetchReport {
        let report = await fetching.value
        sweeping.cancel()
        rotating?.cancel()
        await server.stop()
        return report
    }
}
