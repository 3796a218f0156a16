import Foundation
import Testing

@testable import LumenfallCore

@Suite struct PollMachineTests {
    let policy = PollPolicy(
        interval: 2, maxInterval: 10, maxWait: 100,
        retry: RetryPolicy(initialDelay: 1, maxDelay: 30, maxRetries: 3), maxMalformed: 2)

    @Test func completedMeansDownload() {
        var m = PollMachine(policy: policy)
        #expect(m.next(.video(video("completed")), elapsed: 0, random: 0.5) == .download)
    }

    @Test func pendingWaitsGrowFromTheIntervalUpToTheCap() {
        var m = PollMachine(policy: policy)
        var waits: [Double] = []
        for _ in 0..<8 {
            guard case .wait(let d) = m.next(.video(video("in_progress")), elapsed: 0, random: 0.5) else {
                Issue.record("expected a wait")
                return
            }
            waits.append(d)
        }
        #expect(waits.first == 2)
        #expect(waits == waits.sorted())
        #expect(waits.last == 10)
    }

    @Test func jitterSpreadsTheWait() {
        var a = PollMachine(policy: policy)
        var b = PollMachine(policy: policy)
        #expect(a.next(.video(video("queued")), elapsed: 0, random: 0) == .wait(1.6))
        #expect(b.next(.video(video("queued")), elapsed: 0, random: 0.999_999) != .wait(1.6))
    }

    @Test func failedCancelledAndUnknownStatusesAreNeverSuccess() {
        var m = PollMachine(policy: policy)
        let failed = video("failed", extra: ",\"error\":{\"code\":\"moderation\",\"message\":\"flagged\"}")
        #expect(m.next(.video(failed), elapsed: 0, random: 0) == .stop(.generationFailed(code: "moderation", message: "flagged")))
        #expect(m.next(.video(video("cancelled")), elapsed: 0, random: 0) == .stop(.cancelled))
        #expect(m.next(.video(video("archived")), elapsed: 0, random: 0) == .stop(.unknownStatus("archived")))
    }

    @Test func unauthorizedStopsAtOnceAndClientErrorsStopTheId() {
        var m = PollMachine(policy: policy)
        #expect(
            m.next(
                .error(.http(status: 401, code: "AUTHENTICATION_FAILED", message: "bad", retryAfter: nil)),
                elapsed: 0, random: 0) == .stop(.authenticationFailed(message: "bad")))
        for status in [400, 402, 404] {
            let e = APIError.http(status: status, code: "X", message: "m", retryAfter: nil)
            #expect(m.next(.error(e), elapsed: 0, random: 0) == .stop(.refused(status: status, code: "X", message: "m")))
        }
    }

    @Test func retryAfterIsHonouredForRateLimits() {
        var m = PollMachine(policy: policy)
        let e = APIError.http(status: 429, code: "RATE_LIMITED", message: nil, retryAfter: 7)
        #expect(m.next(.error(e), elapsed: 0, random: 0.5) == .wait(7))
    }

    @Test func transientFailuresBackOffAndAreBounded() {
        var m = PollMachine(policy: policy)
        let e = APIError.http(status: 503, code: nil, message: nil, retryAfter: nil)
        #expect(m.next(.error(e), elapsed: 0, random: 0.5) == .wait(1))
        #expect(m.next(.error(.transport("reset", isTimeout: false)), elapsed: 0, random: 0.5) == .wait(2))
        #expect(m.next(.error(e), elapsed: 0, random: 0.5) == .wait(4))
        #expect(m.next(.error(e), elapsed: 0, random: 0.5) == .stop(.gaveUp(failures: 4, last: e)))
    }

    @Test func aGoodAnswerResetsTheFailureCount() {
        var m = PollMachine(policy: policy)
        let e = APIError.http(status: 502, code: nil, message: nil, retryAfter: nil)
        for _ in 0..<3 { _ = m.next(.error(e), elapsed: 0, random: 0.5) }
        _ = m.next(.video(video("in_progress")), elapsed: 0, random: 0.5)
        #expect(m.next(.error(e), elapsed: 0, random: 0.5) == .wait(1))
    }

    @Test func malformedAnswersAreRetriedThenGivenUp() {
        var m = PollMachine(policy: policy)
        #expect(m.next(.error(.malformed("html")), elapsed: 0, random: 0.5) == .wait(1))
        #expect(m.next(.error(.malformed("html")), elapsed: 0, random: 0.5) == .wait(2))
        #expect(m.next(.error(.malformed("html")), elapsed: 0, random: 0.5) == .stop(.gaveUp(failures: 3, last: .malformed("html"))))
    }

    @Test func neverWaitsPastMaxWait() {
        var m = PollMachine(policy: policy)
        #expect(m.next(.video(video("queued")), elapsed: 99.5, random: 0.5) == .wait(0.5))
        #expect(m.next(.video(video("queued")), elapsed: 100, random: 0.5) == .stop(.timedOut(100)))
    }

    @Test func oversizedAnswersStopTheId() {
        var m = PollMachine(policy: policy)
        #expect(m.next(.error(.tooLarge(limit: 8 << 20)), elapsed: 0, random: 0) == .stop(.unusable(.tooLarge(limit: 8 << 20))))
    }
}
