import Foundation

/// Values from outside (a server's JSON, a file in the folder, a header) converted without a
/// trap: Swift's `Int(Double)` traps on NaN, infinity and anything out of range, and one such
/// value must never take the whole batch down with it.
package enum Checked {
    /// An integer that a JSON number, or a numeric string, denotes exactly; nil otherwise
    /// (fractional, non-finite, out of range, or not a number at all, booleans included).
    package static func int64(_ v: Any?) -> Int64? {
        guard let n = v as? NSNumber, !isBool(n) else { return nil }
        let d = n.doubleValue
        guard d.isFinite, d == d.rounded(), abs(d) < 9.0e18 else { return nil }
        // Large integers lose precision as doubles; the integer view is exact when it agrees.
        let i = n.int64Value
        return Double(i) == d ? i : Int64(d)
    }

    /// A finite double, or nil (NaN, infinity, booleans, strings).
    package static func double(_ v: Any?) -> Double? {
        guard let n = v as? NSNumber, !isBool(n) else { return nil }
        let d = n.doubleValue
        return d.isFinite ? d : nil
    }

    /// JSON `true`/`false` bridge to NSNumber too; a number field holding one is malformed.
    static func isBool(_ n: NSNumber) -> Bool {
        // Both Foundations box JSON booleans in a private NSNumber subclass (__NSCFBoolean).
        String(describing: type(of: n)).contains("Boolean")
    }

    /// Seconds to nanoseconds for `Task.sleep`, clamped: a delay that is NaN, negative or
    /// absurd never traps the UInt64 conversion.
    package static func nanoseconds(_ seconds: Double) -> UInt64 {
        guard !seconds.isNaN, seconds > 0 else { return 0 }
        return UInt64(min(seconds, 1e9) * 1e9)
    }

    /// Whole seconds of a finite value clamped to Int's range, for messages.
    package static func wholeSeconds(_ seconds: Double) -> Int {
        guard seconds.isFinite else { return seconds > 0 ? Int.max : 0 }
        return Int(max(-9.0e18, min(9.0e18, seconds)))
    }
}

/// Sleeps for `seconds` (clamped; see Checked.nanoseconds), honouring cancellation.
func sleep(seconds: Double) async throws {
    try await Task.sleep(nanoseconds: Checked.nanoseconds(seconds))
}
