import Foundation

enum PollEvent: Sendable {
    case video(VideoObject)
    case error(APIError)
}

/// Why polling ended without a video to download.
enum PollStop: Equatable, Sendable {
    case generationFailed(code: String?, message: String?)
    case cancelled
    case unknownStatus(String)
    /// 401: the key is bad for every id, so the whole run stops.
    case authenticationFailed(message: String?)
    /// 400/402/404 and other answers that another try will not change.
    case refused(status: Int, code: String?, message: String?)
    /// More transient failures (or malformed answers) in a row than the policy allows.
    case gaveUp(failures: Int, last: APIError)
    /// An answer no retry makes usable (too large, refused by the URL policy).
    case unusable(APIError)
    case timedOut(Double)
}

enum PollAction: Equatable, Sendable {
    case wait(Double)
    case download
    case stop(PollStop)
}

/// The polling decision for one id: given what the last request brought, what to do next.
/// No I/O and no clock: `elapsed` and `random` come in, so every branch is unit-testable.
struct PollMachine: Sendable {
    let policy: PollPolicy
    private var pendingPolls = 0
    private var transientFailures = 0
    private var malformed = 0

    init(policy: PollPolicy) { self.policy = policy }

    mutating func next(_ event: PollEvent, elapsed: Double, random: Double) -> PollAction {
        switch event {
        case .video(let v):
            transientFailures = 0
            malformed = 0
            switch v.status {
            case .completed: return .download
            case .failed: return .stop(.generationFailed(code: v.errorCode, message: v.errorMessage))
            case .cancelled: return .stop(.cancelled)
            case .other(let s): return .stop(.unknownStatus(s))
            case .queued, .inProgress:
                let d = Backoff.polling(policy).delay(attempt: pendingPolls, random: random)
                pendingPolls += 1
                return bounded(d, elapsed: elapsed)
            }
        case .error(let e):
            switch e {
            case let .http(status, code, message, retryAfter):
                if status == 401 { return .stop(.authenticationFailed(message: message)) }
                if status == 429 || status == 408 || status >= 500 {
                    return transient(e, retryAfter: retryAfter, elapsed: elapsed, random: random)
                }
                return .stop(.refused(status: status, code: code, message: message))
            case .transport, .unreachable:
                return transient(e, retryAfter: nil, elapsed: elapsed, random: random)
            case .malformed:
                malformed += 1
                if malformed > policy.maxMalformed {
                    return .stop(.gaveUp(failures: malformed, last: e))
                }
                return transient(e, retryAfter: nil, elapsed: elapsed, random: random, counts: false)
            case .tooLarge, .refused:
                return .stop(.unusable(e))
            }
        }
    }

    private mutating func transient(
        _ error: APIError, retryAfter: Double?, elapsed: Double, random: Double, counts: Bool = true
    ) -> PollAction {
        if counts {
            transientFailures += 1
            if transientFailures > policy.retry.maxRetries {
                return .stop(.gaveUp(failures: transientFailures, last: error))
            }
        }
        let attempt = max(0, (counts ? transientFailures : malformed) - 1)
        let d = retryAfter ?? policy.retry.backoff.delay(attempt: attempt, random: random)
        return bounded(d, elapsed: elapsed)
    }

    /// Never sleeps past --max-wait: the last poll lands on the deadline, and one that is
    /// still pending there ends the id.
    private func bounded(_ delay: Double, elapsed: Double) -> PollAction {
        guard let limit = policy.maxWait else { return .wait(delay) }
        if elapsed >= limit { return .stop(.timedOut(limit)) }
        return .wait(min(delay, limit - elapsed))
    }
}
