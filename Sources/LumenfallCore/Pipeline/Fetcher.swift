import Foundation
import Logging

public struct FetchFailure: Error, Sendable, Equatable {
    public enum Kind: String, Sendable {
        case invalidID, generationFailed, cancelled, unknownStatus, refused, authentication
        case expired, timedOut, gaveUp, download, disk, stopped
        /// The S3 destination refused or failed the upload (the files stay in the work folder).
        case storage
    }
    public var kind: Kind
    public var message: String
}

public enum IDOutcome: Sendable, Equatable {
    case saved(file: String, bytes: Int64, sha256: String)
    case alreadySaved(file: String)
    /// `-o s3://`: another worker holds the id's claim; it is left to that worker.
    case elsewhere(holder: String)
    case failed(FetchFailure)

    public var succeeded: Bool {
        if case .failed = self { return false }
        return true
    }
}

public enum FetchEvent: Sendable {
    /// The id entered the run (it has a place in the window and a poll slot).
    case queued(id: String)
    case alreadySaved(id: String, file: String)
    /// Another worker claimed this id (`-o s3://` with several workers): skipped here.
    case claimedElsewhere(id: String, holder: String)
    case status(id: String, status: VideoStatus, progress: Double?)
    case pollRetry(id: String, reason: String, delay: Double)
    case download(id: String, DownloadEvent)
    case saved(id: String, file: String, bytes: Int64, sha256: String, cost: Double?, currency: String?)
    /// A preview (`--with`) was saved beside the video (reported before the id's `saved`).
    case assetSaved(id: String, name: String, file: String, bytes: Int64)
    /// The server does not offer this preview: noted in the sidecar, not a failure.
    case assetUnavailable(id: String, name: String, reason: String)
    /// The completed video's link dies at this time (for a live display's countdown).
    case linkExpiry(id: String, expiresAt: Date)
    /// At the speed seen so far, the rest of this file needs longer than its link lives.
    case expiryAtRisk(id: String, expiresAt: Date, remainingBytes: Int64, neededSeconds: Double)
    case failed(id: String, FetchFailure)
}

public struct FetchReport: Sendable {
    /// Every id's outcome, in the order the ids came; empty unless `keepOutcomes`.
    public var outcomes: [(id: String, outcome: IDOutcome)]
    /// The batch's numbers, always kept, in constant memory.
    public var tally: BatchTally
    /// Set when the API rejected the key: the run stopped at once.
    public var authenticationFailure: String?
    /// An id source (the listing, an id file) failed part-way: the ids it gave were fetched,
    /// the rest not.
    public var sourceFailure: Error?
    public var allSucceeded: Bool {
        tally.failed == 0 && tally.expired == 0 && authenticationFailure == nil && sourceFailure == nil
    }
}

public struct FetchConfiguration: Sendable {
    public var outputDirectory: String
    public var api: APIClient
    public var poll = PollPolicy()
    public var download = DownloadSettings()
    /// How many downloads run at once; they start earliest `expires_at` first.
    public var jobs = 4
    /// How many ids are polled at once, apart from the downloads.
    public var pollJobs = 8
    /// How many ids may be in flight (polling, waiting for a slot, downloading) at once; the
    /// source is read no further ahead. Earliest-expiry-first holds within this window.
    public var window = 1000
    /// Keep every id's outcome in the report (tests, small batches); off, the report holds the
    /// tally only and memory does not grow with the batch.
    public var keepOutcomes = true
    /// Keep the saved ids (for `--archive`, which bundles them after the batch): one string per
    /// saved id.
    public var keepSavedIDs = true
    /// How many recent ids are remembered to drop repeats; older repeats of a saved id count
    /// as already saved again, of a failed one are tried again. 0: none are remembered.
    public var dedupLimit = 100_000
    /// `--with`: previews saved beside each video (`thumbnail`, `spritesheet`), in this order.
    public var previews: [String] = []
    /// Where saved ids end up: the work folder itself (`LocalFolder`, the default), or a store
    /// each id goes up to from `outputDirectory` (`S3Destination`).
    public var destination: any Destination
    public var random: @Sendable () -> Double = { Double.random(in: 0..<1) }

    public init(outputDirectory: String, api: APIClient) {
        self.outputDirectory = outputDirectory
        self.api = api
        destination = LocalFolder(path: outputDirectory)
    }
}

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
        let window = max(config.window, config.jobs + config.pollJobs)
        let ledger = Ledger(keepOutcomes: config.keepOutcomes, keepSavedIDs: config.keepSavedIDs)
        let context = RunContext(polls: Slots(config.pollJobs), folderSync: DirectorySync(directory: config.outputDirectory))
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
                    guard let id = next else { break }
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
                    emit(.queued(id: id))
                    await queue.producerStarted()
                    group.addTask {
                        switch await prepare(id, context) {
                        case .ready(let video):
                            // The link that dies first is downloaded first.
                            await queue.push(
                                .init(id: id, index: i, video: video), key: video.expiresAt?.timeIntervalSince1970 ?? .infinity)
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

    /// What a run has learnt so far, shared by its tasks: the tally, the outcomes (with
    /// `keepOutcomes`), the ids in flight. `@unchecked Sendable` is sound: all of it is
    /// touched under `lock`.
    final class Ledger: @unchecked Sendable {
        private let lock = NSLock()
        private let keepOutcomes: Bool
        private var inFlight = Set<String>()
        private var order: [String] = []
        private var results: [IDOutcome?] = []
        private var tally: BatchTally
        private var authFailure: String?

        init(keepOutcomes: Bool, keepSavedIDs: Bool) {
            self.keepOutcomes = keepOutcomes
            tally = BatchTally(keepSavedIDs: keepSavedIDs)
        }

        func isInFlight(_ id: String) -> Bool { lock.withLock { inFlight.contains(id) } }

        /// The id's index among the outcomes (0 when they are not kept).
        func start(_ id: String) -> Int {
            lock.withLock {
                inFlight.insert(id)
                guard keepOutcomes else { return 0 }
                order.append(id)
                results.append(nil)
                return order.count - 1
            }
        }

        /// Records an id's end; true when it was the API rejecting the key (the run stops).
        func finish(_ i: Int, _ id: String, _ finished: Finished) -> Bool {
            lock.withLock {
                let outcome = finished.outcome
                inFlight.remove(id)
                if keepOutcomes { results[i] = outcome }
                tally.add(id: id, outcome: outcome, saved: finished.saved)
                if case .failed(let f) = outcome, f.kind == .authentication {
                    if authFailure == nil { authFailure = f.message }
                    return true
                }
                return false
            }
        }

        func keyRejected(_ message: String) { lock.withLock { if authFailure == nil { authFailure = message } } }

        func report(sourceFailure: Error?) -> FetchReport {
            lock.withLock {
                let stopped = FetchFailure(
                    kind: .stopped,
                    message: authFailure != nil
                        ? "not finished: the run stopped because the API key was rejected"
                        : "not finished: the run was interrupted")
                return FetchReport(
                    outcomes: order.enumerated().map { ($0.element, results[$0.offset] ?? .failed(stopped)) },
                    tally: tally, authenticationFailure: authFailure, sourceFailure: sourceFailure)
            }
        }
    }

    /// What the ids of one run share.
    struct RunContext: Sendable {
        let polls: Slots
        let meter = ThroughputMeter()
        let folderSync: DirectorySync
        /// Set the moment the API rejects the key, before the failing id gives up its slot,
        /// so no waiting id sends another request with it.
        let keyRejected = Flag()
    }

    /// `@unchecked Sendable` is sound: `value` is only touched under `lock`.
    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        var isSet: Bool { lock.withLock { value } }
        func set() { lock.withLock { value = true } }
    }

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
        if let done = try? ArchiveItem.load(directory: config.outputDirectory, id: id), done.hasSettled(config.previews) {
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
        } catch {
            await context.polls.release()
            return .finished(Finished(outcome: .failed(FetchFailure(kind: .storage, message: "\(error)"))))
        }
        let polled = await context.guarded { try await pollUntilCompleted(id) }
        await context.polls.release()
        do {
            let video = try polled.get()
            if let at = video.expiresAt { emit(.linkExpiry(id: id, expiresAt: at)) }
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
            // A video saved by an earlier run that lacks a preview asked for now: its bytes and
            // facts stand, only the previews are fetched.
            let earlier = try? ArchiveItem.load(directory: dir, id: id, checkAssets: false)
            let facts: Sidecar.Download
            var assets: [String: Sidecar.Asset] = [:]
            if let earlier, let contents = Sidecar.read(earlier.sidecar) {
                facts = contents.download
                for a in earlier.assets { assets[a.name] = contents.assets[a.name] }
                for n in earlier.unavailableAssets { assets[n] = contents.assets[n] }
            } else {
                let result = try await context.guarded { try await download(id, video: video, context) }.get()
                facts = Sidecar.Download(result, at: Date())
            }
            for name in config.previews where assets[name] == nil {
                do {
                    let r = try await context.guarded { try await download(id, video: video, context, preview: name) }.get()
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
                    case .failed(let why):
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
                    try AtomicFile.write(sidecar, to: MediaFile.sidecarPath(directory: dir, id: id), syncDirectory: false)
                }
            } catch {
                throw DownloadError.disk("\(error)")
            }
            // The renames (video, previews, sidecar) become durable with one folder fsync,
            // shared with every id that finished meanwhile; only then is the id saved.
            await context.folderSync.sync()
            guard let item = try? ArchiveItem.load(directory: dir, id: id) else {
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
                            "storing in \(destination) failed: \(error); the files stay in \(config.outputDirectory) and go up on the next run"
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

    /// What an error means for the user, naming the `.part` kept, if any.
    private func failure(_ id: String, _ error: Error) -> FetchFailure {
        switch error {
        case let f as FetchFailure:
            return f
        case let e as DownloadError:
            let kept = MediaFile.existingPart(directory: config.outputDirectory, id: id).flatMap { AtomicFile.size(of: $0.partPath) } ?? 0
            return Self.failure(e, kept: kept)
        case is CancellationError:
            return FetchFailure(kind: .stopped, message: "interrupted; partial files are kept and resume on the next run")
        default:
            return FetchFailure(kind: .download, message: "\(error)")
        }
    }

    /// The video, or with `preview` one of its previews (`<id>.<preview>.<ext>`, one connection).
    private func download(_ id: String, video: VideoObject, _ context: RunContext, preview: String? = nil) async throws -> DownloadResult {
        let dir = config.outputDirectory
        let started = Date()
        let warned = Flag()  // once per id, not once per resume
        let variant = preview.map { PreviewVariant(videoID: id, name: $0) }
        var downloader = Downloader(
            directory: dir, id: variant?.stem ?? id, settings: config.download, api: config.api,
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
        let result = try await downloader.run(video: video, refresh: { try await pollUntilCompleted(id) })
        context.meter.record(bytes: result.transferred, seconds: Date().timeIntervalSince(started))
        return result
    }

    /// Polls until the job completes, per PollMachine's decisions.
    func pollUntilCompleted(_ id: String) async throws -> VideoObject {
        var machine = PollMachine(policy: config.poll)
        let start = Date()
        var lastShown: (String, Int?)?
        while true {
            let event: PollEvent
            var video: VideoObject?
            do {
                let v = try await config.api.retrieve(id)
                video = v
                event = .video(v)
                let shown = (v.status.text, v.progress.map { Int($0) })  // 0...100, checked on decode
                if lastShown.map({ $0 != shown }) ?? true {
                    lastShown = shown
                    emit(.status(id: id, status: v.status, progress: v.progress))
                }
            } catch let e as APIError {
                event = .error(e)
            }
            try Task.checkCancellation()
            let action = machine.next(event, elapsed: Date().timeIntervalSince(start), random: config.random())
            logger.debug("poll", metadata: ["id": "\(id)", "stage": "poll", "event": "\(event.summary)", "action": "\(action)"])
            switch action {
            case .download:
                if let video { return video }
            case .wait(let d):
                if case .error(let e) = event { emit(.pollRetry(id: id, reason: e.summary, delay: d)) }
                try await sleep(seconds: d)
            case .stop(let s):
                throw Self.failure(s)
            }
        }
    }

    static func failure(_ s: PollStop) -> FetchFailure {
        switch s {
        case let .generationFailed(code, message):
            let what = [code, message].compactMap { $0 }.joined(separator: ": ")
            return FetchFailure(kind: .generationFailed, message: "generation failed: \(what.isEmpty ? "no reason given" : what)")
        case .cancelled:
            return FetchFailure(kind: .cancelled, message: "the job was cancelled on the server; nothing to download")
        case .unknownStatus(let st):
            return FetchFailure(kind: .unknownStatus, message: "unknown status '\(st)'; not treating it as success")
        case .authenticationFailed(let m):
            return FetchFailure(kind: .authentication, message: "the API rejected the key (HTTP 401\(m.map { ": \($0)" } ?? ""))")
        case let .refused(status, code, message):
            let what = [code, message].compactMap { $0 }.joined(separator: ": ")
            return FetchFailure(kind: .refused, message: "the API refused the request (HTTP \(status)\(what.isEmpty ? "" : ": \(what)"))")
        case .gaveUp(let why):
            return FetchFailure(kind: .gaveUp, message: "gave up polling: \(why)")
        case .timedOut(let limit):
            return FetchFailure(
                kind: .timedOut, message: "not completed after \(Checked.wholeSeconds(limit)) s (--max-wait); run again later")
        }
    }

    /// `kept`: the bytes of the `.part` left on disk, so a message promises a resume only
    /// when there is something to resume from.
    static func failure(_ e: DownloadError, kept: Int64 = 0) -> FetchFailure {
        let partial = kept > 0 ? "the partial file (\(kept) bytes) is kept, run again to resume" : "no partial file was kept"
        switch e {
        case .expired(let at):
            return FetchFailure(kind: .expired, message: "output expired at \(utcString(at)); \(partial)")
        case let .denied(status, host):
            return FetchFailure(
                kind: .download,
                message: "the media host \(host) keeps refusing the download (HTTP \(status)) even with a fresh link; \(partial)")
        case .failed(let why):
            return FetchFailure(kind: .download, message: "download failed: \(why); \(partial)")
        case .authenticationFailed:
            return FetchFailure(kind: .authentication, message: "the API rejected the key (HTTP 401) on the content endpoint")
        case .disk(let why):
            return FetchFailure(kind: .disk, message: "disk error: \(why)")
        case .timedOut(let limit):
            return FetchFailure(kind: .timedOut, message: "not saved within --max-time \(String(format: "%g", limit)) s; \(partial)")
        case .notOffered(let why):
            return FetchFailure(kind: .download, message: "not offered by the server: \(why)")
        }
    }
}

extension PollEvent {
    /// One short phrase for logs (the whole object would drown the line).
    var summary: String {
        switch self {
        case .video(let v): "status \(v.status.text)\(v.progress.map { " \($0)%" } ?? "")"
        case .error(let e): e.summary
        }
    }
}

extension FetchReport {
    /// The batch's numbers, and the saved ids on disk as archive items (read again from their
    /// sidecars, only when `keepSavedIDs` kept their ids).
    public func summary(directory: String, elapsedSeconds: Double) -> (BatchSummary, [ArchiveItem]) {
        let items = (tally.savedIDs ?? []).compactMap { try? ArchiveItem.load(directory: directory, id: $0) }
        return (tally.summary(elapsedSeconds: elapsedSeconds), items)
    }
}

extension Fetcher.RunContext {
    /// Runs one stage while holding a slot: refuses to start once the key was rejected, and
    /// raises the flag itself when this stage is the one that finds out.
    func guarded<T: Sendable>(_ work: () async throws -> T) async -> Result<T, Error> {
        if keyRejected.isSet {
            return .failure(FetchFailure(kind: .stopped, message: "not finished: the run stopped because the API key was rejected"))
        }
        do {
            return .success(try await work())
        } catch {
            if let f = error as? FetchFailure, f.kind == .authentication { keyRejected.set() }
            if case DownloadError.authenticationFailed = error { keyRejected.set() }
            return .failure(error)
        }
    }
}
