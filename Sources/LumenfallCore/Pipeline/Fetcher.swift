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
        // A server may echo what it was sent: no text from it reaches an app's events with
        // the key in it (the command redacts again as it prints; an embedding app need not).
        let key = config.api.key
        self.emit = { events($0.redacted(by: key)) }
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
        let folder = try? await BlockingIO.run { [dir = config.outputDirectory] () -> FolderIndex? in
            // An app that embeds the library need not make the folder first (the command
            // does, to lock it); one that cannot be made fails each id with its reason.
            try? AtomicFile.makeDirectories(dir)
            let index = FolderIndex(directory: dir)
            index?.removeStaleSidecarTemps()
            return index
        }
        let context = RunContext(
            polls: Slots(config.pollJobs), stores: Slots(config.jobs), folder: folder,
            health: APIHealth(policy: config.apiHealth))
        let inFlight = Slots(window)
        let queue = DownloadQueue()
        let saves = SaveQueue(workers: max(1, config.jobs))
        // Three stages: a short task per id polls it (with a poll slot), then hands its video
        // to `queue`; `jobs` workers take the link that dies first, download it and write its
        // files, then hand it to `saves` and go on; one saver makes whatever has gathered
        // durable as a group (GroupCommit) and only then reports those ids saved. A
        // discarding group frees each task the moment it ends, and an id waiting for a
        // worker or for its commit is an entry in a queue, not a suspended task: memory
        // follows the work, not the look-ahead (`window` ids in flight).
        do {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { await saveInGroups(saves, ledger: ledger, inFlight: inFlight, context) }
                for _ in 0..<max(1, config.jobs) {
                    group.addTask {
                        defer { saves.workerEnded() }
                        while let e = await queue.pop() {
                            switch await downloadAndStage(e.id, index: e.index, video: e.video, context) {
                            case .staged(let staged):
                                saves.push(staged)
                            case .finished(let f):
                                let stop = ledger.finish(e.index, e.id, report(e.id, f))
                                await inFlight.release()
                                // A rejected key stops the run: the group cancels every other id.
                                if stop { throw KeyRejected() }
                            }
                        }
                    }
                }
                while !group.isCancelled, !Task.isCancelled {
                    let next: String?
                    do {
                        next = try await source.next()
                    } catch let e as APIError {
                        if case .http(401, _, let m, _) = e {
                            ledger.keyRejected(config.api.key.redact("the API rejected the key (HTTP 401\(m.map { ": \($0)" } ?? ""))"))
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
                    // A listing's object of the id (nil for ids given by name).
                    let known = source.lastVideo.flatMap { $0.id == id ? $0 : nil }
                    queuedCount += 1
                    emit(.queued(id: id))
                    await queue.producerStarted()
                    group.addTask {
                        switch await prepare(id, known: known, context) {
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
        var finished = finished
        switch finished.outcome {
        case .failed(let f):
            // The report's failures (the tally, the closing list) are redacted like the events.
            let f = FetchFailure(kind: f.kind, message: config.api.key.redact(f.message))
            finished.outcome = .failed(f)
            emit(.failed(id: id, f))
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
    func prepare(_ id: String, known: VideoObject? = nil, _ context: RunContext) async -> Prepared {
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
            return .finished(await store(id, SavedVideo(done), context))
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
        let polled = await context.guarded { try await pollUntilCompleted(id, health: context.health, known: known) }
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

    /// An id whose files are written, whole and checked, but still under the names a power
    /// cut may take (`.part`, the sidecar's temp): its group's commit makes them final.
    struct Staged: Sendable {
        let id: String
        let index: Int
        let stem: String
        let renames: [GroupCommit.Rename]
        /// What its sidecar says of the video, for the report: nothing is read back.
        let video: SavedVideo
    }

    /// The facts a saved id is reported with.
    struct SavedVideo: Sendable {
        var file: String
        var bytes: Int64
        var sha256: String
        var cost: Double?
        var currency: String?
    }

    enum Downloaded: Sendable {
        case staged(Staged)
        case finished(Finished)
    }

    /// Downloads a completed id (and the previews asked for) and writes its sidecar, all under
    /// names still to be committed; or how it failed (its claim then goes: another worker may
    /// try it, or this one on its next run).
    func downloadAndStage(_ id: String, index: Int, video: VideoObject, _ context: RunContext) async -> Downloaded {
        let dir = config.outputDirectory
        do {
            let stem = try fileStem(id, video)
            // A video saved by an earlier run that lacks a preview asked for now: its bytes and
            // facts stand, only the previews are fetched.
            let earlier = try? ArchiveItem.load(directory: dir, id: stem, checkAssets: false)
            let facts: Sidecar.Download
            var assets: [String: Sidecar.Asset] = [:]
            var renames: [GroupCommit.Rename] = []
            if let earlier, let contents = Sidecar.read(earlier.sidecar) {
                facts = contents.download
                for a in earlier.assets { assets[a.name] = contents.assets[a.name] }
                for n in earlier.unavailableAssets { assets[n] = contents.assets[n] }
            } else {
                let result = try await context.guarded { try await download(id, stem: stem, video: video, context) }.get()
                facts = Sidecar.Download(result, at: Date())
                renames.append(result.file.finalRename)
            }
            for name in config.previews where assets[name] == nil {
                do {
                    let r = try await context.guarded { try await download(id, stem: stem, video: video, context, preview: name) }.get()
                    renames.append(r.file.finalRename)
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
            let path = MediaFile.sidecarPath(directory: dir, id: stem)
            do {
                let temp = try await BlockingIO.run { try AtomicFile.writeTemp(sidecar, beside: path) }
                // Last: a video with its sidecar is a saved id, so the sidecar is named after
                // the files it describes.
                renames.append(GroupCommit.Rename(from: temp, to: path))
            } catch {
                throw DownloadError.disk("\(ErrorText.describe(error))")
            }
            let saved = SavedVideo(file: facts.file, bytes: facts.bytes, sha256: facts.sha256, cost: video.cost, currency: video.currency)
            return .staged(Staged(id: id, index: index, stem: stem, renames: renames, video: saved))
        } catch {
            await config.destination.release(id)
            return .finished(Finished(outcome: .failed(failure(id, error))))
        }
    }

    /// The saver: takes every id whose files are written (at most `groupLimit` at a time),
    /// commits them as one group, then hands each to the destination and reports it. Ends when
    /// the download workers have all ended and every id they handed on is reported.
    func saveInGroups(_ saves: SaveQueue, ledger: Ledger, inFlight: Slots, _ context: RunContext) async {
        let commits = GroupCommit()
        await withDiscardingTaskGroup { stores in
            while let group = await saves.next(limit: Self.groupLimit) {
                // Not cancellable: files already written are made durable (or left as `.part`
                // files for the next run) whatever else is stopping.
                let results =
                    (try? await BlockingIO.run { commits.commit(group.map(\.renames)) })
                    ?? group.map { _ in DownloadError.disk("the output folder could not be synced") }
                for (staged, error) in zip(group, results) {
                    stores.addTask {
                        let finished = await saveCommitted(staged, error: error, context)
                        _ = ledger.finish(staged.index, staged.id, report(staged.id, finished))
                        await inFlight.release()
                    }
                }
            }
        }
    }

    /// Ids in one group commit at most: enough that a batch of small files pays a barrier per
    /// hundreds of files, few enough that the first of them is not kept waiting long.
    static let groupLimit = 256

    /// A committed id goes to the destination (`jobs` at a time: an upload is work); one
    /// whose commit failed keeps its `.part` files for the next run.
    private func saveCommitted(_ staged: Staged, error: Error?, _ context: RunContext) async -> Finished {
        let id = staged.id
        if let error {
            // The sidecar's temp is not worth keeping: it is written again with the video. The
            // `.part` files stay (or a video without its sidecar): looked for when tried again.
            if let temp = staged.renames.last?.from, !temp.hasSuffix(".part") { unlink(temp) }
            for s in [nil] + config.previews.map(Optional.some) { context.folder?.mark(Self.fileStem(staged.stem, preview: s)) }
            await config.destination.release(id)
            return Finished(outcome: .failed(failure(id, DownloadError.disk("\(ErrorText.describe(error))"))))
        }
        // A stop (Ctrl-C) while waiting for a store slot still stores: a folder keeps the files
        // at once, and an upload sees the cancellation itself and says so.
        let held = (try? await context.stores.acquire()) != nil
        let finished = await store(id, staged.video, context, fresh: true)
        if held { await context.stores.release() }
        if case .failed = finished.outcome { await config.destination.release(id) }
        return finished
    }

    /// Hands a saved id to the destination. Saved now (`fresh`) or moved by the destination,
    /// the id is reported saved; kept where an earlier run saved it, already saved. A failure
    /// leaves the files in the work folder for the next run.
    func store(_ id: String, _ video: SavedVideo, _ context: RunContext, fresh: Bool = false) async -> Finished {
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
        let facts = SavedFacts(bytes: video.bytes, cost: video.cost, currency: video.currency)
        if result == .kept && !fresh {
            return Finished(outcome: .alreadySaved(file: video.file), saved: facts)
        }
        emit(.saved(id: id, file: video.file, bytes: video.bytes, sha256: video.sha256, cost: video.cost, currency: video.currency))
        return Finished(outcome: .saved(file: video.file, bytes: video.bytes, sha256: video.sha256), saved: facts)
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
        let fileStem = Self.fileStem(stem, preview: preview)
        var downloader = Downloader(
            directory: dir, id: fileStem, settings: config.download, api: config.api,
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
        // A stem the folder had no file of, and that this run has not failed on: nothing to
        // look for. A failure (which may leave a `.part`) makes it looked for next time.
        downloader.fresh = !(context.folder?.mayHaveFiles(fileStem) ?? true)
        let result: DownloadResult
        do {
            result = try await downloader.run(video: video, refresh: { try await pollUntilCompleted(id, health: context.health) })
        } catch {
            context.folder?.mark(fileStem)
            throw error
        }
        context.meter.record(bytes: result.transferred, seconds: Date().timeIntervalSince(started))
        return result
    }
}

extension Fetcher {
    /// The stem of an id's video files, or of one of its previews (`<stem>.thumbnail`).
    static func fileStem(_ stem: String, preview: String?) -> String { preview.map { "\(stem).\($0)" } ?? stem }
}

extension Fetcher.SavedVideo {
    /// What an earlier run's sidecar says (kept out of the type so its memberwise init stays).
    init(_ item: ArchiveItem) {
        self.init(file: item.videoFile, bytes: item.videoBytes, sha256: item.videoSHA256, cost: item.cost, currency: item.currency)
    }
}
