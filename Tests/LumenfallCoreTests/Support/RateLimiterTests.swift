import Foundation
import Testing

@testable import LumenfallCore

@Suite struct RateLimiterTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func aBurstThenTheRateThenAWaitThatRepaysTheDebt() throws {
        let limiter = RateLimiter(bytesPerSecond: 100_000, now: t0)  // burst: 25 000 bytes
        #expect(limiter.take(20_000, now: t0) == nil)
        #expect(limiter.take(20_000, now: t0) == nil, "a chunk is taken whole while any budget is left")
        // 15 000 bytes of debt: wait until it is repaid (plus a byte).
        let wait = try #require(limiter.take(16_384, now: t0))
        #expect(abs(wait - 15_001.0 / 100_000) < 1e-9)
        #expect(limiter.take(16_384, now: t0.addingTimeInterval(wait)) == nil)
    }

    @Test func overTimeTheAverageIsTheRate() {
        let limiter = RateLimiter(bytesPerSecond: 50_000, now: t0)
        var now = t0
        var sent = 0
        while sent < 1_000_000 {
            if let wait = limiter.take(16_384, now: now) {
                now = now.addingTimeInterval(wait)
            } else {
                sent += 16_384
            }
        }
        let seconds = now.timeIntervalSince(t0)
        // 1 MB at 50 kB/s: 20 s, less the burst and one chunk.
        #expect(seconds > 19 && seconds < 21, "\(seconds) s")
    }
}
