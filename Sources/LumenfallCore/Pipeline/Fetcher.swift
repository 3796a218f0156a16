import Foundation
import Logging

/// The pipeline for a batch: per id, poll → download → sidecar, `jobs` ids at a time. Each id
/// is independent; only a rejected key (true for every id) stops the others.
public struct Fetcher: Sendable {
    public let config: FetchConfiguration
    let logger: Logger
    let emit: @Sendable (FetchEvent) -> Void

    public init(
        config: FetchConfiguration, logger: Logger = Logger(label: "lumenfall-fetch"),
        events: @escaping @Sendable (FetchEvent) -> Void = { _ in }
    ) {
        self.config = config
        self.logger = logger
        self.emit = events
    }

    public func run(_ ids: [String]) async -> FetchReport {
        await run(source: ArrayIDSource(ids))
    }

    /// Ids are pulled from `source` only while fewer than `window` are in flight, so a listing
    /// that never ends is consumed as downloads finish (downloads start while it goes on) and
    /// never held whole. Each outcome goes into the report's tally as it arrives; per-id
    /// outcomes are kept (in arrival order) only with `config.keepOutcomes`, so memory stays
    /// bounded by the work in flight, whatever the batch.
    public func run(source: IDSource) async -> FetchReport {
        var recent = RecentIDs(limit: config.dedupLimit)
        var sourceFailure: Error?
        var queuedCount = 0
        let window = max(config.window, config.jobs + config.pollJobs)
        let ledger = Ledger(keepOutcomes: config.keepOutcomes, keepSavedIDs: config.keepSavedIDs)
        let context = RunContext(
            polls: Slots(config.pollJobs), folderSync: DirectorySync(directory: config.outputDirectory),
            health: APIHealth(policy: config.apiHealth))
        let inFlight = Slots(window)
        let queue = DownloadQueue()
        // Two stages: a short task per id polls it (with a poll slot), then hands its video
        // to `queue`; `jobs` workers take the link that dies first and download it. A
        // discarding group frees each task the moment it ends, and an id waiting for a
        // worker is an entry in the queue's heap, not a suspended task: memory follows the
        // work, not the look-ahead (`window` ids in flight).
        do {
            try await withThrowingDiscardingTaskGroup { group in
                for _ in 0..<max(1, config.jobs) {
                    group.addTask {
                        while let e = await queue.pop() {
                            let finished = report(e.id, await downloadAndSave(e.id, video: e.video, context))
                            let stop = ledger.finish(e.index, e.id, finished)
                            await inFlight.release()
                            // A rejected key stops the run: the group cancels every other id.
                            if stop { throw KeyRejected() }
                        }
                    }
                }
                while !group.isCancelled, !Task.isCancelled {
                    let next: String?
                    do {
                        next = try await source.next()
                    } catch let e as APIError {
                        if case .http(401, _, let m, _) = e {
                            ledger.keyRejected("the API rejected the key (HTTP 401\(m.map { ": \($0)" } ?? ""))")
                        } else {
                            sourceFailure = e
                        }
                        break
                    } catch is CancellationError {
                        break  // interrupted while listing
                    } catch {
                        sourceFailure = error
                        break
                    }
                    guard let id = next else {
                        emit(.inputEnded(ids: queuedCount))
                        break
                    }
                    // Each id once per run, however often it is given or listed: never two
                    // tasks on one id (they would share its .part), and repeats within the
                    // last `dedupLimit` ids are dropped.
                    // (`dedupLimit` 0: no memory of repeats, for `watch`, whose own queue offers an
                    // id again only when it is worth another try.)
                    guard !ledger.isInFlight(id), config.dedupLimit == 0 || recent.insert(id) else { continue }
                    // An id gets its task only with a place in the window and a poll slot in
                    // hand: an id waiting to be polled is a string, not a suspended task.
                    do {
                        try await inFlight.acquire()
                        do {
                            try await context.polls.acquire()
                        } catch {
                            await inFlight.release()
                            throw error
                        }
                    } catch {
                        break  // cancelled
                    }
                    let i = ledger.start(id)
                    queuedCount += 1
                    emit(.queued(id: id))
                    await queue.producerStarted()
                    group.addTask {
                        switch await prepare(id, context) {
                        case .ready(let video):
                            // The link that dies first is downloaded first.
                            await queue.push(
                                .init(id: id, index: i, video: video), key: video.expiresAt?.timeIntervalSince1970 ?? .infinity)
                            if let at = video.expiresAt { emit(.linkExpiry(id: id, expiresAt: at)) }
                        case .finished(let finished):
                            await queue.producerEnded()
                            let stop = ledger.finish(i, id, report(id, finished))
                            await inFlight.release()
                            if stop { throw KeyRejected() }
                        }
                    }
                }
                await queue.close()
            }
        } catch {
            // KeyRejected (recorded in the ledger) or a cancellation: nothing more to do.
        }
        return ledger.report(sourceFailure: sourceFailure)
    }

    private struct KeyRejected: Error {}

    /// One id's end: its outcome, and for a video on disk the facts the tally needs (known
    /// here already, so the sidecar is not read again).
    struct Finished: Sendable {
        var outcome: IDOutcome
        var saved: SavedFacts?
    }

    /// Prints an id's end (a saved id was printed when its folder fsync was done).
    func report(_ id: String, _ finished: Finished) -> Finished {
        switch finished.outcome {
        case .failed(let f): emit(.failed(id: id, f))
        case .alreadySaved(let file): emit(.alreadySaved(id: id, file: file))
        case .elsewhere(let holder): emit(.claimedElsewhere(id: id, holder: holder))
        case .saved: break
        }
        return finished
    }

    enum Prepared: Sendable {
        /// Completed: the video object, for a download worker.
        case ready(VideoObject)
        /// Nothing to download: invalid, already saved, failed or interrupted.
        case finished(Finished)
    }

    /// Everything before the download, holding a poll slot that it gives back: an invalid id
    /// stops here; an id whose sidecar and video are on disk needs no request (the same test
    /// decides what `archive` takes); any other is polled until it completes.
    func prepare(_ id: String, _ context: RunContext) async -> Prepared {
        if let why = VideoID.problem(with: id) {
            await context.polls.release()
            return .finished(Finished(outcome: .failed(FetchFailure(kind: .invalidID, message: "invalid id: \(why); skipped"))))
        }
        // Saved in the work folder, with every preview asked for on disk or known to be missing
        // on the server: the destination takes it (a folder keeps it where it is: already
        // saved; a store uploads what an earlier run saved and could not send).
        if let done = try? ArchiveItem.load(directory: config.outputDirectory, id: stem(id)), done.hasSettled(config.previews) {
            await context.polls.release()
            logger.debug("already saved", metadata: ["id": "\(id)", "stage": "check", "file": "\(done.videoFile)"])
            return .finished(await store(id, done, context))
        }
        let destination = config.destination
        do {
            if let file = try await destination.storedVideo(id) {
                await context.polls.release()
                return .finished(Finished(outcome: .alreadySaved(file: file), saved: nil))
            }
            // Several workers on one destination: only the one holding the claim fetches.
            if case .heldBy(let holder) = try await destination.claim(id) {
                await context.polls.release()
                return .finished(Finished(outcome: .elsewhere(holder: holder), saved: nil))
            }
            // Another worker may have stored the id and dropped its claim between our look and
            // our claim: looked at again under the claim, it is not fetched a second time.
            if let file = try await destination.storedVideo(id) {
                await destination.release(id)
                await context.polls.release()
                return .finished(Finished(outcome: .alreadySaved(file: file), saved: nil))
            }
        } catch {
            await context.polls.release()
            return .finished(Finished(outcome: .failed(FetchFailure(kind: .storage, message: "\(ErrorText.describe(error))"))))
        }
        let polled = await context.guarded { try await pollUntilCompleted(id, health: context.health) }
        await context.polls.release()
        do {
            let video = try polled.get()
            return .ready(video)
        } catch {
            // A claim taken for an id that will not be fetched here goes at once.
            await config.destination.release(id)
            return .finished(Finished(outcome: .failed(failure(id, error))))
        }
    }

    /// Downloads a completed id, writes its sidecar, waits for the folder's fsync.
    func downloadAndSave(_ id: String, video: VideoObject, _ context: RunContext) async -> Finished {
        let finished = await downloadAndSaveLocally(id, video: video, context)
        // A claim taken for this id goes whatever happened (stored, or failed here: another
        // worker may try it, or this one on its next run).
        if case .failed = finished.outcome { await config.destination.release(id) }
        return finished
    }

    private func downloadAndSaveLocally(_ id: String, video: VideoObject, _ context: RunContext) async -> Finished {
        let dir = config.outputDirectory
        do {
            let stem = try fileStem(id, video)
            // A video saved by an earlier run that lacks a preview asked for now: its bytes and
            // facts stand, only the previews are fetched.
            let earlier = try? ArchiveItem.load(directory: dir, id: stem, checkAssets: false)
            let facts: Sidecar.Download
            var assets: [String: Sidecar.Asset] = [:]
            if let earlier, let contents = Sidecar.read(earlier.sidecar) {
                facts = contents.download
                for a in earlier.assets { assets[a.name] = contents.assets[a.name] }
                for n in earlier.unavailableAssets { assets[n] = contents.assets[n] }
            } else {
                let result = try await context.guarded { try await download(id, stem: stem, video: video, context) }.get()
                facts = Sidecar.Download(result, at: Date())
            }
            for name in config.previews where assets[name] == nil {
                do {
                    let r = try await context.guarded { try await download(id, stem: stem, video: video, context, preview: name) }.get()
                    assets[name] = .saved(r)
                    emit(.assetSaved(id: id, name: name, file: r.file.name, bytes: r.bytes))
                } catch DownloadError.notOffered(let why) {
                    assets[name] = .missing("the server has no \(name) for this video (\(why))")
                    emit(.assetUnavailable(id: id, name: name, reason: why))
                } catch let e as DownloadError {
                    // A preview that cannot be had for good (a redirect to file:// or another
                    // refused place, an answer no retry changes) is a note: failing the id
                    // would leave the paid-for video without its sidecar on every rerun.
                    // Link expiry and --max-time still fail the id, to be tried again.
                    switch e {
                    case .failed(let failure):
                        let why = failure.sentence
                        assets[name] = .missing("the \(name) could not be fetched (\(why))")
                        emit(.assetUnavailable(id: id, name: name, reason: why))
                    case .denied(let status, let host):
                        let why = "\(host) answered HTTP \(status)"
                        assets[name] = .missing("the \(name) could not be fetched (\(why))")
                        emit(.assetUnavailable(id: id, name: name, reason: why))
                    default:
                        throw e
                    }
                }
            }
            let sidecar = Sidecar.render(video: video, facts: facts, assets: assets, redacting: config.api.key)
            do {
                try await BlockingIO.run {
                    try AtomicFile.write(sidecar, to: MediaFile.sidecarPath(directory: dir, id: stem), syncDirectory: false)
                }
            } catch {
                throw DownloadError.disk("\(ErrorText.describe(error))")
            }
            // The renames (video, previews, sidecar) become durable with one folder fsync,
            // shared with every id that finished meanwhile; only then is the id saved.
            await context.folderSync.sync()
            guard let item = try? ArchiveItem.load(directory: dir, id: stem) else {
                throw DownloadError.disk("\(id) is not whole in \(dir) after saving it")
            }
            return await store(id, item, context, fresh: true, cost: video.cost, currency: video.currency)
        } catch {
            return Finished(outcome: .failed(failure(id, error)))
        }
    }

    /// Hands a saved id to the destination. Saved now (`fresh`) or moved by the destination,
    /// the id is reported saved; kept where an earlier run saved it, already saved. A failure
    /// leaves the files in the work folder for the next run.
    func store(
        _ id: String, _ item: ArchiveItem, _ context: RunContext, fresh: Bool = false,
        cost: Double? = nil, currency: String? = nil
    ) async -> Finished {
        let destination = config.destination
        let result: StoreResult
        do {
            result = try await destination.store(id, directory: config.outputDirectory)
        } catch is CancellationError {
            return Finished(
                outcome: .failed(
                    FetchFailure(kind: .stopped, message: "interrupted; the files stay in the work folder and go up on the next run")))
        } catch {
            return Finished(
                outcome: .failed(
                    FetchFailure(
                        kind: .storage,
                        message:
                            "storing in \(destination) failed: \(ErrorText.describe(error)); the files stay in \(config.outputDirectory) and go up on the next run"
                    )))
        }
        let c = cost ?? item.cost
        let cur = currency ?? item.currency
        if result == .kept && !fresh {
            return Finished(
                outcome: .alreadySaved(file: item.videoFile), saved: SavedFacts(bytes: item.videoBytes, cost: c, currency: cur))
        }
        emit(.saved(id: id, file: item.videoFile, bytes: item.videoBytes, sha256: item.videoSHA256, cost: c, currency: cur))
        return Finished(
            outcome: .saved(file: item.videoFile, bytes: item.videoBytes, sha256: item.videoSHA256),
            saved: SavedFacts(bytes: item.videoBytes, cost: c, currency: cur))
    }

    /// The stem of an id's files (`<stem>.<ext>`, `<stem>.json`): the one the folder's name index
    /// has for it, else what `--name` makes of the video (recorded before any byte is written,
    /// so a rerun finds the `.part`), else the id.
    func fileStem(_ id: String, _ video: VideoObject) throws -> String {
        guard let names = config.names else { return id }
        if let s = names.stem(for: id) { return s }
        guard let template = config.naming else { return id }
        do {
            return try names.assign(id, wanted: template.render(video))
        } catch {
            throw DownloadError.disk(ErrorText.describe(error))
        }
    }

    /// The stem an id's files have now (before the video object is known): by the index, else the id.
    func stem(_ id: String) -> String { config.names?.stem(for: id) ?? id }

    /// The video, or with `preview` one of its previews (`<stem>.<preview>.<ext>`, one connection).
    private func download(
        _ id: String, stem: String, video: VideoObject, _ context: RunContext, preview: String? = nil
    ) async throws -> DownloadResult {
        let dir = config.outputDirectory
        let started = Date()
        let warned = Flag()  // once per id, not once per resume
        let variant = preview.map { PreviewVariant(videoID: id, name: $0) }
        var downloader = Downloader(
            directory: dir, id: preview.map { "\(stem).\($0)" } ?? stem, settings: config.download, api: config.api,
            random: config.random, logger: logger,
            events: { [emit] event in
                // A preview's start and progress would read as the video's (same id, a tiny
                // total): only its retries and restarts are said; `assetSaved` ends it.
                if variant != nil {
                    switch event {
                    case .retrying, .restarting, .refreshingURL, .stateSetAside: emit(.download(id: id, event))
                    default: break
                    }
                    return
                }
                emit(.download(id: id, event))
                if case let .receiving(offset, total?) = event, let expires = video.expiresAt,
                    let rate = context.meter.rate, !warned.isSet
                {
                    let need = Double(total - offset) / rate
                    if Date().addingTimeInterval(need) > expires {
                        warned.set()
                        emit(.expiryAtRisk(id: id, expiresAt: expires, remainingBytes: total - offset, neededSeconds: need))
                    }
                }
            })
        downloader.preview = variant
        let result = try await downloader.run(video: video, refresh: { try await pollUntilCompleted(id, health: context.health) })
        context.meter.record(bytes: result.transferred, seconds: Date().timeIntervalSince(started))
        return result
    }
}
