import Crypto
import Foundation

/// A Standard Webhooks secret (`whsec_` + base64 of the key bytes). Its text is never kept,
/// printed or logged: only the key, for HMAC.
public struct WebhookSecret: Sendable, CustomStringConvertible {
    private let bytes: [UInt8]
    var key: SymmetricKey { SymmetricKey(data: bytes) }
    /// Whatever prints a secret by mistake prints this.
    public var description: String { "whsec_<redacted>" }

    /// nil when the text is not a usable secret (empty, or not base64 after `whsec_`).
    public init?(_ text: String) {
        var t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if t.hasPrefix("whsec_") { t.removeFirst("whsec_".count) }
        guard !t.isEmpty, let bytes = Data(base64Encoded: t), !bytes.isEmpty else { return nil }
        self.bytes = Array(bytes)
    }

    /// Several secrets (rotation) in one text: separated by spaces, commas or new lines.
    public static func list(_ text: String) -> [WebhookSecret]? {
        let parts = text.split { $0 == " " || $0 == "," || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        let secrets = parts.compactMap { WebhookSecret(String($0)) }
        return secrets.isEmpty || secrets.count != parts.count ? nil : secrets
    }
}

/// Checks a delivery as the Standard Webhooks specification says: HMAC-SHA256 over
/// `{webhook-id}.{webhook-timestamp}.{body}`, base64, one or more `v1,<sig>` entries separated by
/// spaces in `webhook-signature`; any of them under any of our secrets will do (rotation), and
/// the timestamp must be within `tolerance` of now either way (replays).
public struct WebhookVerifier: Sendable {
    package var secrets: [WebhookSecret]
    package var tolerance: TimeInterval = 300

    public init(secrets: [WebhookSecret], tolerance: TimeInterval = 300) {
        self.secrets = secrets
        self.tolerance = tolerance
    }

    package enum Verdict: Equatable, Sendable {
        case valid
        /// webhook-id, webhook-timestamp or webhook-signature is missing or empty.
        case missingHeaders
        case badTimestamp
        /// Seconds between the timestamp and now (positive: in the past).
        case stale(Int)
        case badSignature

        /// For logs and metrics: one word.
        package var reason: String {
            switch self {
            case .valid: "valid"
            case .missingHeaders: "missing_headers"
            case .badTimestamp: "bad_timestamp"
            case .stale: "stale_timestamp"
            case .badSignature: "bad_signature"
            }
        }
    }

    /// A `webhook-signature` header longer than this, or with more entries, is refused before
    /// any HMAC: a sender signs with one entry per secret it rotates through, a handful at most.
    package static let maxSignatureBytes = 4096
    package static let maxSignatureEntries = 16
    /// Standard Webhooks ids are short (`msg_` + 27 characters); a long one is not a delivery.
    package static let maxIDBytes = 256

    package func verify(id: String?, timestamp: String?, signature: String?, body: [UInt8], now: Date = Date()) -> Verdict {
        guard let id, !id.isEmpty, let timestamp, !timestamp.isEmpty, let signature, !signature.isEmpty else {
            return .missingHeaders
        }
        guard id.utf8.count <= Self.maxIDBytes, signature.utf8.count <= Self.maxSignatureBytes else { return .badSignature }
        guard timestamp.utf8.count <= 12, timestamp.allSatisfy(\.isASCII), let ts = Int64(timestamp), ts > 0 else {
            return .badTimestamp
        }
        let age = now.timeIntervalSince1970 - Double(ts)
        if abs(age) > tolerance { return .stale(Int(age.rounded())) }
        let entries = signature.split(separator: " ")
        guard entries.count <= Self.maxSignatureEntries else { return .badSignature }
        let offered: [Data] = entries.compactMap { entry in
            let parts = entry.split(separator: ",", maxSplits: 1)
            guard parts.count == 2, parts[0] == "v1", let mac = Data(base64Encoded: String(parts[1])), mac.count == 32 else {
                return nil  // another scheme (v1a, v2) or garbage: not ours to judge
            }
            return mac
        }
        guard !offered.isEmpty else { return .badSignature }
        var signed = Array("\(id).\(timestamp).".utf8)
        signed += body
        // One HMAC per secret, whatever the number of entries: the body is hashed at most
        // `secrets.count` times, then each entry is compared in constant time.
        for secret in secrets {
            let expected = Data(HMAC<SHA256>.authenticationCode(for: signed, using: secret.key))
            for mac in offered where Self.constantTimeEqual(mac, expected) { return .valid }
        }
        return .badSignature
    }

    static func constantTimeEqual(_ a: Data, _ b: Data) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for (x, y) in zip(a, b) { diff |= x ^ y }
        return diff == 0
    }

    /// `v1,<base64>` for a delivery: what a sender puts in `webhook-signature`.
    package static func sign(secret: WebhookSecret, id: String, timestamp: Int64, body: [UInt8]) -> String {
        var signed = Array("\(id).\(timestamp).".utf8)
        signed += body
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: secret.key)
        return "v1," + Data(mac).base64EncodedString()
    }
}
