import Crypto
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

enum SandboxResponse {
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
}

/// What goes wrong while a body streams.
struct StreamFaults {
    var dropAfter: Int?
    var stallAfter: Int?
    var stallSeconds = 0.0
    var dripBytesPerSecond: Int?
    /// A steady cap for the whole answer, in bytes a second.
    var throttleBytesPerSecond: Int?
}

/// Jobs, their clocks and fault counters, and the request log, behind one lock: NIO's threads
/// and the test's own calls all come through here.
/// `@unchecked Sendable` is sound: everything mutable is touched under `lock`.
final class SandboxState: @unchecked Sendable {
    struct Job {
        var spec: SandboxJobSpec
        var id: String
        var createdAt: Date
        var contentVersion = 0
        var urlGeneration = 0
        var mediaRequests = 0
        var mediaErrorsSent = 0
        var dropsDone = 0
        var previewDropsDone = 0
        var stallsDone = 0
        var dripsDone = 0
        var throttlesDone = 0
        var apiFaultsUsed = 0
        var urlExpiryDone = false
        var polls = 0

        var completedAt: Date {
            spec.queuedPolls != nil ? createdAt : createdAt.addingTimeInterval(spec.queuedSeconds + spec.processingSeconds)
        }
        var expiresAt: Date { completedAt.addingTimeInterval(spec.urlTTL) }
    }

    private let lock = NSLock()
    var jobs: [String: Job] = [:]
    /// Webhooks (`--webhook-url`, `--webhook-secret`): where and how deliveries go, and what
    /// each attempt got back.
    var webhooks: SandboxWebhookConfig?
    var webhookLog: [WebhookDelivery] = []
    private var order: [String] = []
    /// Where each id stands in `order`, so a page after a cursor is found without a scan.
    private var position: [String: Int] = [:]
    private var log: [LoggedRequest] = []
    private var contents: [String: MediaContent] = [:]
    private var counter = 0
    let apiKey: String
    /// A Lumenfall server may not offer GET /videos; clients must say so clearly.
    let offersList: Bool
    let listMode: SandboxListMode
    let chaos: SandboxChaos?
    /// `--throttle`: every media answer, each connection on its own, at most this many bytes/s.
    let throttle: Int?
    /// `--media-dir` and `--media-base`: each job's bytes are written to a file there at
    /// creation and its `output.url` points at `base/<id>.<ext>`, so another web server
    /// (nginx, in Scripts/bench) serves the media.
    var externalMedia: (dir: String, base: String)?
    private var rng: UInt64
    private(set) var faultsInjected = 0
    var port = 0
    /// "https" when the sandbox serves TLS.
    var scheme = "http"

    init(
        apiKey: String, offersList: Bool, listMode: SandboxListMode = .normal, chaos: SandboxChaos? = nil,
        throttle: Int? = nil
    ) {
        self.apiKey = apiKey
        self.throttle = throttle
        self.offersList = offersList
        self.listMode = listMode
        self.chaos = chaos
        rng = chaos?.seed ?? 1
    }

    /// SplitMix64: a seeded, repeatable stream for chaos decisions (under the lock).
    private func random() -> Double {
        rng &+= 0x9E37_79B9_7F4A_7C15
        var z = rng
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) / Double(1 << 53)
    }

    private func roll(_ rate: Double) -> Bool {
        guard rate > 0, random() < rate else { return false }
        faultsInjected += 1
        return true
    }

    func faultCount() -> Int { withLock { faultsInjected } }

    private var connections = 0
    func connectionAccepted() { withLock { connections += 1 } }
    func connectionCount() -> Int { withLock { connections } }

    private var stallReleases = 0
    func stallGeneration() -> Int { withLock { stallReleases } }
    func releaseStalls() { withLock { stallReleases += 1 } }

    /// `sha256  <id>.<ext>` for every completed job, as `sha256sum -c` reads it: what a soak
    /// run's output folder must hold, byte for byte.
    func manifest() -> String { withLock { manifestLocked() } }

    private func manifestLocked() -> String {
        order.compactMap { id -> String? in
            guard let job = jobs[id], status(job).0 == "completed" else { return nil }
            let ext = job.spec.contentType == "video/webm" ? "webm" : "mp4"
            return "\(contentLocked(job).sha256Hex())  \(id).\(ext)\n"
        }.joined()
    }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    func create(_ spec: SandboxJobSpec) -> String { withLock { createLocked(spec) } }

    private func createLocked(_ spec: SandboxJobSpec) -> String {
        counter += 1
        let id = spec.id ?? "video_sbx\(counter)_\(String(UInt64.random(in: 0..<UInt64.max), radix: 36))"
        jobs[id] = Job(spec: spec, id: id, createdAt: Date())
        if position[id] == nil {
            position[id] = order.count
            order.append(id)
        }
        if let m = externalMedia, let job = jobs[id] { writeMedia(job, to: "\(m.dir)/\(id).\(ext(job))") }
        if webhooks != nil { scheduleWebhook(for: id) }
        return id
    }

    private func ext(_ job: Job) -> String { job.spec.contentType == "video/webm" ? "webm" : "mp4" }

    /// Writes a job's bytes out for an external media server (best effort: a bench tool).
    private func writeMedia(_ job: Job, to path: String) {
        let content = contentLocked(job)
        guard
            let out = FileHandle(forWritingAtPath: path)
                ?? {
                    _ = FileManager.default.createFile(atPath: path, contents: nil)
                    return FileHandle(forWritingAtPath: path)
                }()
        else { return }
        defer { try? out.close() }
        var at = 0
        while at < content.size {
            let n = min(1 << 20, content.size - at)
            content.withBytes(offset: at, count: n) { out.write(Data($0)) }
            at += n
        }
    }

    func requests() -> [LoggedRequest] { withLock { log } }

    /// The bytes the job serves at this moment (they change under changeContentAfterRequests).
    func content(for id: String) -> MediaContent? {
        withLock { jobs[id].map(contentLocked) }
    }

    private func contentLocked(_ job: Job) -> MediaContent {
        let key = "\(job.id)#\(job.contentVersion)"
        if let c = contents[key] { return c }
        var seed: UInt64 = 1469598103934665603
        for b in key.utf8 { seed = (seed ^ UInt64(b)) &* 1099511628211 }
        let c = MediaContent(size: job.spec.bytes, seed: seed)
        contents[key] = c
        return c
    }

    private func etag(_ job: Job) -> String { "\"\(job.id)-v\(job.contentVersion)-\(job.spec.bytes)\"" }

    // MARK: - Routing

    func handle(method: String, uri: String, version: String = "1.1", headers: [(String, String)], body: [UInt8]) -> SandboxResponse {
        func header(_ n: String) -> String? { headers.last { $0.0.lowercased() == n.lowercased() }?.1 }
        let comps = URLComponents(string: uri)
        let path = comps?.path ?? uri
        let query = Dictionary((comps?.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let response = withLock { route(method: method, path: path, query: query, header: header, body: body) }
        withLock {
            log.append(
                LoggedRequest(
                    method: method, path: path, range: header("Range"), ifRange: header("If-Range"),
                    authorization: header("Authorization"), status: response.status, httpVersion: version,
                    query: comps?.query))
        }
        return response
    }

    private func route(
        method: String, path: String, query: [String: String], header: (String) -> String?,
        body: [UInt8]
    ) -> SandboxResponse {
        let parts = path.split(separator: "/").map(String.init)
        if parts == ["health"] { return json(200, ["status": "ok"]) }
        if parts == ["sandbox", "manifest"] {
            return .full(status: 200, headers: [("Content-Type", "text/plain")], body: Array(manifestLocked().utf8))
        }
        if parts == ["sandbox", "stats"] {
            return json(
                200, ["faults": faultsInjected, "jobs": jobs.count, "connections": connections, "webhook_deliveries": webhookLog.count])
        }
        if parts == ["sandbox", "jobs"], method == "POST" { return createMany(query, body: body) }
        if parts.first == "media" { return media(parts: Array(parts.dropFirst()), query: query, header: header) }
        // Lumenfall's native path, beside /openai/v1: the account's webhook signing secret.
        if parts == ["v1", "webhooks", "secret"], method == "GET" {
            guard header("Authorization") == "Bearer \(apiKey)" else {
                return apiError(401, "AUTHENTICATION_FAILED", "Invalid or missing API key.")
            }
            guard let secret = webhooks?.secret else { return apiError(404, "NOT_FOUND", "no webhook secret is configured") }
            return json(200, ["key": secret])
        }
        guard parts.count >= 3, parts[0] == "openai", parts[1] == "v1", parts[2] == "videos" else {
            return apiError(404, "NOT_FOUND", "no route for \(path)")
        }
        guard header("Authorization") == "Bearer \(apiKey)" else {
            return apiError(401, "AUTHENTICATION_FAILED", "Invalid or missing API key. Pass it as 'Authorization: Bearer lmnfl_...'.")
        }
        switch (method, parts.count) {
        case ("POST", 3): return createFromBody(header("Content-Type"), body)
        case ("GET", 3) where offersList: return list(query, auth: header("Authorization"))
        case ("GET", 4): return retrieve(parts[3], auth: header("Authorization"))
        case ("GET", 5) where parts[4] == "content":
            // OpenAI's variants: the MP4, a WebP thumbnail and a PNG spritesheet.
            switch query["variant"] ?? "video" {
            case "video":
                return contentEndpoint(parts[3], header: header)
            case let preview where preview == "thumbnail" || preview == "spritesheet":
                guard let job = jobs[parts[3]], status(job).0 == "completed" else {
                    return apiError(404, "NOT_FOUND", "No completed video with id '\(parts[3])'", param: "video_id")
                }
                switch job.spec.previews {
                case "none":
                    return apiError(400, "INVALID_REQUEST", "variant must be video", param: "variant")
                case "ignored":
                    return contentEndpoint(parts[3], header: header)
                default: break
                }
                return servePreview(job, preview, header: header)
            default:
                return apiError(
                    400, "INVALID_REQUEST", "variant must be one of video, thumbnail, spritesheet", param: "variant")
            }
        case ("DELETE", 4):
            guard let job = jobs[parts[3]] else {
                return apiError(404, "NOT_FOUND", "No video found with id '\(parts[3])'", param: "video_id")
            }
            jobs[job.id] = nil
            contents = contents.filter { !$0.key.hasPrefix("\(job.id)#") }
            // Listing skips it from now on; its place in `order` stays, so a cursor naming it
            // keeps working.
            return json(200, ["id": job.id, "object": "video.deleted", "deleted": true])
        default: return apiError(404, "NOT_FOUND", "no route for \(method) \(path)")
        }
    }

    /// JSON, or multipart/form-data as OpenAI's SDK sends it (Lumenfall takes both); in a form
    /// the sandbox's own options ride in a `sandbox` field holding JSON.
    private func createFromBody(_ contentType: String?, _ body: [UInt8]) -> SandboxResponse {
        let obj: [String: Any]
        if let ct = contentType, ct.lowercased().hasPrefix("multipart/form-data") {
            guard let fields = Multipart.fields(body, contentType: ct) else {
                return apiError(400, "INVALID_REQUEST", "a multipart/form-data body without a usable boundary")
            }
            var o: [String: Any] = fields
            if let s = fields["sandbox"] as? String {
                o["sandbox"] = try? JSONSerialization.jsonObject(with: Data(s.utf8))
            }
            obj = o
        } else {
            guard let json = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else {
                return apiError(400, "INVALID_REQUEST", "the body must be a JSON object or multipart/form-data")
            }
            obj = json
        }
        var spec = SandboxJobSpec()
        if let s = obj["sandbox"], let data = try? JSONSerialization.data(withJSONObject: s) {
            do { spec = try JSONDecoder().decode(SandboxJobSpec.self, from: data) } catch {
                return apiError(400, "INVALID_REQUEST", "bad sandbox spec: \(error)")
            }
        }
        if let m = obj["model"] as? String { spec.model = m }
        if let p = obj["prompt"] as? String { spec.prompt = p }
        // Lumenfall's addition: where to POST the job's webhook (the SDK sends it in extra_body).
        if let w = obj["webhook_url"] as? String, !w.isEmpty { spec.webhookURL = w }
        if let s = obj["seconds"] as? String { spec.seconds = s }
        if let s = obj["size"] as? String { spec.size = s }
        let id = createLocked(spec)
        guard let job = jobs[id] else { return apiError(500, "UPSTREAM_ERROR", "lost the job") }
        return .full(status: 202, headers: [("Content-Type", "application/json")], body: videoJSON(job))
    }

    /// `POST /sandbox/jobs?count=N` with a job spec (the `sandbox` object of a create) as the
    /// body: N jobs at once, their ids one a line. For benchmarks that need 100 000 videos.
    private func createMany(_ q: [String: String], body: [UInt8]) -> SandboxResponse {
        let count = Int(q["count"] ?? "1") ?? 1
        guard (1...1_000_000).contains(count) else { return plain(400, "count: 1 to 1000000") }
        let spec: SandboxJobSpec
        do {
            spec = body.isEmpty ? SandboxJobSpec() : try JSONDecoder().decode(SandboxJobSpec.self, from: Data(body))
        } catch {
            return plain(400, "bad sandbox spec: \(error)")
        }
        var out: [UInt8] = []
        out.reserveCapacity(count * 32)
        for _ in 0..<count {
            out += Array(createLocked(spec).utf8)
            out.append(UInt8(ascii: "\n"))
        }
        return .full(status: 200, headers: [("Content-Type", "text/plain")], body: out)
    }

    private func list(_ q: [String: String], auth: String?) -> SandboxResponse {
        let limit = Int(q["limit"] ?? "20") ?? -1
        guard (1...100).contains(limit) else {
            return apiError(400, "INVALID_REQUEST", "limit must be an integer from 1 to 100", param: "limit")
        }
        if listMode == .normal, let after = q["after"], position[after] == nil {
            return apiError(400, "INVALID_REQUEST", "No video found with id '\(after)' to list after", param: "after")
        }
        let ascending = q["order"] == "asc"
        var ids: [String]
        switch listMode {
        case .normal:
            // One page and one more (for has_more), from just after the cursor.
            let from = q["after"].flatMap { position[$0] }
            // A page and one more (for has_more), skipping deleted jobs.
            ids = []
            var i = ascending ? (from.map { $0 + 1 } ?? 0) : (from ?? order.count) - 1
            while ids.count <= limit, i >= 0, i < order.count {
                if jobs[order[i]] != nil { ids.append(order[i]) }
                i += ascending ? 1 : -1
            }
        case .loop:
            ids = ascending ? order : order.reversed()  // the bug: `after` is ignored, so page two is page one again
        case .endless:
            var made: [String] = []
            for _ in 0..<limit {
                var spec = SandboxJobSpec()
                spec.bytes = 1024
                spec.queuedPolls = 0
                made.append(createLocked(spec))
            }
            ids = made + ["(more)"]
        }
        let page = Array(ids.prefix(limit))
        var out = Array("{\"object\":\"list\",\"data\":[".utf8)
        for (i, id) in page.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            if let j = jobs[id] { out += objectBytes(j, auth: auth, encode: false) }
        }
        let hasMore = listMode == .normal ? ids.count > page.count : true
        let tail: [String: Any] = ["first_id": page.first ?? NSNull(), "last_id": page.last ?? NSNull(), "has_more": hasMore]
        let t = (try? JSONSerialization.data(withJSONObject: tail, options: [.sortedKeys])) ?? Data("{}".utf8)
        out += Array("],".utf8) + Array(t.dropFirst())
        return .full(status: 200, headers: [("Content-Type", "application/json")], body: out)
    }

    private func retrieve(_ id: String, auth: String?) -> SandboxResponse {
        guard var job = jobs[id] else { return apiError(404, "NOT_FOUND", "No video found with id '\(id)'") }
        defer {
            jobs[id]?.polls += 1
        }
        if let c = chaos, roll(c.apiError) {
            let status = [429, 500, 502, 503][Int(random() * 4) % 4]
            return apiError(
                status, status == 429 ? "RATE_LIMITED" : "UPSTREAM_ERROR", "sandbox chaos \(status)",
                extra: [("Retry-After", "0")])
        }
        if job.apiFaultsUsed < job.spec.faults.apiErrors.count {
            let f = job.spec.faults.apiErrors[job.apiFaultsUsed]
            job.apiFaultsUsed += 1
            jobs[id] = job
            var headers: [(String, String)] = []
            if let ra = f.retryAfter { headers.append(("Retry-After", ra)) }
            if f.html {
                headers.append(("Content-Type", "text/html"))
                return .full(
                    status: f.status, headers: headers,
                    body: Array("<html><body><h1>\(f.status) Bad Gateway</h1>nginx</body></html>".utf8))
            }
            let code = f.status == 429 ? "RATE_LIMITED" : f.status == 502 ? "ALL_PROVIDERS_EXHAUSTED" : "UPSTREAM_ERROR"
            return apiError(f.status, f.code ?? code, f.message ?? "sandbox fault \(f.status)", extra: headers)
        }
        return .full(status: 200, headers: [("Content-Type", "application/json")], body: objectBytes(job, auth: auth, encode: true))
    }

    /// The object as this job's server sends it: the faithful JSON, or the hostile template,
    /// in the job's encoding.
    private func objectBytes(_ job: Job, auth: String?, encode: Bool) -> [UInt8] {
        var bytes = videoJSON(job)
        if let t = job.spec.faults.rawObject {
            let token = (auth ?? "").replacingOccurrences(of: "Bearer ", with: "")
            let text = t.replacingOccurrences(of: "{{id}}", with: job.id)
                .replacingOccurrences(of: "{{url}}", with: mediaURL(job))
                .replacingOccurrences(of: "{{auth}}", with: token)
            bytes = Array(text.utf8)
        }
        guard encode else { return bytes }
        switch job.spec.faults.encoding {
        case "bom": return [0xEF, 0xBB, 0xBF] + bytes
        case "utf16": return Array(String(decoding: bytes, as: UTF8.self).data(using: .utf16) ?? Data())
        default: return bytes
        }
    }

    func status(_ job: Job, now: Date = Date()) -> (String, Double?) {
        if let queued = job.spec.queuedPolls {
            // `polls` counts the GETs answered before this one: the first `queued` see queued.
            if job.polls < queued { return ("queued", 0) }
            let step = job.polls - queued + 1
            if step <= job.spec.processingPolls {
                return ("in_progress", Double(step * 100 / (job.spec.processingPolls + 1)))
            }
            return (job.spec.outcome, nil)
        }
        let t = now.timeIntervalSince(job.createdAt)
        if t < job.spec.queuedSeconds { return ("queued", 0) }
        if t < job.spec.queuedSeconds + job.spec.processingSeconds {
            let p = (t - job.spec.queuedSeconds) / max(job.spec.processingSeconds, 0.001) * 100
            return ("in_progress", p.rounded(.down))
        }
        return (job.spec.outcome, nil)
    }

    func mediaURL(_ job: Job) -> String {
        let ext = ext(job)
        if let m = externalMedia { return "\(m.base)/\(job.id).\(ext)" }
        let expires = Int(job.expiresAt.timeIntervalSince1970)
        let sig = SHA256.hash(data: Data("\(job.id)/\(job.urlGeneration)/\(expires)".utf8)).prefix(16)
            .map { String(format: "%02x", $0) }.joined()
        let route = job.spec.faults.redirect || job.spec.faults.redirectTo != nil ? "media/redirect" : "media"
        return "\(scheme)://127.0.0.1:\(port)/\(route)/\(job.id)/\(job.urlGeneration).\(ext)?expires=\(expires)&signature=\(sig)"
    }

    func videoJSON(_ job: Job) -> [UInt8] {
        let (st, progress) = status(job)
        let done = st != "queued" && st != "in_progress"
        var o: [String: Any] = [
            "id": job.id, "object": "video", "created_at": Int(job.createdAt.timeIntervalSince1970),
            "status": st, "model": job.spec.model, "prompt": job.spec.prompt,
            "seconds": job.spec.seconds, "size": job.spec.size,
            "completed_at": done ? Int(job.completedAt.timeIntervalSince1970) : NSNull(),
            "expires_at": st == "completed" ? Int(job.expiresAt.timeIntervalSince1970) : NSNull(),
            "output": NSNull(), "error": NSNull(),
            "metadata": [
                "model": job.spec.model, "executed_model": "openai/\(job.spec.model)", "provider": "openai",
                "provider_name": "OpenAI", "cost_estimate": job.spec.costEstimate, "cost_currency": "USD",
            ] as [String: Any],
        ]
        if job.spec.extraField {
            // A field no client models: it must reach the sidecar untouched.
            o["x_sandbox"] = ["note": "unknown fields survive", "emoji": "🎬", "nested": [1, 2.5, true]] as [String: Any]
        }
        // OpenAI's VideoResource: `progress` is an integer and always there (100 once completed,
        // 0 for a job that ended otherwise); `remixed_from_video_id` is required, nullable.
        o["progress"] = st == "completed" ? 100 : Int(progress ?? 0)
        o["remixed_from_video_id"] = NSNull()
        if st == "completed", !job.spec.contentEndpointOnly { o["output"] = ["url": mediaURL(job)] }
        if st == "failed" { o["error"] = ["code": job.spec.errorCode, "message": job.spec.errorMessage] }
        let data = (try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return Array(data)
    }

    // MARK: - Media

    private func contentEndpoint(_ id: String, header: (String) -> String?) -> SandboxResponse {
        guard let job = jobs[id] else { return apiError(404, "NOT_FOUND", "No video found with id '\(id)'") }
        guard status(job).0 == "completed" else { return apiError(404, "NOT_FOUND", "video \(id) is not completed") }
        return serve(id, header: header)
    }

    private func media(parts: [String], query: [String: String], header: (String) -> String?) -> SandboxResponse {
        var p = parts
        let redirected = p.first == "redirect"
        if redirected { p.removeFirst() }
        guard p.count == 2, let job = jobs[p[0]], status(job).0 == "completed", !job.spec.contentEndpointOnly else {
            return plain(404, "no such object")
        }
        if redirected {
            let target =
                job.spec.faults.redirectTo
                ?? mediaURL(job).replacingOccurrences(of: "/media/redirect/", with: "/media/")
            return .full(status: 302, headers: [("Location", target), ("Content-Length", "0")], body: [])
        }
        let gen = Int(p[1].split(separator: ".").first ?? "") ?? -1
        let expires = Double(query["expires"] ?? "") ?? 0
        // What an expired or superseded signed URL gets from a real object store.
        if gen != job.urlGeneration || Date().timeIntervalSince1970 > expires {
            return plain(403, "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")
        }
        return serve(job.id, header: header)
    }

    /// Range, If-Range and ETag as RFC 9110 §14 has them, plus the job's transfer faults.
    /// The image a job serves for `thumbnail` or `spritesheet`: its type and bytes.
    static func previewImage(jobID: String, variant: String) -> (String, [UInt8]) {
        let seed = UInt64(truncatingIfNeeded: jobID.utf8.reduce(5381) { ($0 &* 33) &+ Int($1) })
        return variant == "thumbnail"
            ? ("image/webp", PreviewImages.webp(seed: seed)) : ("image/png", PreviewImages.spritesheet(seed: seed))
    }

    /// A thumbnail (lossless WebP) or spritesheet (PNG grid), with ranges and a strong ETag
    /// like the video, and `faults.previewDropAfterBytes` to cut one short.
    private func servePreview(_ job: Job, _ variant: String, header: (String) -> String?) -> SandboxResponse {
        if let to = job.spec.faults.previewRedirectTo {
            return .full(status: 302, headers: [("Location", to), ("Content-Length", "0")], body: [])
        }
        let (type, bytes) = Self.previewImage(jobID: job.id, variant: variant)
        let tag = "\"\(job.id)-\(variant)-\(bytes.count)\""
        var headers: [(String, String)] = [("Content-Type", type), ("ETag", tag), ("Accept-Ranges", "bytes")]
        var start = 0
        var status = 200
        if let first = header("Range").flatMap(parseRangeStart), header("If-Range").map({ $0 == tag }) ?? true {
            guard first < bytes.count else {
                return .full(status: 416, headers: [("Content-Range", "bytes */\(bytes.count)")], body: [])
            }
            start = first
            status = 206
            headers.append(("Content-Range", "bytes \(first)-\(bytes.count - 1)/\(bytes.count)"))
        }
        headers.append(("Content-Length", job.spec.faults.previewClaimedLength.map { "\($0)" } ?? "\(bytes.count - start)"))
        var body = Array(bytes[start...])
        if let n = job.spec.faults.previewDropAfterBytes, job.previewDropsDone < job.spec.faults.previewDropTimes, n < body.count {
            jobs[job.id]?.previewDropsDone += 1
            faultsInjected += 1
            body = Array(body.prefix(n))
            headers.append(("Connection", "close"))  // the server closes after the short body
        }
        return .full(status: status, headers: headers, body: body)
    }

    private func serve(_ id: String, header: (String) -> String?) -> SandboxResponse {
        guard var job = jobs[id] else { return plain(404, "gone") }
        job.mediaRequests += 1
        defer { jobs[id] = job }
        let f = job.spec.faults
        if let c = chaos, roll(c.expireURL) {
            job.urlGeneration += 1
            return plain(403, "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")
        }
        if let c = chaos, roll(c.serverError) {
            let code = [429, 500, 503][Int(random() * 3) % 3]
            return .full(
                status: code, headers: [("Content-Type", "text/plain"), ("Retry-After", "0")],
                body: Array("sandbox chaos \(code)\n".utf8))
        }
        if let n = f.expireURLAfterRequests, !job.urlExpiryDone, job.mediaRequests > n {
            job.urlExpiryDone = true
            job.urlGeneration += 1
            return plain(403, "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")
        }
        if let code = f.mediaErrorStatus, job.mediaErrorsSent < f.mediaErrorTimes {
            job.mediaErrorsSent += 1
            var h: [(String, String)] = [("Content-Type", "text/plain")]
            if let ra = f.retryAfter { h.append(("Retry-After", ra)) }
            return .full(status: code, headers: h, body: Array("sandbox fault \(code)\n".utf8))
        }
        if let n = f.changeContentAfterRequests, job.mediaRequests > n { job.contentVersion = 1 }
        let content = contentLocked(job)
        let tag = etag(job)
        let lastModified = httpDate(job.completedAt)
        var headers: [(String, String)] = [
            ("Content-Type", job.spec.contentType), ("ETag", tag), ("Last-Modified", lastModified),
            ("Accept-Ranges", "bytes"),
        ]
        var start = 0
        var status = 200
        let ignoreRange = f.ignoreRange || (chaos.map { roll($0.ignoreRange) } ?? false)
        if let lie = f.understateTotal {
            // The hostile 206: a total smaller than the bytes that follow.
            let first = header("Range").flatMap(parseRangeStart) ?? 0
            headers.append(("Content-Range", "bytes \(first)-\(max(first, lie - 1))/\(lie)"))
            headers.append(("Content-Length", "\(max(0, content.size - first))"))
            return .stream(
                status: 206, headers: headers, content: content, start: min(first, content.size),
                end: content.size, faults: StreamFaults())
        }
        var end = content.size
        if !ignoreRange, let r = header("Range"), let range = parseRange(r) {
            let ifRange = header("If-Range")
            if ifRange == nil || ifRange == tag || ifRange == lastModified {
                if range.first >= content.size {
                    headers.append(("Content-Range", "bytes */\(content.size)"))
                    return .full(status: 416, headers: headers, body: [])
                }
                start = range.first
                end = min(content.size, range.last.map { $0 + 1 } ?? content.size)
                status = 206
                headers.append(("Content-Range", "bytes \(start)-\(end - 1)/\(content.size)"))
            }
        }
        headers.append(("Content-Length", "\(end - start)"))
        var faults = StreamFaults(stallSeconds: f.stallSeconds)
        if let t = f.throttleBytesPerSecond, f.throttleTimes.map({ job.throttlesDone < $0 }) ?? true {
            job.throttlesDone += 1
            faults.throttleBytesPerSecond = t
        } else if f.throttleBytesPerSecond == nil {
            faults.throttleBytesPerSecond = throttle
        }
        if let d = f.dropAfterBytes, job.dropsDone < f.dropTimes {
            job.dropsDone += 1
            faults.dropAfter = d
        }
        if let s = f.stallAfterBytes, job.stallsDone < f.stallTimes {
            job.stallsDone += 1
            faults.stallAfter = s
        }
        if let d = f.dripBytesPerSecond, job.dripsDone < f.dripTimes {
            job.dripsDone += 1
            faults.dripBytesPerSecond = max(1, d)
        }
        let length = end - start
        if let c = chaos, length > 0 {
            if roll(c.drop) { faults.dropAfter = Int(random() * Double(length)) }
            if roll(c.stall) {
                faults.stallAfter = Int(random() * Double(length))
                faults.stallSeconds = c.stallSeconds
            }
        }
        return .stream(status: status, headers: headers, content: content, start: start, end: end, faults: faults)
    }

    /// `bytes=first-` or `bytes=first-last` (one range; `last` inclusive). Suffix ranges and
    /// lists are not served: the answer is then the whole file, as RFC 9110 allows.
    private func parseRange(_ v: String) -> (first: Int, last: Int?)? {
        guard let first = parseRangeStart(v) else { return nil }
        let tail = v.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).last ?? ""
        if tail.isEmpty { return (first, nil) }
        guard let last = Int(tail), last >= first else { return nil }
        return (first, last)
    }

    private func parseRangeStart(_ v: String) -> Int? {
        guard v.hasPrefix("bytes="), !v.contains(",") else { return nil }
        let spec = v.dropFirst(6).split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard spec.count == 2, let s = Int(spec[0]) else { return nil }
        return s
    }

    // MARK: - Helpers

    private func json(_ status: Int, _ obj: [String: Any]) -> SandboxResponse {
        let data = (try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])) ?? Data()
        return .full(status: status, headers: [("Content-Type", "application/json")], body: Array(data))
    }

    private func apiError(
        _ status: Int, _ code: String, _ message: String, param: String? = nil, extra: [(String, String)] = []
    ) -> SandboxResponse {
        // OpenAI's Error object: message, type, param and code, the last two nullable.
        let body: [String: Any] = [
            "error": ["message": message, "type": code.lowercased(), "code": code, "param": param ?? NSNull()] as [String: Any]
        ]
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
        return .full(status: status, headers: [("Content-Type", "application/json")] + extra, body: Array(data))
    }

    private func plain(_ status: Int, _ text: String) -> SandboxResponse {
        .full(status: status, headers: [("Content-Type", "application/xml")], body: Array(text.utf8))
    }

    /// Used under `lock` only (DateFormatter is not Sendable), built once.
    private let httpFormatter: DateFormatter = {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return f
    }()

    private func httpDate(_ d: Date) -> String { httpFormatter.string(from: d) }
}

/// Text fields of a multipart/form-data body (RFC 7578); file parts are skipped.
enum Multipart {
    static func fields(_ body: [UInt8], contentType: String) -> [String: Any]? {
        guard
            let b = contentType.components(separatedBy: "boundary=").dropFirst().first?
                .split(separator: ";").first.map({ $0.trimmingCharacters(in: CharacterSet(charactersIn: "\" ")) }),
            !b.isEmpty
        else { return nil }
        let text = String(decoding: body, as: UTF8.self)
        var out: [String: Any] = [:]
        for part in text.components(separatedBy: "--\(b)") {
            guard let split = part.range(of: "\r\n\r\n") else { continue }
            let head = part[part.startIndex..<split.lowerBound]
            var value = String(part[split.upperBound...])
            if value.hasSuffix("\r\n") { value.removeLast() }  // CRLF is one Character
            guard let nameRange = head.range(of: "name=\""),
                let end = head[nameRange.upperBound...].firstIndex(of: "\"")
            else { continue }
            if head.contains("filename=") { continue }
            out[String(head[nameRange.upperBound..<end])] = value
        }
        return out
    }
}
