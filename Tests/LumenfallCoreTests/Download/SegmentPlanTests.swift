import Testing

@testable import LumenfallCore

@Suite struct SegmentPlanTests {
    let mib: Int64 = 1 << 20

    @Test func splitsIntoNearEqualRangesThatCoverTheFile() throws {
        let p = try #require(SegmentPlan.split(total: 10 * mib + 3, count: 4))
        #expect(p.ranges.count == 4)
        #expect(p.isValid)
        #expect(p.ranges.map(\.start) == p.ranges.map(\.next))
        #expect(p.written == 0)
        let sizes = p.ranges.map { $0.end - $0.start }
        #expect((sizes.max() ?? 0) - (sizes.min() ?? 0) <= 1)
    }

    /// A total near 2^63 (a hostile Content-Range) splits without overflowing.
    @Test func aHugeTotalSplitsWithoutTrapping() throws {
        let p = try #require(SegmentPlan.split(total: Int64.max - 1, done: 5, count: 16))
        #expect(p.ranges.count == 16)
        #expect(p.isValid)
    }

    @Test func aSmallFileIsNotSplit() {
        #expect(SegmentPlan.split(total: mib + 100, count: 4) == nil)
        #expect(SegmentPlan.split(total: 3 * mib, count: 8)?.ranges.count == 3)
        #expect(SegmentPlan.split(total: 100 * mib, count: 1) == nil)
    }

    @Test func aOnePiecePartBecomesTheHeadOfTheFirstRange() throws {
        let p = try #require(SegmentPlan.split(total: 9 * mib, done: 3 * mib, count: 3))
        #expect(p.ranges[0] == SegmentRange(start: 0, end: 5 * mib, next: 3 * mib))
        #expect(p.ranges[1].start == 5 * mib)
        #expect(p.written == 3 * mib)
        #expect(p.contiguous == 3 * mib)
        #expect(p.isValid)
    }

    @Test func advanceNeverGoesBackOrPastTheEnd() throws {
        var p = try #require(SegmentPlan.split(total: 4 * mib, count: 2))
        p.advance(startingAt: 0, to: 100)
        p.advance(startingAt: 0, to: 50)
        #expect(p.ranges[0].next == 100)
        p.advance(startingAt: 0, to: 99 * mib)
        #expect(p.ranges[0].isDone)
        #expect(p.contiguous == 2 * mib)
        p.advance(startingAt: 12345, to: 1)  // no such range: nothing happens
        #expect(p.pending.map(\.start) == [2 * mib])
        p.advance(startingAt: 2 * mib, to: 4 * mib)
        #expect(p.isComplete)
        #expect(p.written == 4 * mib)
    }

    @Test func stealingSplitsTheBiggestRangeLeft() throws {
        var p = try #require(SegmentPlan.split(total: 8 * mib, count: 2))
        p.advance(startingAt: 0, to: 4 * mib)  // the first is done; the second has 4 MiB left
        let stolen = p.steal()
        let taken = try #require(stolen)
        #expect(taken == SegmentRange(start: 6 * mib, end: 8 * mib, next: 6 * mib))
        #expect(p.range(startingAt: 4 * mib)?.end == 6 * mib)
        #expect(p.isValid)
        // Nothing worth splitting: under two minimums left anywhere.
        p.advance(startingAt: 4 * mib, to: 5 * mib)
        p.advance(startingAt: 6 * mib, to: 7 * mib)
        #expect(p.steal() == nil)
    }

    @Test func aDamagedPlanIsRefused() throws {
        let good = try #require(SegmentPlan.split(total: 4 * mib, count: 2))
        var gap = good
        gap.ranges[1].start += 1
        var overrun = good
        overrun.ranges[0].next = overrun.ranges[0].end + 1
        var short = good
        short.total += 1
        let empty = SegmentPlan(total: 0, ranges: [])
        for bad in [gap, overrun, short, empty] { #expect(!bad.isValid) }
    }
}
