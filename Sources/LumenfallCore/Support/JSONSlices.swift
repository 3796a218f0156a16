import Foundation

/// Byte ranges of the elements of a top-level array member (`"data": [...]`) in a JSON
/// document, so a list page's objects can be kept exactly as the server wrote them (key order,
/// number formats, escapes), as a single object is. Only for text that a JSON parser already
/// accepted: it tracks strings and nesting, not grammar. nil when the member is not an array.
enum JSONSlices {
    static func elements(ofMember name: String, in b: [UInt8]) -> [Range<Int>]? {
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        var i = 0
        var depth = 0
        var found: [Range<Int>]?  // the last "data" wins, as with the parsed object
        /// Index just past the string that starts at `start` (a quote).
        func endOfString(_ start: Int) -> Int {
            var j = start + 1
            while j < b.count {
                if b[j] == backslash {
                    j += 2
                    continue
                }
                if b[j] == quote { return j + 1 }
                j += 1
            }
            return b.count
        }
        func skipSpace(_ j: inout Int) {
            while j < b.count, b[j] == 0x20 || b[j] == 0x0A || b[j] == 0x0D || b[j] == 0x09 { j += 1 }
        }
        var expectKey = false
        while i < b.count {
            let c = b[i]
            switch c {
            case quote:
                let end = endOfString(i)
                if depth == 1 && expectKey {
                    var j = end
                    skipSpace(&j)
                    if j < b.count, b[j] == UInt8(ascii: ":"), Self.keyEquals(b[(i + 1)..<(end - 1)], name) {
                        j += 1
                        skipSpace(&j)
                        if j < b.count, b[j] == UInt8(ascii: "[") {
                            let (ranges, after) = arrayElements(b, from: j, endOfString: endOfString)
                            found = ranges
                            i = after
                            expectKey = false
                            continue
                        }
                    }
                    expectKey = false
                }
                i = end
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                expectKey = c == UInt8(ascii: "{") && depth == 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
            case UInt8(ascii: ","):
                if depth == 1 { expectKey = true }
            default:
                break
            }
            i += 1
        }
        return found
    }

    /// The elements of the array whose `[` is at `start`, trimmed; and the index after its `]`.
    private static func arrayElements(_ b: [UInt8], from start: Int, endOfString: (Int) -> Int) -> ([Range<Int>], Int) {
        var out: [Range<Int>] = []
        var depth = 0
        var i = start
        var elementStart: Int?
        var lastNonSpace = start
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                if depth == 1 && elementStart == nil { elementStart = i }
                i = endOfString(i)
                lastNonSpace = i
                continue
            }
            let space = c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09
            switch c {
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth == 2 && elementStart == nil { elementStart = i }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
                if depth == 0 {
                    if let s = elementStart { out.append(s..<lastNonSpace) }
                    return (out, i + 1)
                }
            case UInt8(ascii: ",") where depth == 1:
                if let s = elementStart { out.append(s..<lastNonSpace) }
                elementStart = nil
                i += 1
                continue
            default:
                if depth == 1 && !space && elementStart == nil { elementStart = i }
            }
            if !space { lastNonSpace = i + 1 }
            i += 1
        }
        return (out, b.count)
    }

    /// A key's raw bytes against a plain name; a key written with escapes ("d\u0061ta") is
    /// decoded first.
    private static func keyEquals(_ raw: ArraySlice<UInt8>, _ name: String) -> Bool {
        if !raw.contains(UInt8(ascii: "\\")) { return raw.elementsEqual(name.utf8) }
        let quoted = [UInt8(ascii: "\"")] + Array(raw) + [UInt8(ascii: "\"")]
        guard let s = try? JSONDecoder().decode(String.self, from: Data(quoted)) else { return false }
        return s == name
    }
}
