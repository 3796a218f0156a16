import Foundation

public enum VideoStatus: Equatable, Sendable {
    case queued, inProgress, completed, failed, cancelled
    /// Anything else a server says. Never treated as success.
    case other(String)

    init(_ raw: String) {
        switch raw {
        case "queued": self = .queued
        case "in_progress": self = .inProgress
        case "completed": self = .completed
        case "failed": self = .failed
        case "cancelled", "canceled": self = .cancelled
        default: self = .other(raw)
        }
    }

    public var text: String {
        switch self {
        case .queued: "queued"
        case .inProgress: "in_progress"
        case .completed: "completed"
        case .failed: "failed"
        case .cancelled: "cancelled"
        case .other(let s): s
        }
    }
}

/// A video object as the API sent it: `raw` holds the exact bytes (the sidecar stores them
/// untouched, fields this code does not know included); the rest is the little we act on.
public struct VideoObject: Sendable {
    public let raw: [UInt8]
    public let id: String
    public let status: VideoStatus
    public let progress: Double?
    public let outputURL: String?
    public let expiresAt: Date?
    public let completedAt: Date?
    public let createdAt: Date?
    public let cost: Double?
    public let currency: String?
    public let errorCode: String?
    public let errorMessage: String?
    public let model: String?
    /// The prompt, when the server echoes it (OpenAI's object and Lumenfall's do).
    public let prompt: String?
    /// OpenAI's `seconds` ("4") and `size` ("1280x720"), as the server wrote them.
    public let seconds: String?
    public let size: String?

    public enum ParseError: Error, Equatable {
        case notJSON
        case notAVideoObject(String)
        /// JSON in UTF-16 or UTF-32, or bytes that are not UTF-8: the sidecar keeps the object
        /// byte for byte and must stay valid UTF-8 JSON (RFC 8259 §8.1), so it is refused.
        case notUTF8(String)
    }

    public init(json input: [UInt8]) throws(ParseError) {
        let bytes = try Self.utf8JSON(input)
        guard let any = try? JSONSerialization.jsonObject(with: Data(bytes)),
            let obj = any as? [String: Any]
        else { throw .notJSON }
        try self.init(object: obj, raw: bytes)
    }

    /// The one reading of a video object's fields, for the API's answers and for the `video`
    /// member of a sidecar alike. `raw` is what the object's bytes were.
    init(object obj: [String: Any], raw bytes: [UInt8]) throws(ParseError) {
        guard let id = obj["id"] as? String else { throw .notAVideoObject("no \"id\" field") }
        guard let status = obj["status"] as? String else { throw .notAVideoObject("no \"status\" field") }
        raw = bytes
        self.id = id
        self.status = VideoStatus(status)
        // A percentage: anything else (1e300, -5, true, "50") is treated as absent.
        progress = Checked.double(obj["progress"]).flatMap { (0...100).contains($0) ? $0 : nil }
        let output = obj["output"] as? [String: Any]
        outputURL = (output?["url"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        expiresAt = Self.timestamp(obj["expires_at"])
        completedAt = Self.timestamp(obj["completed_at"])
        createdAt = Self.timestamp(obj["created_at"])
        let meta = obj["metadata"] as? [String: Any]
        // Only a finite, non-negative cost is a cost; anything else is unknown.
        cost = Checked.double(meta?["cost_estimate"]).flatMap { $0 >= 0 ? $0 : nil }
        currency = meta?["cost_currency"] as? String
        let error = obj["error"] as? [String: Any]
        errorCode = error?["code"] as? String
        errorMessage = error?["message"] as? String
        model = obj["model"] as? String
        prompt = obj["prompt"] as? String
        // A number is shown as whole seconds; one too large for an Int (which would trap) is
        // not a duration anyone generated, so it is unknown.
        seconds = (obj["seconds"] as? String) ?? Checked.double(obj["seconds"]).flatMap { abs($0) < 1e15 ? String(Int($0)) : nil }
        size = obj["size"] as? String
    }

    /// The bytes as UTF-8 JSON: a UTF-8 byte-order mark is dropped (RFC 8259 lets a parser
    /// ignore it, and a sidecar must not start with one); UTF-16/32 or invalid UTF-8 is refused.
    static func utf8JSON(_ b: [UInt8]) throws(ParseError) -> [UInt8] {
        let b = b.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(b.dropFirst(3)) : b
        if b.starts(with: [0xFE, 0xFF]) || b.starts(with: [0xFF, 0xFE]) || b.prefix(4).contains(0) {
            throw .notUTF8("the answer is JSON in UTF-16 or UTF-32; only UTF-8 is accepted")
        }
        guard String(validating: b, as: UTF8.self) != nil else {
            throw .notUTF8("the answer is not valid UTF-8")
        }
        return b
    }

    /// Unix seconds, accepted only within a sane window (2000 to 2200): a missing, null, zero,
    /// negative or absurd value means "unknown", never "expired in 1970" or "valid forever".
    static func timestamp(_ v: Any?) -> Date? {
        guard let s = Checked.double(v) else { return nil }
        guard s >= 946_684_800, s <= 7_258_118_400 else { return nil }
        return Date(timeIntervalSince1970: s)
    }
}
