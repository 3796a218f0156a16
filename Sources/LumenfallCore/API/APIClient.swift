import Foundation
import LumenfallCurl

/// Talks to `{base}/videos`. Every answer is checked for size, status and shape before the
/// poller sees it; the key is attached only to requests on the base URL's own origin.
public struct APIClient: Sendable {
    public static let defaultBaseURL = "https://api.lumenfall.ai/openai/v1"
    /// API answers are small JSON; anything bigger is refused so memory stays bounded.
    public static let maxAnswerBytes = 8 * 1024 * 1024

    public let baseURL: String
    let key: APIKey
    var http = HTTPClient()
    /// The libcurl loop this client's requests run on (a command passes its own, and shuts it
    /// down when its run ends).
    package var multi: CurlMulti {
        get { http.multi }
        set { http.multi = newValue }
    }
    public var connectTimeout: Double = 30
    public var stallTimeout: Double = 30
    /// One API exchange never takes longer than this, whatever the server does.
    public var requestTimeout: Double = 120
    /// A CA bundle trusted instead of the system store, for every request (API and media).
    public var caFile: String?

    public init(baseURL: String, key: APIKey) {
        var b = baseURL
        while b.hasSuffix("/") { b.removeLast() }
        self.baseURL = b
        self.key = key
    }

    var credentials: [String] { [key.authorizationHeader] }

    /// Checks the base URL before anything is sent.
    public static func checkBaseURL(_ url: String) -> String? {
        if case .refused(let why) = URLPolicy.check(url) { return why }
        return nil
    }

    public func videoURL(_ id: String) -> String { "\(baseURL)/videos/\(id)" }
    public func contentURL(_ id: String, variant: String = "video") -> String {
        "\(baseURL)/videos/\(id)/content?variant=\(variant)"
    }

    /// Lumenfall's native `GET /v1/webhooks/secret` (beside, not under, `/openai/v1`).
    public var webhookSecretURL: String {
        if baseURL.hasSuffix("/openai/v1") { return String(baseURL.dropLast("/openai/v1".count)) + "/v1/webhooks/secret" }
        let origin =
            URLComponents(string: baseURL).map { c in
                "\(c.scheme ?? "https")://\(c.host ?? "")\(c.port.map { ":\($0)" } ?? "")"
            } ?? baseURL
        return origin + "/v1/webhooks/secret"
    }

    /// The account's webhook signing secret (`{"key": "whsec_..."}`), fetched with the API key.
    public func webhookSecret() async throws -> String {
        let bytes = try await getJSON(webhookSecretURL)
        guard let obj = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any], let key = obj["key"] as? String,
            !key.isEmpty
        else {
            throw APIError.malformed("GET /v1/webhooks/secret did not answer {\"key\": \"whsec_...\"}")
        }
        return key
    }

    public func retrieve(_ id: String) async throws -> VideoObject {
        let bytes = try await getJSON(videoURL(id))
        do {
            let v = try VideoObject(json: bytes)
            guard v.id == id else { throw APIError.malformed("asked for \(id), the server answered with \(v.id)") }
            return v
        } catch let e as VideoObject.ParseError {
            switch e {
            case .notJSON: throw APIError.malformed(Self.describeNonJSON(bytes))
            case .notAVideoObject(let why): throw APIError.malformed("not a video object: \(why)")
            case .notUTF8(let why): throw APIError.malformed(why)
            }
        }
    }

    public struct ListPage: Sendable {
        public var videos: [VideoObject]
        public var hasMore: Bool
        public var lastID: String?
    }

    /// One page of `GET {base}/videos` (OpenAI's list; a Lumenfall server may not have it, and
    /// then answers 404: `APIError.http(status: 404, ...)`).
    public func list(after: String?, limit: Int, order: String = "desc") async throws -> ListPage {
        var url = "\(baseURL)/videos?limit=\(limit)&order=\(order)"
        if let after { url += "&after=\(after)" }
        return try Self.parsePage(try await getJSON(url))
    }

    /// A list page, checked as strictly as a single object: every entry must be a video object.
    static func parsePage(_ input: [UInt8]) throws(APIError) -> ListPage {
        let bytes: [UInt8]
        do { bytes = try VideoObject.utf8JSON(input) } catch {
            if case .notUTF8(let why) = error { throw .malformed(why) }
            throw .malformed("not UTF-8")
        }
        guard let obj = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any],
            let data = obj["data"] as? [Any]
        else {
            throw .malformed(Self.describeNonJSON(bytes) + " (expected a list object)")
        }
        // Each object keeps the bytes the server wrote (as a single object does), so `list
        // --json` and a sidecar show it as received; re-encoded only if slicing disagrees with
        // the parser (it never should for JSON the parser accepted).
        let slices = JSONSlices.elements(ofMember: "data", in: bytes).flatMap { $0.count == data.count ? $0 : nil }
        func entries(sliced: Bool) throws(APIError) -> [VideoObject] {
            var videos: [VideoObject] = []
            videos.reserveCapacity(data.count)
            for (i, element) in data.enumerated() {
                guard let item = element as? [String: Any] else { throw .malformed("entry \(i) of the list page is not a video object") }
                let raw: [UInt8]? =
                    if sliced, let slices { Array(bytes[slices[i]]) } else {
                        (try? JSONSerialization.data(withJSONObject: item, options: [.sortedKeys, .withoutEscapingSlashes])).map(Array.init)
                    }
                guard let raw, let v = try? VideoObject(json: raw) else {
                    throw .malformed("entry \(i) of the list page is not a video object")
                }
                videos.append(v)
            }
            return videos
        }
        var videos = try entries(sliced: slices != nil)
        if slices != nil, !zip(videos, data).allSatisfy({ ($1 as? [String: Any])?["id"] as? String == $0.id }) {
            videos = try entries(sliced: false)
        }
        return ListPage(
            videos: videos, hasMore: obj["has_more"] as? Bool ?? false,
            lastID: obj["last_id"] as? String ?? videos.last?.id)
    }

    /// Pages through the list, newest first, until `limit` videos passed `keep`, the list ends,
    /// or a video older than `since` shows up.
    public func listAll(
        since: Date?, limit: Int?, pageSize: Int = 100,
        keep: (VideoObject) -> Bool = { _ in true }
    ) async throws -> [VideoObject] {
        var out: [VideoObject] = []
        var cursor = ListCursor(api: self, since: since, pageSize: pageSize)
        while let page = try await cursor.nextPage(limit: limit.map { $0 - out.count }) {
            for v in page where keep(v) {
                out.append(v)
                if let limit, out.count >= limit { return out }
            }
        }
        return out
    }

    /// What one request to the API showed, for `doctor`: reached at all, the status (a 404 for
    /// an id that cannot exist means the key was accepted; 401 that it was not), how long the
    /// answer took, and the server's clock (its `Date` header).
    public struct Probe: Sendable {
        public var status: Int?
        public var failure: String?
        public var seconds: Double
        public var serverDate: Date?
        public var httpVersion: String?
    }

    public func probe() async -> Probe {
        let started = Date()
        let req = HTTPRequest(
            url: videoURL("video_lumenfall_doctor_check"), headers: ["Accept: application/json"], connectTimeout: connectTimeout,
            stallTimeout: stallTimeout, totalTimeout: requestTimeout, bufferSize: 64 * 1024, caFile: caFile)
        let sink = BufferSink(limit: Self.maxAnswerBytes)
        do {
            let result = try await http.send(req, credentials: credentials, credentialOrigin: baseURL, sink: sink)
            let date = result.head?.header("Date").flatMap(Self.httpDate)
            return Probe(
                status: result.head?.status, failure: nil, seconds: Date().timeIntervalSince(started), serverDate: date,
                httpVersion: result.httpVersion)
        } catch let e as CurlFailure {
            return Probe(status: nil, failure: "\(URLPolicy.host(of: baseURL)): \(e.message)", seconds: Date().timeIntervalSince(started))
        } catch {
            return Probe(status: nil, failure: ErrorText.describe(error), seconds: Date().timeIntervalSince(started))
        }
    }

    /// An IMF-fixdate (RFC 9110 §5.6.7): `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func httpDate(_ s: String) -> Date? {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return f.date(from: s.trimmingCharacters(in: .whitespaces))
    }

    /// The size of a completed video's file, from a HEAD of its link (or of the content
    /// endpoint, with the key, when the object has no link); nil when the host does not say.
    /// Nothing is downloaded: for `fetch --dry-run`.
    public func mediaSize(of v: VideoObject) async -> Int64? {
        let url = v.outputURL ?? contentURL(v.id)
        var req = HTTPRequest(
            url: url, connectTimeout: connectTimeout, stallTimeout: stallTimeout, totalTimeout: requestTimeout, caFile: caFile)
        req.headOnly = true
        let sink = BufferSink(limit: 0)
        let creds = v.outputURL == nil ? credentials : []
        guard let result = try? await http.send(req, credentials: creds, credentialOrigin: baseURL, sink: sink),
            let head = result.head, (200..<300).contains(head.status)
        else { return nil }
        return head.header("Content-Length").flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) }.flatMap { $0 >= 0 ? $0 : nil }
    }

    /// GET a JSON document; HTTP errors become `APIError.http` with the API's code and message.
    func getJSON(_ url: String) async throws -> [UInt8] {
        let req = HTTPRequest(
            url: url, headers: ["Accept: application/json"],
            connectTimeout: connectTimeout, stallTimeout: stallTimeout,
            totalTimeout: requestTimeout, bufferSize: 64 * 1024, caFile: caFile)
        let sink = BufferSink(limit: Self.maxAnswerBytes)
        let result: HTTPTransferResult
        do {
            result = try await http.send(req, credentials: credentials, credentialOrigin: baseURL, sink: sink)
        } catch let e as CurlFailure {
            let what = "\(URLPolicy.host(of: url)): \(e.message)"
            if (e as? CurlError)?.isUnreachable == true { throw APIError.unreachable(what) }
            throw APIError.transport(what, isTimeout: e.isTimeout)
        }
        if sink.overflowed { throw APIError.tooLarge(limit: Self.maxAnswerBytes) }
        guard let head = result.head else { throw APIError.malformed("no HTTP answer from \(URLPolicy.host(of: url))") }
        if (200..<300).contains(head.status) { return sink.bytes }
        throw Self.httpError(head: head, body: sink.bytes)
    }

    static func httpError(head: HTTPResponseHead, body: [UInt8]) -> APIError {
        let retryAfter = RetryAfter.parse(head.header("Retry-After"), now: Date())
        var code: String?
        var message: String?
        if let obj = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any],
            let err = obj["error"] as? [String: Any]
        {
            code = err["code"] as? String ?? err["type"] as? String
            message = err["message"] as? String
        } else if !body.isEmpty {
            message = describeNonJSON(body)
        }
        return .http(status: head.status, code: code, message: message, retryAfter: retryAfter)
    }

    /// A proxy's HTML error page or a truncated body, described without dumping it.
    static func describeNonJSON(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(512), as: UTF8.self).lowercased()
        if text.contains("<html") || text.contains("<!doctype") {
            return "the server answered with an HTML page instead of JSON (a proxy or gateway in the way?)"
        }
        return body.isEmpty ? "an empty answer instead of JSON" : "an answer that is not valid JSON (\(body.count) bytes)"
    }
}
