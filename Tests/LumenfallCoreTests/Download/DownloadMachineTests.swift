import Foundation
import Testing

@testable import LumenfallCore

/// One test per transition of DownloadMachine, with a fixed clock and randomness.
@Suite struct DownloadMachineTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    let retry = RetryPolicy(initialDelay: 1, maxDelay: 60, maxRetries: 2)

    func machine(part: Int64 = 0, maxTime: Double? = nil, expiresAt: Date? = nil) -> DownloadMachine {
        DownloadMachine(
            policy: .init(retry: retry, maxURLRefreshes: 2, maxTime: maxTime), start: t0,
            partSize: part, expiresAt: expiresAt)
    }

    func ended(
        _ d: HeadDecision?, size: Int64, error: String? = nil, timedOut: Bool = false,
        apiKey: Bool = false
    ) -> DownloadMachine.Attempt {
        DownloadMachine.Attempt(decision: d, transportError: error, timedOut: timedOut, size: size, host: "cdn.test", usesAPIKey: apiKey)
    }

    func at(_ s: Double) -> Date { t0.addingTimeInterval(s) }

    @Test func aWholeBodyOrAConfirming416Finishes() {
        var m = machine()
        #expect(m.next(ended(.write(offset: 0, total: 100, reason: nil), size: 100), now: at(1), random: 0.5) == .finish)
        #expect(m.next(ended(.write(offset: 0, total: nil, reason: nil), size: 7), now: at(1), random: 0.5) == .finish)
        #expect(m.next(ended(.complete(total: 100), size: 100), now: at(1), random: 0.5) == .finish)
    }

    @Test func aShortBodyIsRetriedAndProgressResetsTheCount() {
        var m = machine()
        // Each attempt gets further: always the first backoff step, never a give-up.
        for size in [10, 20, 30, 40, 50] as [Int64] {
            let a = m.next(ended(.write(offset: 0, total: 100, reason: nil), size: size), now: at(1), random: 0.5)
            #expect(a == .retry(reason: .closedEarly(at: size, of: 100), delay: 1, discard: false))
        }
    }

    @Test func attemptsThatGetNoFurtherRunOut() {
        var m = machine()
        let drop = ended(.write(offset: 0, total: 100, reason: nil), size: 50)
        #expect(
            m.next(drop, now: at(1), random: 0.5) == .retry(reason: .closedEarly(at: 50, of: 100), delay: 1, discard: false))
        // A Range-ignoring host truncates to 0 and drops at 50 again: not progress.
        #expect(
            m.next(drop, now: at(2), random: 0.5) == .retry(reason: .closedEarly(at: 50, of: 100), delay: 2, discard: false))
        #expect(
            m.next(drop, now: at(3), random: 0.5)
                == .fail(.failed(.gaveUp(attempts: 3, last: .closedEarly(at: 50, of: 100)))))
    }

    @Test func aPartFromAnEarlierRunIsTheMarkToBeat() {
        var m = machine(part: 80)
        let a = m.next(ended(.write(offset: 0, total: 100, reason: nil), size: 60), now: at(1), random: 0.5)
        #expect(a == .retry(reason: .closedEarly(at: 60, of: 100), delay: 1, discard: false))
        _ = m.next(ended(.write(offset: 0, total: 100, reason: nil), size: 60), now: at(1), random: 0.5)
        #expect(
            m.next(ended(nil, size: 60), now: at(1), random: 0.5)
                == .fail(.failed(.gaveUp(attempts: 3, last: .noAnswer(host: "cdn.test")))))
    }

    @Test func moreBytesThanAnnouncedDiscardThePart() {
        var m = machine()
        let over = ended(.write(offset: 0, total: 100, reason: nil), size: 150)
        #expect(
            m.next(over, now: at(1), random: 0.5)
                == .retry(reason: .longerThanAnnounced(100), delay: 1, discard: true))
        _ = m.next(over, now: at(1), random: 0.5)
        // Given up, the proven-stale part is still emptied.
        #expect(
            m.next(over, now: at(1), random: 0.5)
                == .fail(
                    .failed(.gaveUp(attempts: 3, last: .longerThanAnnounced(100))),
                    discard: true))
    }

    @Test func aStalePartRestartsAtOnce() {
        var m = machine(part: 500)
        #expect(
            m.next(ended(.restart(.etagChanged(from: "\"a\"", to: "\"b\"")), size: 500), now: at(1), random: 0.5)
                == .retry(reason: .etagChanged(from: "\"a\"", to: "\"b\""), delay: 0, discard: true))
    }

    @Test func retryAfterIsHonoured() {
        var m = machine()
        #expect(
            m.next(ended(.retry(.status(503), after: 7), size: 0), now: at(1), random: 0.5)
                == .retry(reason: .status(503), delay: 7, discard: false))
    }

    @Test func transportErrorsAreRetriedWithBackoff() {
        var m = machine()
        #expect(
            m.next(ended(nil, size: 0, error: "cdn.test: reset"), now: at(1), random: 0.5)
                == .retry(reason: .transport("cdn.test: reset"), delay: 1, discard: false))
        #expect(
            m.next(ended(nil, size: 0, error: "cdn.test: reset"), now: at(1), random: 0.5)
                == .retry(reason: .transport("cdn.test: reset"), delay: 2, discard: false))
    }

    @Test func aRefusedLinkIsRefreshedABoundedNumberOfTimes() {
        var m = machine()
        let refused = ended(.refreshURL(status: 403), size: 0)
        #expect(m.next(refused, now: at(1), random: 0.5) == .refreshLink(status: 403))
        #expect(m.next(refused, now: at(1), random: 0.5) == .refreshLink(status: 403))
        #expect(m.next(refused, now: at(1), random: 0.5) == .fail(.denied(status: 403, host: "cdn.test")))
    }

    @Test func aLinkPastItsExpiryIsExpiredNotDenied() {
        var m = machine(expiresAt: at(10))
        let refused = ended(.refreshURL(status: 403), size: 0)
        _ = m.next(refused, now: at(20), random: 0.5)
        _ = m.next(refused, now: at(20), random: 0.5)
        #expect(m.next(refused, now: at(20), random: 0.5) == .fail(.expired(at(10))))
        // A refreshed object that is already past its expiry ends the id too.
        var fresh = machine()
        #expect(fresh.linkRefreshed(expiresAt: at(5), now: at(6)) == .expired(at(5)))
        #expect(fresh.linkRefreshed(expiresAt: at(50), now: at(6)) == nil)
    }

    @Test func a401FromTheContentEndpointIsTheKeys() {
        var m = machine()
        #expect(m.next(ended(.refreshURL(status: 401), size: 0, apiKey: true), now: at(1), random: 0.5) == .fail(.authenticationFailed))
        #expect(m.next(ended(.refreshURL(status: 401), size: 0), now: at(1), random: 0.5) == .refreshLink(status: 401))
    }

    @Test func redirectsWithoutALocationAndHardFailuresStop() {
        var m = machine()
        #expect(m.next(ended(.redirect, size: 0), now: at(1), random: 0.5) == .fail(.failed(.redirectWithoutLocation(host: "cdn.test"))))
        #expect(
            m.next(ended(.fail(.unexpectedStatus(418)), size: 0), now: at(1), random: 0.5)
                == .fail(.failed(.refused(.unexpectedStatus(418), host: "cdn.test"))))
    }

    @Test func maxTimeBoundsAttemptsWaitsAndTheTransfer() {
        var m = machine(maxTime: 10)
        #expect(m.remaining(now: at(4)) == 6)
        #expect(m.beforeAttempt(now: at(4)) == nil)
        #expect(m.beforeAttempt(now: at(10)) == .timedOut(10))
        // libcurl's own timeout at the deadline is --max-time, not a stall.
        #expect(m.next(ended(nil, size: 5, error: "timeout", timedOut: true), now: at(10), random: 0.5) == .fail(.timedOut(10)))
        // A stall timeout well before the deadline is retried...
        var n = machine(maxTime: 10)
        #expect(
            n.next(ended(nil, size: 5, error: "too slow", timedOut: true), now: at(2), random: 0.5)
                == .retry(reason: .transport("too slow"), delay: 1, discard: false))
        // ...unless the wait would end past the deadline.
        #expect(n.next(ended(.retry(.status(429), after: 30), size: 5), now: at(3), random: 0.5) == .fail(.timedOut(10)))
        #expect(machine().remaining(now: at(4)) == nil)
    }
}
