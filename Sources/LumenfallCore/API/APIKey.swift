import Foundation

/// The API key. Its descriptions are redacted, so interpolating it into a log line or an error
/// by mistake prints nothing secret; the only way out is `authorizationHeader`.
public struct APIKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    fileprivate let secret: String
    /// The forms `redact(bytes:)` looks for, made once: the raw key and its JSON-escaped form.
    private let forms: [[UInt8]]

    public init?(_ raw: String) {
        let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        // A newline inside would let a key file inject headers.
        guard !trimmed.isEmpty, !trimmed.contains(where: { $0.isNewline || $0 == "\0" }) else { return nil }
        secret = trimmed
        forms = Set([trimmed, trimmed.replacingOccurrences(of: "/", with: "\\/")]).map { Array($0.utf8) }
    }

    var authorizationHeader: String { "Authorization: Bearer \(secret)" }

    /// Keys shorter than this are not searched for in output: replacing a one-letter "key"
    /// everywhere garbles every line ("0 e<redacted API key>pired"), and no real key is that
    /// short. The CLI warns that such a key looks wrong.
    public static let minRedactedLength = 8
    public var looksTooShort: Bool { secret.count < Self.minRedactedLength }

    static let redactedText = "<redacted API key>"

    /// Replaces the key in bytes bound for a file (a sidecar): a server that echoes the
    /// Authorization header into `prompt` or `model` must not get the key stored on disk and in
    /// archives. Both the raw form and the JSON-escaped one (`/` as `\/`) are replaced.
    public func redact(bytes: [UInt8]) -> [UInt8] {
        guard !looksTooShort else { return bytes }
        var out = bytes
        for form in forms { out = Self.replace(form, with: Array(Self.redactedText.utf8), in: out) }
        return out
    }

    static func replace(_ needle: [UInt8], with replacement: [UInt8], in hay: [UInt8]) -> [UInt8] {
        guard !needle.isEmpty, hay.count >= needle.count else { return hay }
        var out: [UInt8] = []
        out.reserveCapacity(hay.count)
        var i = 0
        while i < hay.count {
            if hay[i] == needle[0], i + needle.count <= hay.count, hay[i..<(i + needle.count)].elementsEqual(needle) {
                out += replacement
                i += needle.count
            } else {
                out.append(hay[i])
                i += 1
            }
        }
        return out
    }

    /// For callers that must make sure the key never landed somewhere (tests, the demo).
    public func occurs(in bytes: [UInt8]) -> Bool {
        let needle = Array(secret.utf8)
        guard !needle.isEmpty, bytes.count >= needle.count else { return false }
        for i in 0...(bytes.count - needle.count) where bytes[i] == needle[0] {
            if Array(bytes[i..<(i + needle.count)]) == needle { return true }
        }
        return false
    }

    public var description: String { "<redacted API key>" }
    public var debugDescription: String { description }
}

extension APIKey {
    /// Replaces every occurrence of the key in a text bound for a person.
    public func redact(_ text: String) -> String {
        looksTooShort ? text : text.replacingOccurrences(of: secret, with: Self.redactedText)
    }
}
