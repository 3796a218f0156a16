/// The API key. Its descriptions are redacted, so interpolating it into a log line or an error
/// by mistake prints nothing secret; the only way out is `authorizationHeader`.
public struct APIKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    fileprivate let secret: String

    public init?(_ raw: String) {
        let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        // A newline inside would let a key file inject headers.
        guard !trimmed.isEmpty, !trimmed.contains(where: { $0.isNewline || $0 == "\0" }) else { return nil }
        secret = trimmed
    }

    var authorizationHeader: String { "Authorization: Bearer \(secret)" }

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

import Foundation

extension APIKey {
    /// Replaces every occurrence of the key in a text bound for a person.
    public func redact(_ text: String) -> String {
        text.replacingOccurrences(of: secret, with: "<redacted API key>")
    }
}
