import Foundation
import Testing

@testable import LumenfallCore

@Suite struct RetryAfterTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func secondsAndDatesAreParsedAndClamped() {
        #expect(RetryAfter.parse("5", now: now) == 5)
        #expect(RetryAfter.parse("-3", now: now) == 0)
        #expect(RetryAfter.parse("999999", now: now) == 300)
        #expect(RetryAfter.parse("soon", now: now) == nil)
        #expect(RetryAfter.parse(nil, now: now) == nil)
        // 1_800_000_030 is Fri, 15 Jan 2027 08:00:30 GMT.
        #expect(RetryAfter.parse("Fri, 15 Jan 2027 08:00:30 GMT", now: now) == 30)
        #expect(RetryAfter.parse("Fri, 15 Jan 2027 07:00:00 GMT", now: now) == 0)
    }
}
