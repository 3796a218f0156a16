import Foundation
import Testing

@testable import LumenfallCore

@Suite struct APIHealthMachineTests {
    let policy = APIHealthPolicy(firstContact: 10, outage: 100)

    @Test func anAPIThatNeverAnswersIsGivenUpOnAtTheFirstContactLimit() {
        var m = APIHealthMachine(policy: policy)
        #expect(m.admit(now: 0) == .go)
        #expect(m.unreachable("refused", now: 0, random: 0.5) == .retry(announce: true))
        // One probe at a time; the others wait for it.
        #expect(m.admit(now: 0.5) == .wait(0.5))
        #expect(m.admit(now: 1) == .go)
        #expect(m.admit(now: 1) == .wait(0.25))
        #expect(m.unreachable("refused", now: 1, random: 0.5) == .retry(announce: false))
        #expect(m.admit(now: 2) == .wait(1))
        // The last probe lands on the deadline, and its failure ends the run.
        for t in [3.0, 7.0] {
            _ = m.admit(now: t)
            _ = m.unreachable("refused", now: t, random: 0.5)
        }
        #expect(m.admit(now: 10) == .go)
        #expect(m.unreachable("refused", now: 10, random: 0.5) == .stop(.neverAnswered(reason: "refused", seconds: 10)))
    }

    @Test func anOutageAfterAnAnswerIsWaitedOutAndSaidOncePerChange() {
        var m = APIHealthMachine(policy: policy)
        #expect(m.answered(now: 0) == nil)
        #expect(m.unreachable("reset", now: 5, random: 0.5) == .retry(announce: true))
        // Requests already in flight fail too: no second announcement.
        #expect(m.unreachable("reset", now: 5.1, random: 0.5) == .retry(announce: false))
        // The first-contact limit no longer applies: 50 s down is within the outage limit.
        #expect(m.unreachable("reset", now: 55, random: 0.5) == .retry(announce: false))
        #expect(m.answered(now: 60) == 55)
        #expect(m.admit(now: 60) == .go)
        #expect(m.unreachable("reset", now: 70, random: 0.5) == .retry(announce: true))
        #expect(m.unreachable("reset", now: 170, random: 0.5) == .stop(.outlasted(reason: "reset", seconds: 100)))
    }

    @Test func withoutLimitsItWaitsForEverOnACappedBackoff() {
        var m = APIHealthMachine(policy: APIHealthPolicy(firstContact: nil, outage: nil))
        var t = 0.0
        for _ in 0..<200 {
            #expect(m.admit(now: t) == .go)
            guard case .retry = m.unreachable("dns", now: t, random: 0.5) else {
                Issue.record("no limit: never a stop")
                return
            }
            guard case .wait(let d) = m.admit(now: t) else { return }
            #expect(d <= 30)
            t += d
        }
        #expect(t > 3600)
    }
}
