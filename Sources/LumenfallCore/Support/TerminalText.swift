/// The one sanitiser at the printing edge: every string from outside (a server's message, an
/// id from a listing, a host name, an archive member's name) passes here before it reaches a
/// terminal or a log line. C0 controls, DEL and C1 controls become visible escapes (`\x1b`),
/// so a server cannot move the cursor, retitle the window, or overwrite a line with a bare CR
/// to forge an "OK". Newline and tab too: every caller prints one line.
package enum TerminalText {
    package static func safe(_ s: String) -> String {
        // Most lines have nothing to escape: return them as they are, without a copy.
        guard s.unicodeScalars.contains(where: { isControl($0) }) else { return s }
        var out = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            if isControl(u) {
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
    package static func safeJSON(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            if u.value >= 0x20, isControl(u) {
                let hex = String(u.value, radix: 16)
                out.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).unicodeScalars)
            } else {
                out.append(u)
            }
        }
        return String(out)
    }

    static func isControl(_ u: Unicode.Scalar) -> Bool {
        let v = u.value
        // C0, DEL, C1; plus the bidi overrides and line/paragraph separators that rearrange
        // or break what a terminal shows.
        return v < 0x20 || v == 0x7F || (0x80...0x9F).contains(v)
            || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v) || v == 0x2028 || v == 0x2029
    }
}
