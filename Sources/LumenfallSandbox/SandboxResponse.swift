import Foundation

/// One request as the sandbox saw it: what tests assert on (the Range a resume sent, whether a
/// key reached the media host).
public struct LoggedRequest: Sendable {
    public var method: String
    public var path: String
    public var range: String?
    public var ifRange: String?
    public var authorization: String?
    public var status: Int
    /// "2" for HTTP/2, else "1.1" or "1.0".
    public var httpVersion = "1.1"
    /// The query string (`variant=thumbnail`), if any.
    public var query: String? = nil
}

enum SandboxResponse: Sendable {
    case full(status: Int, headers: [(String, String)], body: [UInt8])
    /// Bytes [start, end) of `content`, with the job's transfer faults.
    case stream(
        status: Int, headers: [(String, String)], content: MediaContent, start: Int, end: Int,
        faults: StreamFaults)

    var status: Int {
        switch self {
        case .full(let s, _, _), .stream(let s, _, _, _, _, _): s
        }
    }

    static func json(_ status: Int, _ obj: [String: Any]) -> SandboxResponse {
        let data = (try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])) ?? Data()
        return .full(status: status, headers: [("Content-Type", "application/json")], body: Array(data))
    }

    /// OpenAI's Error object: message, type, param and code, the last two nullable.
    static func apiError(
        _ status: Int, _ code: String, _ message: String, param: String? = nil, extra: [(String, String)] = []
    ) -> SandboxResponse {
        let body: [String: Any] = [
            "error": ["message": message, "type": code.lowercased(), "code": code, "param": param ?? NSNull()] as [String: Any]
        ]
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
        return .full(status: status, headers: [("Content-Type", "application/json")] + extra, body: Array(data))
    }

    /// What an object store answers: XML or a line of text.
    static func plain(_ status: Int, _ text: String) -> SandboxResponse {
        .full(status: status, headers: [("Content-Type", "application/xml")], body: Array(text.utf8))
    }

    /// What an expired or superseded signed URL gets from a real object store.
    static let expired = plain(403, "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")
}

/// What goes wrong while a body streams.
struct StreamFaults: Sendable {
    var dropAfter: Int?
    var stallAfter: Int?
    var stallSeconds = 0.0
    var dripBytesPerSecond: Int?
    /// A steady cap for the whole answer, in bytes a second.
    var throttleBytesPerSecond: Int?
}
