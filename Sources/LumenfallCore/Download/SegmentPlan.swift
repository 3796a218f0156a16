/// One byte range of a segmented download: `[start, end)`, of which `[start, next)` is in the
/// `.part` already.
struct SegmentRange: Codable, Equatable, Sendable {
    var start: Int64
    var end: Int64
    var next: Int64

    var isDone: Bool { next >= end }
    var remaining: Int64 { max(0, end - next) }
}

/// How a file of `total` bytes is split over several connections (`--segments N`), and what
/// each one has written. Pure (no I/O), saved in the `.part.state` so a killed run resumes every
/// range where it stopped. Invariant: the ranges are sorted, touch end to end and cover
/// `[0, total)`, and `next` stays within its range.
struct SegmentPlan: Codable, Equatable, Sendable {
    /// Ranges below this are not worth a connection of their own.
    static let minimumSegment: Int64 = 1 << 20

    var total: Int64
    var ranges: [SegmentRange]

    /// Splits `[done, total)` into at most `count` near-equal ranges of at least
    /// `minimumSegment` bytes; `[0, done)` (a `.part` written in one piece) joins the first.
    /// Nil when there is nothing to split (fewer than two ranges would result).
    static func split(total: Int64, done: Int64 = 0, count: Int, minimum: Int64 = minimumSegment) -> SegmentPlan? {
        guard total > 0, done >= 0, done < total, count > 1 else { return nil }
        let rest = total - done
        let n = Int(min(Int64(count), rest / max(1, minimum)))
        guard n > 1 else { return nil }
        // rest * i would overflow for a total a hostile server puts near 2^63: split by
        // quotient and remainder instead (the first `extra` ranges get one byte more).
        let (base, extra) = rest.quotientAndRemainder(dividingBy: Int64(n))
        func offset(_ i: Int) -> Int64 { done + base * Int64(i) + min(Int64(i), extra) }
        var ranges: [SegmentRange] = []
        for i in 0..<n {
            let from = offset(i)
            let to = offset(i + 1)
            ranges.append(SegmentRange(start: i == 0 ? 0 : from, end: to, next: from))
        }
        return SegmentPlan(total: total, ranges: ranges)
    }

    /// A plan read back from a state file is used only if it still describes a file of this
    /// size exactly: a damaged or foreign one must not steer writes.
    var isValid: Bool {
        guard total > 0, let first = ranges.first, first.start == 0, ranges.last?.end == total else { return false }
        var at: Int64 = 0
        for r in ranges {
            guard r.start == at, r.end > r.start, r.next >= r.start, r.next <= r.end else { return false }
            at = r.end
        }
        return true
    }

    var isComplete: Bool { ranges.allSatisfy(\.isDone) }

    /// Bytes already in the `.part`.
    var written: Int64 { ranges.reduce(0) { $0 + ($1.next - $1.start) } }

    /// The bytes from 0 that are all written: what a hash in file order could cover.
    var contiguous: Int64 {
        var at: Int64 = 0
        for r in ranges {
            at = r.next
            if !r.isDone { break }
        }
        return at
    }

    /// The ranges still to fetch. A range is named by its `start`, which never changes.
    var pending: [SegmentRange] { ranges.filter { !$0.isDone } }

    /// The range that starts at `start`, as it is now (its end may have moved: see `steal`).
    func range(startingAt start: Int64) -> SegmentRange? { ranges.first { $0.start == start } }

    /// Records that the range starting at `start` now reaches `next` (never backwards, never
    /// past its end).
    mutating func advance(startingAt start: Int64, to next: Int64) {
        guard let i = ranges.firstIndex(where: { $0.start == start }) else { return }
        ranges[i].next = min(ranges[i].end, max(ranges[i].next, next))
    }

    /// A connection that finished its range takes the second half of the biggest one left, as
    /// aria2c does, so one slow connection does not hold up the end of the file. The range it
    /// comes from ends earlier; its connection stops there. Nil when no range has at least
    /// twice `minimum` left.
    mutating func steal(minimum: Int64 = minimumSegment) -> SegmentRange? {
        guard let i = ranges.indices.max(by: { ranges[$0].remaining < ranges[$1].remaining }),
            ranges[i].remaining >= 2 * minimum
        else { return nil }
        let mid = ranges[i].next + ranges[i].remaining / 2
        let taken = SegmentRange(start: mid, end: ranges[i].end, next: mid)
        ranges[i].end = mid
        ranges.insert(taken, at: i + 1)
        return taken
    }
}
