import Foundation
import Testing

@testable import LumenfallCore

@Suite struct ParsingTests {
    @Test func sinceAcceptsDatesAndAges() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(parseSince("36h", now: now) == now.addingTimeInterval(-36 * 3600))
        #expect(parseSince("7d", now: now) == now.addingTimeInterval(-7 * 86400))
        #expect(parseSince("2027-01-15", now: now) == Date(timeIntervalSince1970: 1_800_000_000 - 8 * 3600))
        #expect(parseSince("2027-01-15T08:00:00Z", now: now) == now)
        #expect(parseSince("soon", now: now) == nil)
        for absurd in ["infd", "nanh", "1e300d", "-3d"] { #expect(parseSince(absurd, now: now) == nil, "\(absurd)") }
    }

    @Test func sizesUseBinaryUnits() {
        #expect(parseSize("2G") == 2 << 30)
        #expect(parseSize("500M") == 500 << 20)
        #expect(parseSize("1.5K") == 1536)
        #expect(parseSize("1024") == 1024)
        #expect(parseSize("2GiB") == 2 << 30)
        #expect(parseSize("0") == nil)
        #expect(parseSize("-1G") == nil)
        #expect(parseSize("lots") == nil)
    }
}
