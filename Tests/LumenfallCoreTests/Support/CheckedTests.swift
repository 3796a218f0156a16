import Foundation
import Testing

@testable import LumenfallCore

@Suite struct CheckedTests {
    @Test func outOfRangeNumbersAreAbsentNotFatal() throws {
        for p in ["1e300", "-1e300", "101", "-1", "true", "\"50\""] {
            let v = try VideoObject(json: Array(Mutator.replaceValue(of: "progress", in: Mutator.base, with: p).utf8))
            #expect(v.progress == nil, "progress \(p)")
        }
        let half = try VideoObject(json: Array(Mutator.replaceValue(of: "progress", in: Mutator.base, with: "42.5").utf8))
        #expect(half.progress == 42.5)
        for c in ["-1", "true", "\"0.21\""] {
            let v = try VideoObject(json: Array(Mutator.replaceValue(of: "cost_estimate", in: Mutator.base, with: c).utf8))
            #expect(v.cost == nil, "cost \(c)")
        }
        #expect(Checked.int64(NSNumber(value: 1e300)) == nil)
        #expect(Checked.int64(NSNumber(value: 2.5)) == nil)
        #expect(Checked.int64(NSNumber(value: 42)) == 42)
        #expect(Checked.int64(true as NSNumber) == nil)
        #expect(Checked.nanoseconds(.infinity) == 1_000_000_000 * 1_000_000_000)
        #expect(Checked.nanoseconds(.nan) == 0)
        #expect(Checked.wholeSeconds(1e300) == Int(9.0e18))
    }
}
