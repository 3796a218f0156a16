import Foundation
import Logging
import LumenfallCurl

#if canImport(Glibc)
import Glibc
#endif

/// `--segments N`: one file over N ranged connections into the same `.part`, for hosts that cap
/// each connection's speed. Each range has its own DownloadMachine (retries, the progress rule,
/// link refreshes), the link is shared and refreshed once for all, and the plan of ranges is
/// saved in `.part.state` so a killed run resumes every range. The SHA-256 is computed once the
/// file is whole, from the page cache.
///
/// Whenever the server cannot do this (no ranges, no total, a file too small to split) or
/// proves the `.part` stale, the caller goes on in one piece.
struct SegmentedDownload: Sendable {
    let downloader: Downloader
    let connections: Int
    let start: Date

    enum Outcome: Sendable {
        case done(DownloadResult)
        /// Go on with one connection; `discard`: the `.part` is stale or unreadable, empty it
        /// first (the reason is for the user).
        case oneConnection(discard: AttemptReason?)
    }

    /// Thrown by a range when the server proves the `.part` stale.
    struct Stale: Error { let reason: AttemptReason }

    private var settings: DownloadSettings { downloader.settings }
    private var id: String { downloader.id }

    func run(
        video: VideoObject, part existing: MediaFile?, known: ResumeValidator?,
        refresh: @escaping @Sendable () async throws -> VideoObject
    ) async throws -> Outcome {
        var source = downloader.mediaSource(for: video)
        var file = existing
        var validator = known
        let plan: SegmentPlan
        if let saved = known?.segments {
            guard saved.isValid, saved.total == known?.total, existing != nil else {
                return .oneConnection(discard: .rangeRecordDamaged)
            }
            plan = saved
        } else if let f = existing {
            // A `.part` written in one piece: its bytes become the head of the first range.
            guard let v = known, v.ifRange != nil, let total = v.total, let size = AtomicFile.size(of: f.partPath),
                let split = SegmentPlan.split(total: total, done: size, count: connections)
            else { return .oneConnection(discard: nil) }
            plan = split
        } else {
            guard let probe = try await probe(source) else { return .oneConnection(discard: nil) }
            source = probe.source
            validator = probe.validator
            guard let total = probe.validator.total, let split = SegmentPlan.split(total: total, count: connections) else {
                return .oneConnection(discard: nil)
            }
            file = MediaFile(directory: downloader.directory, id: id, ext: MediaFile.ext(forContentType: probe.validator.contentType))
            plan = split
        }
        guard let file, let validator else { return .oneConnection(discard: nil) }
        let chosen = plan

        let part = try await BlockingIO.run {
            let p = try SegmentedPart(
                file: file, plan: chosen, validator: validator,
                onProgress: { [events = downloader.events] in events(.progress(bytes: $0, total: $1)) })
            try p.saveNow()  // before any byte lands past the end of what the file holds
            return p
        }
        let host = URLPolicy.host(of: source.url)
        let workers = min(connections, max(1, plan.pending.count))
        downloader.events(.started(host: host, offset: plan.written, total: plan.total))
        downloader.events(.segmented(connections: workers))
        downloader.events(.receiving(offset: plan.written, total: plan.total))
        let link = SharedLink(source: source, expiresAt: video.expiresAt)
        var transferred: Int64 = 0
        do {
            transferred = try await withThrowingTaskGroup(of: Int64.self) { group in
                for _ in 0..<workers {
                    group.addTask { try await work(part: part, link: link, refresh: refresh) }
                }
                var sum: Int64 = 0
                for try await n in group { sum += n }
                return sum
            }
        } catch let stale as Stale {
            try? await BlockingIO.run { try part.saveNow() }
            return .oneConnection(discard: stale.reason)
        } catch {
            // Everything received stays, recorded, for the next run.
            try? await BlockingIO.run { try part.saveNow() }
            throw error
        }
        let (bytes, digest) = try await BlockingIO.run { try finalize(part) }
        return .done(
            DownloadResult(
                file: file, bytes: bytes, sha256: digest, contentType: validator.contentType,
                mediaHost: host, source: source.kind, transferred: transferred))
    }

    /// One connection: takes ranges until none is left; returns the bytes it received.
    private func work(
        part: SegmentedPart, link: SharedLink, refresh: @escaping @Sendable () async throws -> VideoObject
    ) async throws -> Int64 {
        var received: Int64 = 0
        while let range = part.takeRange() {
            defer { part.release(range.start) }
            received += try await fetch(range, part: part, link: link, refresh: refresh)
        }
        return received
    }

    /// Fetches one range to its end, retrying per DownloadMachine.
    private func fetch(
        _ range: SegmentRange, part: SegmentedPart, link: SharedLink,
        refresh: @escaping @Sendable () async throws -> VideoObject
    ) async throws -> Int64 {
        let sink = SegmentSink(part: part, rangeStart: range.start, limiter: settings.rateLimiter)
        nonisolated(unsafe) let io = sink  // sound: the loop thread has it only while `send` runs, and this task waits
        let (_, _, expires) = await link.current()
        var machine = DownloadMachine(
            policy: .init(retry: settings.retry, maxURLRefreshes: settings.maxURLRefreshes, maxTime: settings.maxTime),
            start: start, partSize: range.next, expiresAt: expires)
        var received: Int64 = 0
        while true {
            try Task.checkCancellation()
            guard let now = part.range(startingAt: range.start), !now.isDone else { return received }
            if let stop = machine.beforeAttempt(now: Date()) { throw stop }
            let (source, generation, _) = await link.current()
            let host = URLPolicy.host(of: source.url)
            let request = downloader.mediaRequest(
                source, from: now.next, through: now.end - 1, ifRange: part.validator.ifRange,
                totalTimeout: machine.remaining(now: Date()), ownConnection: true)
            sink.reset(next: now.next)
            var attempt = DownloadMachine.Attempt(size: 0, host: host, usesAPIKey: source.usesAPIKey)
            if let failed = try await downloader.sendMedia(request, from: source, into: sink) {
                attempt.transportError = failed.message
                attempt.timedOut = failed.timedOut
            }
            try await BlockingIO.run { io.flush() }
            if let f = sink.failure { throw DownloadError.disk(f) }
            part.checkpoint()
            received += sink.attemptBytes
            guard let after = part.range(startingAt: range.start) else { return received }
            if after.isDone { return received }
            // The machine sees the range as the file: its end is the total, `next` the size.
            switch sink.decision {
            case .write(let offset, _, let why):
                attempt.decision = .write(offset: offset, total: after.end, reason: why)
            case .restart(let why):
                throw Stale(reason: why)
            case let d:
                attempt.decision = d
            }
            attempt.size = after.next
            switch machine.next(attempt, now: Date(), random: downloader.random()) {
            case .finish:
                return received
            case .fail(let e, _):
                throw e
            case .refreshLink(let status):
                let fresh = try await link.refreshed(after: generation) {
                    downloader.events(.refreshingURL(status: status))  // once, by the range that asks first
                    let v = try await refresh()
                    return (downloader.mediaSource(for: v), v.expiresAt)
                }
                if let stop = machine.linkRefreshed(expiresAt: fresh, now: Date()) { throw stop }
            case let .retry(reason, delay, discard):
                if discard { throw Stale(reason: reason) }
                downloader.events(
                    .retrying(
                        reason: AttemptReason.segment(first: after.next, last: after.end - 1, reason).sentence, delay: delay,
                        kept: part.snapshot.written))
                try await sleep(seconds: delay)
            }
        }
    }

    /// One small ranged request: does the host serve ranges, and how big is the file?
    /// Nil: it does not say, so the download goes on in one piece (which handles every
    /// refusal, retry and refresh itself).
    private func probe(_ source: MediaSource) async throws -> (source: MediaSource, validator: ResumeValidator)? {
        let sink = BufferSink(limit: 4096)
        let request = downloader.mediaRequest(
            source, from: 0, through: 0, ifRange: nil, totalTimeout: max(settings.connectTimeout, 30), ownConnection: true)
        // Any failure here only means "not in ranges": the one-piece download handles it.
        do {
            if try await downloader.sendMedia(request, from: source, into: sink) != nil { return nil }
        } catch {
            return nil
        }
        guard let h = sink.head, h.status == 206,
            let cr = h.header("Content-Range").flatMap(ContentRange.init), cr.start == 0, let total = cr.total
        else { return nil }
        let v = ResumeValidator(
            etag: h.header("ETag"), lastModified: h.header("Last-Modified"), total: total,
            contentType: h.header("Content-Type"))
        // Without a validator a range could mix two versions of the file.
        guard v.ifRange != nil else { return nil }
        return (source, v)
    }

    /// Checks the ranges are all in, then checks the `.part` as every download does, its
    /// SHA-256 read back from disk (the ranges arrived out of order).
    private func finalize(_ part: SegmentedPart) throws -> (Int64, String) {
        try part.saveNow()
        guard part.snapshot.isComplete else { throw DownloadError.failed(.rangesMissing) }
        let (bytes, sha) = try part.file.check(expectedTotal: part.snapshot.total) { size in
            let hasher = HashingFileWriter()
            try hasher.hashExisting(part.file.partPath, upTo: size)
            return hasher.digestHex()
        }
        return (bytes, sha)
    }
}

/// The media link all ranges use. When one range is refused, one refresh serves every range:
/// a range that saw the link at `generation` and asks after another range refreshed it gets
/// the new one at once.
actor SharedLink {
    private var source: MediaSource
    private var expiresAt: Date?
    private var generation = 0
    private var inFlight: Task<(MediaSource, Date?), Error>?

    init(source: MediaSource, expiresAt: Date?) {
        self.source = source
        self.expiresAt = expiresAt
    }

    func current() -> (MediaSource, Int, Date?) { (source, generation, expiresAt) }

    /// The link's expiry after the refresh.
    func refreshed(after seen: Int, _ fetch: @escaping @Sendable () async throws -> (MediaSource, Date?)) async throws -> Date? {
        if generation > seen { return expiresAt }
        if let t = inFlight { return try await t.value.1 }
        let t = Task { try await fetch() }
        inFlight = t
        defer { inFlight = nil }
        let (s, e) = try await t.value
        source = s
        expiresAt = e
        generation += 1
        return e
    }
}
