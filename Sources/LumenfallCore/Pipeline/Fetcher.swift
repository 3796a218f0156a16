import Foundation
import Logging

public struct FetchFailure: Error, Sendable, Equatable {
    public enum Kind: String, Sendable {
        case invalidID, generationFailed, cancelled, unknownStatus, refused, authentication
        case expired, timedOut, gaveUp, download, disk, stopped
    }
    public var kind: Kind
    public var message: String
}

public enum IDOutcome: Sendable, Equatable {
    case saved(file: String, bytes: Int64, sha256: String)
    case alreadySaved(file: String)
    case failed(FetchFailure)

    public var succeeded: Bool {
        if case .failed = self { return false }
        return true
    }
}

public enum FetchEvent: Sendable {
    case alreadySaved(id: String, file: String)
    case status(id: String, status: VideoStatus, progress: Double?)
    case pollRetry(id: String, reason: String, delay: Double)
    case download(id: String, DownloadEvent)
    case saved(id: String, file: String, bytes: Int64, sha256: String)
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
    /// as already saved again, of a failed one are tried again.
    public var dedupLimit = 100_000
    public var random: @Sendable () -> Double = { Double.random(in: 0..<1) }

    public init(outputDirectory: String, api: APIClient) {
        self.outputDirectory = outputDirectory
        self.api = api
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
        var inFlightIDs = Set<String>()
        var order: [String] = []
        var results: [IDOutcome?] = []
        var tally = BatchTally(keepSavedIDs: config.keepSavedIDs)
        var authFailure: String?
        var sourceFailure: Error?
        let window = max(config.window, config.jobs + config.pollJobs)
        let keep = config.keepOutcomes
        let dir = config.outputDirectory

        let context = RunContext(
            polls: Slots(config.pollJobs), downloads: Slots(config.jobs), folderSync: DirectorySync(directory: dir))
        await withTaskGroup(of: (Int, String, Finished).self) { group in
            var sourceDone = false
            func record(_ i: Int, _ id: String, _ finished: Finished) {
                let outcome = finished.outcome
                inFlightIDs.remove(id)
                if keep { results[i] = outcome }
                tally.add(id: id, outcome: outcome, saved: finished.saved)
                if case .failed(let f) = outcome, f.kind == .authentication, authFailure == nil {
                    authFailure = f.message
                    group.cancelAll()
                }
            }
            while !sourceDone, authFailure == nil, !Task.isCancelled {
                if inFlightIDs.count >= window, let (i, id, outcome) = await group.next() {
                    record(i, id, outcome)
                    continue
                }
                let next: String?
                do {
                    next = try await source.next()
                } catch let e as APIError {
                    if case .http(401, _, let m, _) = e {
                        authFailure = "the API rejected the key (HTTP 401\(m.map { ": \($0)" } ?? ""))"
                        group.cancelAll()
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
                    sourceDone = true
                    break
                }
                // Each id once per run, however often it is given or listed: never two tasks
                // on one id (they would share its .part), and repeats within the last
                // `dedupLimit` ids are dropped.
                guard !inFlightIDs.contains(id), recent.insert(id) else { continue }
                inFlightIDs.insert(id)
                let i = keep ? order.count : 0
                if keep {
                    order.append(id)
                    results.append(nil)
                }
                group.addTask { (i, id, await fetchOne(id, context)) }
            }
            while let (i, id, outcome) = await group.next() { record(i, id, outcome) }
        }
        let stopped = FetchFailure(
            kind: .stopped,
            message: authFailure != nil
                ? "not finished: the run stopped because the API key was rejected"
                : "not finished: the run was interrupted")
        return FetchReport(
            outcomes: order.enumerated().map { ($0.element, results[$0.offset] ?? .failed(stopped)) },
            tally: tally, authenticationFailure: authFailure, sourceFailure: sourceFailure)
    }

    /// What the ids of one run share.
    struct RunContext: Sendable {
        let polls: Slots
        let downloads: Slots
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

    func fetchOne(_ id: String, _ context: RunContext) async -> Finished {
        let finished = await fetchOneUnreported(id, context)
        switch finished.outcome {
        case .failed(let f): emit(.failed(id: id, f))
        case .alreadySaved(let file): emit(.alreadySaved(id: id, file: file))
        case .saved: break
        }
        return finished
    }

    private func fetchOneUnreported(_ id: String, _ context: RunContext) async -> Finished {
        if let why = VideoID.problem(with: id) {
            return Finished(outcome: .failed(FetchFailure(kind: .invalidID, message: "invalid id: \(why); skipped")))
        }
        let dir = config.outputDirectory
        // Its sidecar and video on disk: no request at all. The same test decides what
        // `archive` takes.
        if let done = try? ArchiveItem.load(directory: dir, id: id) {
            logger.debug("already saved", metadata: ["id": "\(id)", "stage": "check", "file": "\(done.videoFile)"])
            return Finished(
                outcome: .alreadySaved(file: done.videoFile),
                saved: SavedFacts(bytes: done.videoBytes, cost: done.cost, currency: done.currency))
        }
        let outcome = await fetchAndSave(id, context)
        return Finished(outcome: outcome.0, saved: outcome.1)
    }

    private func fetchAndSave(_ id: String, _ context: RunContext) async -> (IDOutcome, SavedFacts?) {
        let dir = config.outputDirectory
        do {
            try await context.polls.acquire()
            let polled = await context.guarded { try await pollUntilCompleted(id) }
            await context.polls.release()
            let video = try polled.get()

            // The link that dies first is downloaded first.
            try await context.downloads.acquire(key: video.expiresAt?.timeIntervalSince1970 ?? .infinity)
            let downloaded = await context.guarded { try await download(id, video: video, context) }
            await context.downloads.release()
            let result = try downloaded.get()
            let sidecar = Sidecar.render(video: video, download: result, downloadedAt: Date(), redacting: config.api.key)
            do {
                try await BlockingIO.run {
                    try AtomicFile.write(sidecar, to: MediaFile.sidecarPath(directory: dir, id: id), syncDirectory: false)
                }
            } catch {
                throw DownloadError.disk("\(error)")
            }
            // Both renames (video, sidecar) become durable with one folder fsync, shared with
            // every id that finished meanwhile; only then is the id saved.
            await context.folderSync.sync()
            emit(.saved(id: id, file: result.file.name, bytes: result.bytes, sha256: result.sha256))
            return (
                .saved(file: result.file.name, bytes: result.bytes, sha256: result.sha256),
                SavedFacts(bytes: result.bytes, cost: video.cost, currency: video.currency)
            )
        } catch let f as FetchFailure {
            return (.failed(f), nil)
        } catch let e as DownloadError {
            let kept = MediaFile.existingPart(directory: dir, id: id).flatMap { AtomicFile.size(of: $0.partPath) } ?? 0
            return (.failed(Self.failure(e, kept: kept)), nil)
        } catch is CancellationError {
            return (.failed(FetchFailure(kind: .stopped, message: "interrupted; partial files are kept and resume on the next run")), nil)
        } catch {
            return (.failed(FetchFailure(kind: .download, message: "\(error)")), nil)
        }
    }

    private func download(_ id: String, video: VideoObject, _ context: RunContext) async throws -> DownloadResult {
        let dir = config.outputDirectory
        let started = Date()
        let warned = Flag()  // once per id, not once per resume
        let downloader = Downloader(
            directory: dir, id: id, settings: config.download, api: config.api,
            random: config.random, logger: logger,
            events: { [emit] event in
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
