import Foundation
import Testing

@testable import LumenfallCore

@Suite struct UTCStringTests {
    @Test func formatsLikeISO8601InUTC() {
        #expect(utcString(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00Z")
        #expect(utcString(Date(timeIntervalSince1970: 1_795_684_200.9)) == "2026-11-26T09:10:00Z")
        #expect(utcString(Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29T00:00:00Z")
        #expect(utcString(Date(timeIntervalSince1970: 7_258_118_399)) == "2199-12-31T23:59:59Z")
    }
}
