import Foundation
import Testing

@testable import LumenfallCore

/// A seeded generator, so a failing mutation can be replayed.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Mutated video objects and list pages, as a hostile or broken server might send them.
enum Mutator {
    static let base = """
        {"id":"video_abc","object":"video","created_at":1702345678,"completed_at":1702345700,\
        "expires_at":1902345678,"status":"completed","model":"sora-2","prompt":"p","progress":100,\
        "seconds":"4","size":"1280x720","output":{"url":"https://cdn.example.com/v.mp4?sig=1"},"error":null,\
        "metadata":{"cost_estimate":0.21,"cost_currency":"USD","provider":"openai"}}
        """

    static let hostileValues: [String] = [
        "1e300", "-1e300", "1e308", "-1e308", "1.7976931348623157e308", "4.9e-324", "-0", "0.5", "99.999",
        "101", "-1", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        "123456789012345678901234567890", "true", "false", "null", "\"50\"", "\"\"", "[]", "{}", "[1,2]",
        "{\"url\":1e300}", "\"\\u001b[2J\\u0007\"", "\"\\ud800\"", String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
        "{\"code\":1e300,\"message\":[]}", "\"in_progress\"", "\"completed\"", "\"\\r\\nOK\"",
    ]

    static let fields = [
        "id", "status", "progress", "created_at", "completed_at", "expires_at", "output",
        "error", "metadata", "model", "prompt", "cost_estimate", "cost_currency", "url", "seconds", "size",
    ]

    /// Replaces a field's value, drops it, or nests the object, at random.
    static func mutate(_ json: String, _ rng: inout SeededRandom) -> String {
        var s = json
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            let field = fields.randomElement(using: &rng)!
            let value = hostileValues.randomElement(using: &rng)!
            switch Int.random(in: 0..<10, using: &rng) {
            case 0:
                // Drop the field's key, leaving its value in a renamed key.
                s = s.replacingOccurrences(of: "\"\(field)\":", with: "\"x_\(field)\":")
            case 1:
                s = "{\"wrapped\":" + s + "}"
            case 2:
                // Truncate at a random point.
                let cut = Int.random(in: 0...s.utf8.count, using: &rng)
                s = String(decoding: Array(s.utf8).prefix(cut), as: UTF8.self)
            default:
                s = replaceValue(of: field, in: s, with: value)
            }
        }
        return s
    }

    /// Replaces the value after `"field":` up to the next `,` or `}` at the same depth.
    static func replaceValue(of field: String, in s: String, with value: String) -> String {
        guard let r = s.range(of: "\"\(field)\":") else { return s }
        var depth = 0
        var inString = false
        var end = r.upperBound
        var i = r.upperBound
        while i < s.endIndex {
            let c = s[i]
            if inString {
                if c == "\\" { i = s.index(after: i) } else if c == "\"" { inString = false }
            } else if c == "\"" {
                inString = true
            } else if c == "{" || c == "[" {
                depth += 1
            } else if c == "}" || c == "]" {
                if depth == 0 { break }
                depth -= 1
            } else if c == ",", depth == 0 {
                break
            }
            if i < s.endIndex { i = s.index(after: i) }
            end = i
        }
        return s.replacingCharacters(in: r.upperBound..<end, with: value)
    }
}

/// Thousands of mutated objects and pages, as a hostile or broken server might send them.
@Suite struct VideoObjectFuzzTests {
    /// Thousands of mutated objects and pages: each decodes to a checked value or a clear
    /// error, and what decodes can be shown and decided on without a trap.
    @Test func mutatedVideoObjectsAndListPagesNeverTrap() async throws {
        var rng = SeededRandom(state: 20261126)
        var decoded = 0, refused = 0, pages = 0
        for round in 0..<4000 {
            // Other tests share the two cooperative threads: give them a turn now and then.
            if round % 50 == 0 { await Task.yield() }
            let text = Mutator.mutate(Mutator.base, &rng)
            do {
                let v = try VideoObject(json: Array(text.utf8))
                decoded += 1
                if let p = v.progress { #expect((0...100).contains(p)) }
                if let c = v.cost { #expect(c.isFinite && c >= 0) }
                // What the CLI does with a decoded object: show its progress, decide on it.
                _ = v.progress.map { Int($0) }
                var machine = PollMachine(policy: PollPolicy())
                _ = machine.next(.video(v), elapsed: 1, random: 0.5)
                _ = Manifest.totalCost([(v.cost, v.currency), (v.cost, v.currency)])
            } catch {
                refused += 1
            }
            let page = "{\"object\":\"list\",\"data\":[\(text),\(Mutator.base)],\"has_more\":true,\"last_id\":\"video_abc\"}"
            for candidate in [page, Mutator.mutate(page, &rng)] {
                if let p = try? APIClient.parsePage(Array(candidate.utf8)) {
                    pages += 1
                    for v in p.videos { if let pr = v.progress { #expect((0...100).contains(pr)) } }
                }
            }
        }
        // Both outcomes must actually occur, or the mutations test nothing.
        #expect(decoded > 500)
        #expect(refused > 500)
        #expect(pages > 100)
    }

    /// `seconds` as a number is shown as whole seconds; one no Int holds is unknown, not a trap.
    @Test func aDurationNoIntHoldsIsUnknown() throws {
        for (value, shown) in [("8", "8"), ("12.5", "12"), ("1e300", nil), ("-1e300", nil), ("\"4\"", "4")] as [(String, String?)] {
            let v = try VideoObject(json: Array(Mutator.replaceValue(of: "seconds", in: Mutator.base, with: value).utf8))
            #expect(v.seconds == shown, "\(value)")
        }
    }
}
