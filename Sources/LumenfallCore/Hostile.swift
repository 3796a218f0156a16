import Foundation

/// Values from outside (a server's JSON, a file in the folder, a header) converted without a
/// trap: Swift's `Int(Double)` traps on NaN, infinity and anything out of range, and one such
/// value must never take the whole batch down with it.
public enum Checked {
    /// An integer that a JSON number, or a numeric string, denotes exactly; nil otherwise
    /// (fractional, non-finite, out of range, or not a number at all, booleans included).
    public static func int64(_ v: Any?) -> Int64? {
        guard let n = v as? NSNumber, !isBool(n) else { return nil }
        let d = n.doubleValue
        guard d.isFinite, d == d.rounded(), abs(d) < 9.0e18 else { return nil }
        // Large integers lose precision as doubles; the integer view is exact when it agrees.
        let i = n.int64Value
        return Double(i) == d ? i : Int64(d)
    }

    /// A finite double, or nil (NaN, infinity, booleans, strings).
    public static func double(_ v: Any?) -> Double? {
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
    public static func nanoseconds(_ seconds: Double) -> UInt64 {
        guard !seconds.isNaN, seconds > 0 else { return 0 }
        return UInt64(min(seconds, 1e9) * 1e9)
    }

    /// Whole seconds of a finite value clamped to Int's range, for messages.
    public static func wholeSeconds(_ seconds: Double) -> Int {
        guard seconds.isFinite else { return seconds > 0 ? Int.max : 0 }
        return Int(max(-9.0e18, min(9.0e18, seconds)))
    }
}

/// Sleeps for `seconds` (clamped; see Checked.nanoseconds), honouring cancellation.
func sleep(seconds: Double) async throws {
    try await Task.sleep(nanoseconds: Checked.nanoseconds(seconds))
}

/// The one sanitiser at the printing edge: every string from outside (a server's message, an
/// id from a listing, a host name, an archive member's name) passes here before it reaches a
/// terminal or a log line. C0 controls, DEL and C1 controls become visible escapes (`\x1b`),
/// so a server cannot move the cursor, retitle the window, or overwrite a line with a bare CR
/// to forge an "OK". Newline and tab are kept only where the caller allows them.
public enum TerminalText {
    public static func safe(_ s: String, keepNewlines: Bool = false) -> String {
        // Most lines have nothing to escape: return them as they are, without a copy.
        guard s.unicodeScalars.contains(where: { isControl($0, keepNewlines: keepNewlines) }) else { return s }
        var out = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            if isControl(u, keepNewlines: keepNewlines) {
                let hex = String(u.value, radix: 16)
                let text = u.value <= 0xFF ? "\\x" + (hex.count < 2 ? "0" + hex : hex) : "\\u{\(hex)}"
                out.append(contentsOf: text.unicodeScalars)
            } else {
                out.append(u)
            }
        }
        return String(out)
    }

    /// JSON bound for a terminal (`list --json`): JSON itself escapes C0 controls, but DEL, C1
    /// and the bidi controls may appear raw inside strings. They are written as `\uXXXX`, which
    /// is the same JSON value, so a parser reads exactly what the server sent.
    public static func safeJSON(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            if u.value >= 0x20, isControl(u, keepNewlines: false) {
                let hex = String(u.value, radix: 16)
                out.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).unicodeScalars)
            } else {
                out.append(u)
            }
        }
        return String(out)
    }

    static func isControl(_ u: Unicode.Scalar, keepNewlines: Bool) -> Bool {
        let v = u.value
        if keepNewlines && (v == 0x0A || v == 0x09) { return false }
        // C0, DEL, C1; plus the bidi overrides and line/paragraph separators that rearrange
        // or break what a terminal shows.
        return v < 0x20 || v == 0x7F || (0x80...0x9F).contains(v)
            || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v) || v == 0x2028 || v == 0x2029
    }
}
