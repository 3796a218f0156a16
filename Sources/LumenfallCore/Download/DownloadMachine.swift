import Foundation

/// The download decision for one id: given how an attempt ended, what to do next. No I/O, no
/// clock and no randomness of its own (`now` and `random` come in), so every transition has a
/// unit test (DownloadMachineTests), in the style of PollMachine.
///
/// The progress rule: an attempt is progress only if the durable `.part` now ends beyond the
/// furthest point it ever reached. Bytes received and then thrown away (a 200 that restarts
/// the file, a body longer than announced) are not progress, so a host that ignores Range and
/// drops at the same byte every time runs out of retries, while a long file on a flaky link
/// that gets a little further each time keeps going.
struct DownloadMachine: Sendable {
    struct Policy: Sendable {
        var retry = RetryPolicy()
        var maxURLRefreshes = 3
        /// A deadline for the whole download, from the machine's start; nil: none.
        var maxTime: Double?
    }

    /// How one attempt ended, as the driver saw it.
    struct Attempt: Sendable, Equatable {
        /// What the head decided; nil when no head came.
        var decision: HeadDecision?
        /// The transport failed (reset, timeout, stall); `timedOut` for libcurl's timeouts.
        var transportError: String?
        var timedOut = false
        /// The `.part`'s size after the attempt (before any discard the machine asks for).
        var size: Int64
        /// The host, for messages.
        var host: String
        /// The bytes come from the API's content endpoint with the key (a 401 there is the key's).
        var usesAPIKey = false
    }

    enum Action: Sendable, Equatable {
        /// The `.part` is whole: verify and rename it.
        case finish
        /// Wait `delay` seconds and try again; empty the `.part` first when `discard`.
        case retry(reason: AttemptReason, delay: Double, discard: Bool)
        /// Fetch the video object again for a fresh signed URL, then try again at once.
        case refreshLink(status: Int)
        /// Stop with this error; empty the `.part` first when `discard` (the server proved it
        /// stale: it is not kept for a resume that could only append to wrong bytes).
        case fail(DownloadError, discard: Bool = false)
    }

    let policy: Policy
    private let start: Date
    private var expiresAt: Date?
    private var furthest: Int64
    private var failures = 0
    private var refreshes = 0

    /// `partSize`: what an earlier run left; `expiresAt`: when the current link dies.
    init(policy: Policy, start: Date, partSize: Int64, expiresAt: Date?) {
        self.policy = policy
        self.start = start
        self.furthest = partSize
        self.expiresAt = expiresAt
    }

    /// Seconds left before `--max-time`, for the request's own timeout; nil: no deadline.
    func remaining(now: Date) -> Double? {
        policy.maxTime.map { $0 - now.timeIntervalSince(start) }
    }

    /// Before each attempt: nil to go ahead, or why not.
    func beforeAttempt(now: Date) -> DownloadError? {
        if let left = remaining(now: now), left <= 0, let limit = policy.maxTime { return .timedOut(limit) }
        return nil
    }

    /// After a fresh link came: nil to go ahead, or `.expired` when the object says it is gone.
    mutating func linkRefreshed(expiresAt: Date?, now: Date) -> DownloadError? {
        self.expiresAt = expiresAt
        if let exp = expiresAt, exp < now { return .expired(exp) }
        return nil
    }

    mutating func next(_ a: Attempt, now: Date, random: Double) -> Action {
        var size = a.size
        var discard = false
        let reason: AttemptReason
        var after: Double?
        if let error = a.transportError {
            // libcurl's timeout at the deadline is --max-time, not a stall to retry.
            if a.timedOut, let left = remaining(now: now), left <= 0.05, let limit = policy.maxTime {
                return .fail(.timedOut(limit))
            }
            reason = .transport(error)
        } else {
            switch a.decision {
            case nil:
                reason = .noAnswer(host: a.host)
            case .write(_, let total, _):
                if let total, size < total {
                    reason = .closedEarly(at: size, of: total)
                } else if let total, size > total {
                    discard = true
                    reason = .longerThanAnnounced(total)
                } else {
                    return .finish
                }
            case .complete:
                return .finish
            case .restart(let why):
                discard = true
                reason = why
                after = 0
            case .retry(let why, let retryAfter):
                reason = why
                after = retryAfter
            case .refreshURL(let status):
                if a.usesAPIKey && status == 401 { return .fail(.authenticationFailed) }
                refreshes += 1
                if refreshes > policy.maxURLRefreshes {
                    if let exp = expiresAt, exp < now { return .fail(.expired(exp)) }
                    return .fail(.denied(status: status, host: a.host))
                }
                return .refreshLink(status: status)
            case .redirect:
                return .fail(.failed(.redirectWithoutLocation(host: a.host)))
            case .fail(let why):
                return .fail(.failed(.refused(why, host: a.host)))
            }
        }
        if discard { size = 0 }
        let progressed = size > furthest
        furthest = max(furthest, size)
        failures = progressed ? 1 : failures + 1
        if failures > policy.retry.maxRetries {
            return .fail(.failed(.gaveUp(attempts: failures, last: reason)), discard: discard)
        }
        let delay = after ?? policy.retry.backoff.delay(attempt: failures - 1, random: random)
        if let left = remaining(now: now), let limit = policy.maxTime, delay >= left {
            return .fail(.timedOut(limit), discard: discard)
        }
        return .retry(reason: reason, delay: delay, discard: discard)
    }
}
