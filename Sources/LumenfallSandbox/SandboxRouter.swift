import Foundation

/// One request as it came off the wire, parsed once: what the router and the store read.
struct SandboxRequest: Sendable {
    var method: String
    var path: String
    var query: [String: String]
    var rawQuery: String?
    var headers: [(String, String)]
    var body: [UInt8]
    /// "2" for HTTP/2, else "1.1" or "1.0".
    var version: String

    init(method: String, uri: String, version: String = "1.1", headers: [(String, String)], body: [UInt8]) {
        let comps = URLComponents(string: uri)
        self.method = method
        path = comps?.path ?? uri
        rawQuery = comps?.query
        query = Dictionary((comps?.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        self.headers = headers
        self.body = body
        self.version = version
    }

    func header(_ name: String) -> String? { headers.last { $0.0.lowercased() == name.lowercased() }?.1 }
}

/// What a request asks for, decided from its method, path, query and key alone: no job is
/// looked at, so routing needs no lock.
enum SandboxRoute: Equatable {
    case health
    case manifest
    case stats
    /// `POST /sandbox/jobs?count=N`.
    case createMany
    /// `/media/[redirect/]<id>/<generation>.<ext>`: a signed URL as an object store serves it.
    case media(id: String, file: String, redirected: Bool)
    case mediaNotFound
    /// `GET /v1/webhooks/secret`.
    case webhookSecret
    case create
    case list
    case retrieve(id: String)
    case content(id: String)
    case preview(id: String, variant: String)
    case badVariant
    case delete(id: String)
    case unauthorized(message: String)
    case notFound(message: String)

    /// Routes that make jobs, and with `--media-dir` write files: served off the event loop.
    var createsJobs: Bool {
        switch self {
        case .create, .createMany, .list: true
        default: false
        }
    }

    static func of(_ request: SandboxRequest, apiKey: String, offersList: Bool) -> SandboxRoute {
        let parts = request.path.split(separator: "/").map(String.init)
        let authorized = request.header("Authorization") == "Bearer \(apiKey)"
        let method = request.method
        if parts == ["health"] { return .health }
        if parts == ["sandbox", "manifest"] { return .manifest }
        if parts == ["sandbox", "stats"] { return .stats }
        if parts == ["sandbox", "jobs"], method == "POST" { return .createMany }
        if parts.first == "media" {
            var p = parts.dropFirst()
            let redirected = p.first == "redirect"
            if redirected { p = p.dropFirst() }
            guard p.count == 2, let id = p.first, let file = p.last else { return .mediaNotFound }
            return .media(id: id, file: file, redirected: redirected)
        }
        // Lumenfall's native path, beside /openai/v1: the account's webhook signing secret.
        if parts == ["v1", "webhooks", "secret"], method == "GET" {
            return authorized ? .webhookSecret : .unauthorized(message: "Invalid or missing API key.")
        }
        guard parts.count >= 3, parts[0] == "openai", parts[1] == "v1", parts[2] == "videos" else {
            return .notFound(message: "no route for \(request.path)")
        }
        guard authorized else {
            return .unauthorized(message: "Invalid or missing API key. Pass it as 'Authorization: Bearer lmnfl_...'.")
        }
        switch (method, parts.count) {
        case ("POST", 3): return .create
        case ("GET", 3) where offersList: return .list
        case ("GET", 4): return .retrieve(id: parts[3])
        case ("GET", 5) where parts[4] == "content":
            // OpenAI's variants: the MP4, a WebP thumbnail and a PNG spritesheet.
            switch request.query["variant"] ?? "video" {
            case "video": return .content(id: parts[3])
            case let v where v == "thumbnail" || v == "spritesheet": return .preview(id: parts[3], variant: v)
            default: return .badVariant
            }
        case ("DELETE", 4): return .delete(id: parts[3])
        default: return .notFound(message: "no route for \(method) \(request.path)")
        }
    }
}

/// Range and If-Range as RFC 9110 §14 has them, for one range.
enum RangeHeader {
    /// `bytes=first-` or `bytes=first-last` (one range; `last` inclusive). Suffix ranges and
    /// lists are not served: the answer is then the whole file, as RFC 9110 allows.
    static func parse(_ v: String) -> (first: Int, last: Int?)? {
        guard let first = start(v) else { return nil }
        let tail = v.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).last ?? ""
        if tail.isEmpty { return (first, nil) }
        guard let last = Int(tail), last >= first else { return nil }
        return (first, last)
    }

    static func start(_ v: String) -> Int? {
        guard v.hasPrefix("bytes="), !v.contains(",") else { return nil }
        let spec = v.dropFirst(6).split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard spec.count == 2, let s = Int(spec[0]), s >= 0 else { return nil }
        return s
    }
}
