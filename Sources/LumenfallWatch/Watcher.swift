import CoreMetrics
import Foundation
import LumenfallCore
import Synchronization

/// What `watch` does between the listener and the fetch pipeline: verifies and dedupes
/// deliveries, records each accepted id in the journal before answering, feeds the queue,
/// sweeps the listing for what a lost delivery would miss, and turns the pipeline's events into
/// journal entries and metrics. Everything here is synchronous and quick except `sweep`.
public final class Watcher: Sendable {
    public struct Settings: Sendable {
        public var directory: String
        /// nil: no secret, so no webhooks are accepted (the sweep alone runs).
        public var verifier: WebhookVerifier?
        /// How often to sweep; nil: never (webhooks and the journal only).
        public var sweepInterval: TimeInterval? = 600
        /// How far before the last high-water mark each sweep looks again.
        public var sweepMargin: TimeInterval = 600
        /// The first sweep ever (no mark in the journal) looks this far back.
        public var firstSweepWindow: TimeInterval = 86_400
        /// A failed id (not for good) is offered again after this long.
        public var retryAfter: TimeInterval = 60
        public init(directory: String) { self.directory = directory }
    }

    public enum Level: String, Sendable { case info, warning, error }
    public typealias Log = @Sendable (Level, String, [(String, String)]) -> Void

    public let settings: Settings
    package let journal: WatchJournal
    package let queue = WatchQueue()
    package let metrics: WatchMetrics
    let api: APIClient
    package let log: Log
    /// Where verified deliveries are recorded, one at a time (the journal's fdatasync): the
    /// listener's and `receive`'s.
    package let deliveries = DispatchQueue(label: "lumenfall.watch.deliveries")
    /// What the handlers and the sweep share, under one `Mutex`.
    private struct State {
        var deliveries = RecentIDs(limit: 10_000)
        /// Ids that failed for good in this process: the sweep lists them again (still
        /// "completed" on the server), and must not queue them again only to fail again.
        var failedForGood = RecentIDs(limit: 100_000)
        var listUnavailableLogged = false
        var rejectedWindowStart = Date.distantPast
        var rejectedInWindow = 0
        var rejectedUnlogged = 0
        var refusedConnections = 0
        var refusedLoggedAt = Date.distantPast
    }
    private let state = Mutex(State())

    /// `metricsFactory`: where the metrics go (an app's own swift-metrics backend); nil keeps
    /// them in a Prometheus registry of this watcher's, which `/metrics` renders.
    public init(settings: Settings, api: APIClient, metricsFactory: (any MetricsFactory)? = nil, log: @escaping Log) throws {
        self.settings = settings
        self.api = api
        self.log = log
        journal = try WatchJournal(directory: settings.directory)
        metrics = WatchMetrics(factory: metricsFactory, queueDepth: { [queue] in queue.depth })
    }

    /// The ids a previous run accepted and did not finish (a crash, a kill, a reboot).
    package func replay() -> Int {
        let pending = journal.pending
        for id in pending { queue.offer(id) }
        return pending.count
    }

    // MARK: - Deliveries

    /// One `POST /webhooks/lumenfall` received by an app's own HTTP server (Hummingbird, Vapor):
    /// the request's headers and body in, the answer to send back out (a status and a small JSON
    /// body). The signature is checked and an accepted id journaled (synced to disk) before it
    /// returns, on a dispatch queue, so no event loop or cooperative thread waits for the disk.
    public func receive(headers: [(String, String)], body: [UInt8]) async -> Answer {
        // The listener's path: the signature checked on any core, a verified delivery recorded
        // on the one serial queue, so a flood never has more than one thread waiting on the disk.
        await withCheckedContinuation { c in
            DispatchQueue.global().async {
                switch self.check(headers: headers, body: body) {
                case .answer(let a): c.resume(returning: a)
                case .verified(let messageID): self.deliveries.async { c.resume(returning: self.record(messageID: messageID, body: body)) }
                }
            }
        }
    }

    /// The metrics in Prometheus's text format, as `GET /metrics` serves them (empty when they go
    /// to an app's own `MetricsFactory`).
    public func metricsText() -> String { metrics.render() }

    public struct Answer: Sendable, Equatable {
        public var status: Int
        public var body: String
    }

    /// One `POST /webhooks/lumenfall`: checked, deduped, journaled, queued; answered at once.
    package func deliver(headers: [(String, String)], body: [UInt8], now: Date = Date()) -> Answer {
        switch check(headers: headers, body: body, now: now) {
        case .answer(let a): return a
        case .verified(let messageID): return record(messageID: messageID, body: body)
        }
    }

    package enum Checked: Sendable {
        /// Refused: the answer to send.
        case answer(Answer)
        /// Signed by us: `record` it (on the serial queue).
        case verified(messageID: String?)
    }

    /// The signature check, which costs an HMAC over the body: pure, so it runs on any thread,
    /// off the serial queue where deliveries are journaled. An unsigned flood then costs CPU,
    /// not the place in line of a valid webhook behind it.
    package func check(headers: [(String, String)], body: [UInt8], now: Date = Date()) -> Checked {
        func header(_ n: String) -> String? { headers.last { $0.0.lowercased() == n }?.1 }
        metrics.webhookReceived()
        guard let verifier = settings.verifier else {
            metrics.reject("no_secret")
            return .answer(Answer(status: 503, body: #"{"error":"this receiver has no webhook secret configured"}"#))
        }
        let messageID = header("webhook-id")
        let verdict = verifier.verify(
            id: messageID, timestamp: header("webhook-timestamp"), signature: header("webhook-signature"), body: body, now: now)
        guard verdict == .valid else {
            metrics.reject(verdict.reason)
            var fields = [("reason", verdict.reason), ("webhook_id", TerminalText.safe(String((messageID ?? "-").prefix(80))))]
            if case .stale(let age) = verdict { fields.append(("age_seconds", "\(age)")) }
            logRejected(fields, now: now)
            return .answer(Answer(status: 401, body: #"{"error":"\#(verdict.reason)"}"#))
        }
        return .verified(messageID: messageID)
    }

    /// At most `rejectedLogBurst` "webhook rejected" lines per `rejectedLogWindow` seconds; the
    /// rest are counted and said in one line when the window turns (2 000 unsigned requests
    /// wrote 2 000 lines). The metric counts every one.
    static let rejectedLogBurst = 10
    static let rejectedLogWindow: TimeInterval = 60

    private func logRejected(_ fields: [(String, String)], now: Date) {
        let (say, dropped): (Bool, Int) = state.withLock { s in
            if now.timeIntervalSince(s.rejectedWindowStart) >= Self.rejectedLogWindow {
                let dropped = s.rejectedUnlogged
                s.rejectedWindowStart = now
                s.rejectedInWindow = 1
                s.rejectedUnlogged = 0
                return (true, dropped)
            }
            s.rejectedInWindow += 1
            if s.rejectedInWindow <= Self.rejectedLogBurst { return (true, 0) }
            s.rejectedUnlogged += 1
            return (false, 0)
        }
        if dropped > 0 {
            log(
                .warning, "more webhooks were rejected and not logged",
                [("count", "\(dropped)"), ("window_seconds", "\(Int(Self.rejectedLogWindow))")])
        }
        if say { log(.warning, "webhook rejected", fields) }
    }

    /// A connection refused at the cap: logged at most once a minute, with the count since.

    package func noteRefusedConnection(now: Date = Date()) {
        let say: Int? = state.withLock { s in
            s.refusedConnections += 1
            guard now.timeIntervalSince(s.refusedLoggedAt) >= 60 else { return nil }
            s.refusedLoggedAt = now
            defer { s.refusedConnections = 0 }
            return s.refusedConnections
        }
        if let n = say { log(.warning, "connections refused: the listener is at its connection limit", [("count", "\(n)")]) }
    }

    /// A verified delivery: deduped, journaled, queued. Runs on the serial delivery queue, so
    /// the webhook-id is remembered only once its journal line is on disk: a sender's retry
    /// after our 503 is journaled, not answered "duplicate" and lost.
    package func record(messageID: String?, body: [UInt8]) -> Answer {
        if let m = messageID, state.withLock({ $0.deliveries.contains(m) }) {
            metrics.duplicate()
            return Answer(status: 200, body: #"{"status":"duplicate"}"#)
        }
        let answer = interpret(body, messageID: messageID)
        if answer.status < 300, let m = messageID { state.withLock { _ = $0.deliveries.insert(m) } }
        return answer
    }

    private func interpret(_ body: [UInt8], messageID: String?) -> Answer {
        guard let obj = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any],
            let type = obj["type"] as? String
        else {
            metrics.reject("malformed_body")
            return Answer(status: 400, body: #"{"error":"the body is not a webhook event"}"#)
        }
        let data = obj["data"] as? [String: Any]
        let id = data?["id"] as? String
        switch type {
        case "video.completed":
            guard let id, VideoID.problem(with: id) == nil else {
                metrics.reject("bad_id")
                return Answer(status: 400, body: #"{"error":"data.id is not a video id"}"#)
            }
            if (try? ArchiveItem.load(directory: settings.directory, id: id)) != nil {
                return Answer(status: 200, body: #"{"status":"already_saved"}"#)
            }
            do {
                try journal.accept(id)
            } catch {
                // Not recorded: the sender must try again.
                log(.error, "cannot record a webhook", [("id", id), ("error", "\(ErrorText.describe(error))")])
                return Answer(status: 503, body: #"{"error":"cannot record the event; try again"}"#)
            }
            metrics.accepted(id)
            queue.offer(id)
            log(.info, "webhook accepted", [("id", id), ("webhook_id", TerminalText.safe(messageID ?? "-"))])
            return Answer(status: 200, body: #"{"status":"queued"}"#)
        case "video.failed", "video.cancelled":
            log(.info, "webhook: nothing to fetch", [("id", TerminalText.safe(id ?? "-")), ("type", type)])
            return Answer(status: 200, body: #"{"status":"noted"}"#)
        default:
            return Answer(status: 200, body: #"{"status":"ignored"}"#)
        }
    }

    // MARK: - The pipeline's events

    /// Fed every FetchEvent: the journal learns what is finished, the metrics what happened.
    package func observe(_ e: FetchEvent) {
        switch e {
        case let .saved(id, file, bytes, _, _, _):
            journal.finish(id, "saved")
            metrics.saved(id, bytes: bytes)
            log(.info, "saved", [("id", id), ("file", file), ("bytes", "\(bytes)")])
        case .alreadySaved(let id, _):
            journal.finish(id, "already_saved")
            metrics.ended(id, failed: false)
        case let .failed(id, f):
            metrics.ended(id, failed: true, triedAgain: !Self.isFinal(f.kind) && f.kind != .stopped)
            if Self.isFinal(f.kind) {
                journal.finish(id, "failed:\(f.kind.rawValue)")
                _ = state.withLock { $0.failedForGood.insert(id) }
                log(.warning, "failed for good", [("id", id), ("reason", f.message)])
            } else if f.kind != .stopped {
                log(.warning, "failed; will try again", [("id", id), ("reason", f.message), ("in_seconds", "\(Int(settings.retryAfter))")])
                offerAgainLater(id)
            }
        case let .claimedElsewhere(id, holder):
            // Another replica on the same bucket has it. It stays in our journal and is looked
            // at again: stored by then (finished here as already saved), or its claim went
            // stale because that replica died (taken over, and fetched here).
            log(
                .info, "claimed by another worker; checking again later",
                [("id", id), ("worker", holder), ("in_seconds", "\(Int(settings.retryAfter))")])
            offerAgainLater(id)
        case let .linkExpiry(id, at):
            metrics.noteExpiry(id, at)
        case .download(let id, .started):
            metrics.downloadStarted(id)
        case .apiUnreachable(let reason, _):
            log(.warning, "the API cannot be reached; every id waits for it", [("reason", reason)])
        case .apiReachable(let after):
            log(.info, "the API answers again", [("after_seconds", "\(Int(after.rounded()))")])
        default:
            break
        }
    }

    private func offerAgainLater(_ id: String) {
        DispatchQueue.global().asyncAfter(deadline: .now() + settings.retryAfter) { [self] in
            if journal.isPending(id) { queue.offer(id) }
        }
    }

    /// Failures a retry cannot change: the id leaves the journal.
    static func isFinal(_ kind: FetchFailure.Kind) -> Bool {
        switch kind {
        case .invalidID, .generationFailed, .cancelled, .unknownStatus, .refused, .expired: true
        case .authentication, .timedOut, .gaveUp, .download, .disk, .stopped, .storage, .apiUnreachable: false
        }
    }

    // MARK: - The sweep

    /// Lists the videos created since the high-water mark (less the margin), queues each
    /// completed one not saved yet, and moves the mark to the oldest video still unfinished
    /// (else to the sweep's start): a video that takes longer than the margin to generate is
    /// still seen. Returns how many ids it queued; nil when the server cannot list.
    @discardableResult
    package func sweep(now: Date = Date()) async -> Int? {
        let since =
            journal.highWater.map { Date(timeIntervalSince1970: TimeInterval($0) - settings.sweepMargin) }
            ?? now.addingTimeInterval(-settings.firstSweepWindow)
        let videos: [VideoObject]
        do {
            videos = try await api.listAll(since: since, limit: nil)
        } catch {
            metrics.sweepFailed()
            let listless = (error as? APIError).map { if case .http(404, _, _, _) = $0 { true } else { false } } ?? false
            if !listless || !state.withLock({ $0.listUnavailableLogged }) {
                log(
                    .warning, listless ? "the server cannot list videos; webhooks alone will find them" : "sweep failed",
                    [("error", TerminalText.safe("\(ErrorText.describe(error))"))])
                if listless { state.withLock { $0.listUnavailableLogged = true } }
            }
            return nil
        }
        var queued = 0
        var oldestUnfinished = Int64(now.timeIntervalSince1970)
        for v in videos {
            switch v.status {
            case .completed:
                // A link already dead, or an id that failed for good here: another try would
                // only say "failed for good" again, on every sweep.
                if let expires = v.expiresAt, expires < now { continue }
                if state.withLock({ $0.failedForGood.contains(v.id) }) { continue }
                guard !journal.isPending(v.id), (try? ArchiveItem.load(directory: settings.directory, id: v.id)) == nil else { continue }
                do { try journal.accept(v.id) } catch { continue }
                queue.offer(v.id)
                queued += 1
            case .queued, .inProgress:
                if let c = v.createdAt { oldestUnfinished = min(oldestUnfinished, Int64(c.timeIntervalSince1970)) }
            default:
                continue
            }
        }
        try? journal.setHighWater(oldestUnfinished)
        metrics.sweepDone(at: now)
        log(.info, "sweep", [("listed", "\(videos.count)"), ("queued", "\(queued)"), ("since", utcString(since))])
        return queued
    }
}
