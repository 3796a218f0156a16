import Foundation
import Synchronization

/// How long the run waits for an API that cannot be reached (DNS, refused, TLS) before it
/// stops with one message, instead of every id retrying on its own for minutes.
public struct APIHealthPolicy: Sendable, Equatable {
    /// Before the API has answered once in this run: a wrong `--base-url` or a dead host is
    /// reported within seconds. nil: wait for ever (`watch`).
    public var firstContact: Double? = 15
    /// After it has answered: an outage is waited out together this long, so a long batch
    /// survives a restart of the API. nil: for ever.
    public var outage: Double? = 1800

    public init(firstContact: Double? = 15, outage: Double? = 1800) {
        self.firstContact = firstContact
        self.outage = outage
    }
}

/// Why the run stopped waiting for the API.
package enum APIOutage: Equatable, Sendable {
    /// It never answered within `firstContact` seconds.
    case neverAnswered(reason: String, seconds: Double)
    /// It stopped answering and did not come back within `outage` seconds.
    case outlasted(reason: String, seconds: Double)
}

/// The API's reachability as the whole run sees it. Pure: times and randomness come in. While
/// the API is down, one request at a time probes it (on a shared backoff) and every other
/// poller waits; its failures do not count against any id's own retries.
struct APIHealthMachine: Sendable {
    enum Admission: Equatable {
        case go
        case wait(Double)
    }
    enum Verdict: Equatable {
        /// Try again when admitted.
        case retry(announce: Bool)
        case stop(APIOutage)
    }

    let policy: APIHealthPolicy
    private(set) var answeredOnce = false
    /// Since when the API has been unreachable (nil: it answers).
    private(set) var downSince: Double?
    private var probes = 0
    private var probing = false
    private var nextProbe = 0.0
    private let backoff = Backoff(initial: 1, cap: 30, factor: 2, jitter: 0.2)

    init(policy: APIHealthPolicy) { self.policy = policy }

    /// May a request go now? While down, only the one probe whose time has come.
    mutating func admit(now: Double) -> Admission {
        guard downSince != nil else { return .go }
        if probing { return .wait(0.25) }
        if now >= nextProbe {
            probing = true
            return .go
        }
        return .wait(nextProbe - now)
    }

    /// Any HTTP answer, even an error: the API is reachable. Returns how long it was down, if
    /// it was.
    mutating func answered(now: Double) -> Double? {
        answeredOnce = true
        probing = false
        probes = 0
        defer { downSince = nil }
        return downSince.map { now - $0 }
    }

    /// A request could not reach the API.
    mutating func unreachable(_ reason: String, now: Double, random: Double) -> Verdict {
        probing = false
        let announce = downSince == nil
        let since = downSince ?? now
        downSince = since
        let limit = answeredOnce ? policy.outage : policy.firstContact
        if let limit, now - since >= limit {
            return .stop(answeredOnce ? .outlasted(reason: reason, seconds: limit) : .neverAnswered(reason: reason, seconds: limit))
        }
        var delay = backoff.delay(attempt: probes, random: random)
        probes += 1
        // The last probe lands on the deadline, so the verdict comes when promised.
        if let limit { delay = min(delay, max(0, since + limit - now)) }
        nextProbe = now + delay
        return .retry(announce: announce)
    }
}

/// `APIHealthMachine` shared by a run's pollers.
final class APIHealth: Sendable {
    private let machine: Mutex<APIHealthMachine>
    init(policy: APIHealthPolicy) { machine = Mutex(APIHealthMachine(policy: policy)) }

    /// How long the run waits now: for a first answer, or out an outage.
    var waitLimit: Double? { machine.withLock { $0.answeredOnce ? $0.policy.outage : $0.policy.firstContact } }

    /// Waits until a request may go.
    func admitted() async throws {
        while true {
            let admission = machine.withLock { $0.admit(now: Date().timeIntervalSince1970) }
            guard case .wait(let d) = admission else { return }
            try await Task.sleep(nanoseconds: UInt64(max(0.01, d) * 1e9))
        }
    }

    func answered() -> Double? { machine.withLock { $0.answered(now: Date().timeIntervalSince1970) } }

    func unreachable(_ reason: String, random: Double) -> APIHealthMachine.Verdict {
        machine.withLock { $0.unreachable(reason, now: Date().timeIntervalSince1970, random: random) }
    }
}
