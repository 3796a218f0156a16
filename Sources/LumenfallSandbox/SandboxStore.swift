import Crypto
import Foundation

/// One job: its script and what has happened to it so far.
struct SandboxJob {
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
    /// Its object as a listing page last showed it, and what it showed (see `listedObject`).
    var listed: (key: String, json: [UInt8])?

    var completedAt: Date {
        spec.queuedPolls != nil ? createdAt : createdAt.addingTimeInterval(spec.queuedSeconds + spec.processingSeconds)
    }
    var expiresAt: Date { completedAt.addingTimeInterval(spec.urlTTL) }
    var ext: String { spec.contentType == "video/webm" ? "webm" : "mp4" }

    /// Where the job stands now: by polls counted, or by its clock.
    func status(now: Date = Date()) -> (String, Double?) {
        if let queued = spec.queuedPolls {
            // `polls` counts the GETs answered before this one: the first `queued` see queued.
            if polls < queued { return ("queued", 0) }
            let step = polls - queued + 1
            if step <= spec.processingPolls {
                return ("in_progress", Double(step * 100 / (spec.processingPolls + 1)))
            }
            return (spec.outcome, nil)
        }
        let t = now.timeIntervalSince(createdAt)
        if t < spec.queuedSeconds { return ("queued", 0) }
        if t < spec.queuedSeconds + spec.processingSeconds {
            let p = (t - spec.queuedSeconds) / max(spec.processingSeconds, 0.001) * 100
            return ("in_progress", p.rounded(.down))
        }
        return (spec.outcome, nil)
    }

    var isCompleted: Bool { status().0 == "completed" }
}

/// Work a store decides on but does not do under its lock: file writes and timers.
enum SandboxEffect {
    /// `--media-dir`: the job's bytes go to a file another server serves.
    case writeMedia(MediaContent, path: String)
    /// The job's webhook deliveries, timed for when it ends.
    case scheduleWebhook(id: String)
}

/// The jobs, their bytes, the request and delivery logs and the fault plan: the sandbox's whole
/// mutable state, one value that `SandboxState` keeps in a Mutex. Its methods answer a routed
/// request from memory; whatever touches a disk or a clock is left in `effects`.
struct SandboxStore {
    let apiKey: String
    /// A Lumenfall server may not offer GET /videos; clients must say so clearly.
    let offersList: Bool
    let listMode: SandboxListMode
    var faults: FaultPlan

    var jobs: [String: SandboxJob] = [:]
    private var order: [String] = []
    /// Where each id stands in `order`, so a page after a cursor is found without a scan.
    private var position: [String: Int] = [:]
    private var contents: [String: MediaContent] = [:]
    private var counter = 0
    var log: [LoggedRequest] = []
    /// Webhooks (`--webhook-url`, `--webhook-secret`): where and how deliveries go, and what
    /// each attempt got back.
    var webhooks: SandboxWebhookConfig?
    var webhookLog: [WebhookDelivery] = []
    var connections = 0
    var stallReleases = 0
    /// `--media-dir` and `--media-base`: each job's bytes are written to a file there at
    /// creation and its `output.url` points at `base/<id>.<ext>`, so another web server
    /// (nginx, in Scripts/bench) serves the media.
    var externalMedia: (dir: String, base: String)?
    var port = 0
    /// "https" when the sandbox serves TLS.
    var scheme = "http"
    var effects: [SandboxEffect] = []
    /// DateFormatter is not Sendable; this one is only reached through the store's lock.
    private let httpFormatter: DateFormatter = {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return f
    }()

    init(apiKey: String, offersList: Bool, listMode: SandboxListMode, faults: FaultPlan) {
        self.apiKey = apiKey
        self.offersList = offersList
        self.listMode = listMode
        self.faults = faults
    }

    // MARK: - Jobs

    mutating func create(_ spec: SandboxJobSpec) -> String {
        counter += 1
        let id = spec.id ?? "video_sbx\(counter)_\(String(UInt64.random(in: 0..<UInt64.max), radix: 36))"
        let job = SandboxJob(spec: spec, id: id, createdAt: Date())
        jobs[id] = job
        if position[id] == nil {
            position[id] = order.count
            order.append(id)
        }
        if let m = externalMedia { effects.append(.writeMedia(content(job), path: "\(m.dir)/\(id).\(job.ext)")) }
        if webhooks != nil { effects.append(.scheduleWebhook(id: id)) }
        return id
    }

    /// The bytes the job serves at this moment (they change under changeContentAfterRequests).
    mutating func content(_ job: SandboxJob) -> MediaContent {
        let key = "\(job.id)#\(job.contentVersion)"
        if let c = contents[key] { return c }
        var seed: UInt64 = 1469598103934665603
        for b in key.utf8 { seed = (seed ^ UInt64(b)) &* 1099511628211 }
        let c = MediaContent(size: job.spec.bytes, seed: seed)
        contents[key] = c
        return c
    }

    /// `sha256  <id>.<ext>` for every completed job, as `sha256sum -c` reads it: what a soak
    /// run's output folder must hold, byte for byte.
    mutating func manifest() -> String {
        order.compactMap { id -> String? in
            guard let job = jobs[id], job.isCompleted else { return nil }
            return "\(content(job).sha256Hex())  \(id).\(job.ext)\n"
        }.joined()
    }

    // MARK: - Answers

    mutating func answer(_ route: SandboxRoute, _ r: SandboxRequest) -> SandboxResponse {
        switch route {
        case .health: return .json(200, ["status": "ok"])
        case .manifest:
            return .full(status: 200, headers: [("Content-Type", "text/plain")], body: Array(manifest().utf8))
        case .stats:
            return .json(
                200,
                [
                    "faults": faults.injected, "jobs": jobs.count, "connections": connections,
                    "webhook_deliveries": webhookLog.count,
                ])
        case .createMany: return createMany(r)
        case .media(let id, let file, let redirected): return media(id: id, file: file, redirected: redirected, r)
        case .mediaNotFound: return .plain(404, "no such object")
        case .webhookSecret:
            guard let secret = webhooks?.secret else { return .apiError(404, "NOT_FOUND", "no webhook secret is configured") }
            return .json(200, ["key": secret])
        case .create: return createFromBody(r)
        case .list: return list(r)
        case .retrieve(let id): return retrieve(id, r)
        case .content(let id): return contentEndpoint(id, r)
        case .preview(let id, let variant):
            guard let job = jobs[id], job.isCompleted else {
                return .apiError(404, "NOT_FOUND", "No completed video with id '\(id)'", param: "video_id")
            }
            switch job.spec.previews {
            case "none": return .apiError(400, "INVALID_REQUEST", "variant must be video", param: "variant")
            case "ignored": return contentEndpoint(id, r)
            default: return servePreview(job, variant, r)
            }
        case .badVariant:
            return .apiError(400, "INVALID_REQUEST", "variant must be one of video, thumbnail, spritesheet", param: "variant")
        case .delete(let id):
            guard jobs[id] != nil else {
                return .apiError(404, "NOT_FOUND", "No video found with id '\(id)'", param: "video_id")
            }
            jobs[id] = nil
            contents = contents.filter { !$0.key.hasPrefix("\(id)#") }
            // Listing skips it from now on; its place in `order` stays, so a cursor naming it
            // keeps working.
            return .json(200, ["id": id, "object": "video.deleted", "deleted": true])
        case .unauthorized(let message): return .apiError(401, "AUTHENTICATION_FAILED", message)
        case .notFound(let message): return .apiError(404, "NOT_FOUND", message)
        }
    }

    /// JSON, or multipart/form-data as OpenAI's SDK sends it (Lumenfall takes both); in a form
    /// the sandbox's own options ride in a `sandbox` field holding JSON.
    private mutating func createFromBody(_ r: SandboxRequest) -> SandboxResponse {
        let obj: [String: Any]
        if let ct = r.header("Content-Type"), ct.lowercased().hasPrefix("multipart/form-data") {
            guard let fields = Multipart.fields(r.body, contentType: ct) else {
                return .apiError(400, "INVALID_REQUEST", "a multipart/form-data body without a usable boundary")
            }
            var o: [String: Any] = fields
            if let s = fields["sandbox"] as? String {
                o["sandbox"] = try? JSONSerialization.jsonObject(with: Data(s.utf8))
            }
            obj = o
        } else {
            guard let json = (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] else {
                return .apiError(400, "INVALID_REQUEST", "the body must be a JSON object or multipart/form-data")
            }
            obj = json
        }
        var spec = SandboxJobSpec()
        if let s = obj["sandbox"], let data = try? JSONSerialization.data(withJSONObject: s) {
            do { spec = try JSONDecoder().decode(SandboxJobSpec.self, from: data) } catch {
                return .apiError(400, "INVALID_REQUEST", "bad sandbox spec: \(error)")
            }
        }
        if let m = obj["model"] as? String { spec.model = m }
        if let p = obj["prompt"] as? String { spec.prompt = p }
        // Lumenfall's addition: where to POST the job's webhook (the SDK sends it in extra_body).
        if let w = obj["webhook_url"] as? String, !w.isEmpty { spec.webhookURL = w }
        if let s = obj["seconds"] as? String { spec.seconds = s }
        if let s = obj["size"] as? String { spec.size = s }
        let id = create(spec)
        guard let job = jobs[id] else { return .apiError(500, "UPSTREAM_ERROR", "lost the job") }
        return .full(status: 202, headers: [("Content-Type", "application/json")], body: videoJSON(job))
    }

    /// `POST /sandbox/jobs?count=N` with a job spec (the `sandbox` object of a create) as the
    /// body: N jobs at once, their ids one a line. For benchmarks that need 100 000 videos.
    private mutating func createMany(_ r: SandboxRequest) -> SandboxResponse {
        let count = Int(r.query["count"] ?? "1") ?? 1
        guard (1...1_000_000).contains(count) else { return .plain(400, "count: 1 to 1000000") }
        let spec: SandboxJobSpec
        do {
            spec = r.body.isEmpty ? SandboxJobSpec() : try JSONDecoder().decode(SandboxJobSpec.self, from: Data(r.body))
        } catch {
            return .plain(400, "bad sandbox spec: \(error)")
        }
        var out: [UInt8] = []
        out.reserveCapacity(count * 32)
        for _ in 0..<count {
            out += Array(create(spec).utf8)
            out.append(UInt8(ascii: "\n"))
        }
        return .full(status: 200, headers: [("Content-Type", "text/plain")], body: out)
    }

    private mutating func list(_ r: SandboxRequest) -> SandboxResponse {
        let q = r.query
        let limit = Int(q["limit"] ?? "20") ?? -1
        guard (1...100).contains(limit) else {
            return .apiError(400, "INVALID_REQUEST", "limit must be an integer from 1 to 100", param: "limit")
        }
        if listMode == .normal, let after = q["after"], position[after] == nil {
            return .apiError(400, "INVALID_REQUEST", "No video found with id '\(after)' to list after", param: "after")
        }
        let ascending = q["order"] == "asc"
        var ids: [String]
        switch listMode {
        case .normal:
            // A page and one more (for has_more), from just after the cursor, skipping deleted jobs.
            let from = q["after"].flatMap { position[$0] }
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
                made.append(create(spec))
            }
            ids = made + ["(more)"]
        }
        let page = Array(ids.prefix(limit))
        var out = Array("{\"object\":\"list\",\"data\":[".utf8)
        for (i, id) in page.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out += listedObject(id, auth: r.header("Authorization"))
        }
        let hasMore = listMode == .normal ? ids.count > page.count : true
        let tail: [String: Any] = ["first_id": page.first ?? NSNull(), "last_id": page.last ?? NSNull(), "has_more": hasMore]
        let t = (try? JSONSerialization.data(withJSONObject: tail, options: [.sortedKeys])) ?? Data("{}".utf8)
        out += Array("],".utf8) + Array(t.dropFirst())
        return .full(status: 200, headers: [("Content-Type", "application/json")], body: out)
    }

    /// A job's object on a listing page, rendered again only when what it shows changes: a page
    /// of 100 objects took 20 ms through JSONSerialization, CPU that the client under test (on
    /// the same small machine, in Scripts/bench) lost; a real API's server is elsewhere.
    private mutating func listedObject(_ id: String, auth: String?) -> [UInt8] {
        guard var j = jobs[id] else { return [] }
        if j.spec.faults.rawObject != nil { return objectBytes(j, auth: auth, encode: false) }
        let (st, progress) = j.status()
        let key = "\(st) \(progress ?? -1) \(j.urlGeneration)"
        if let r = j.listed, r.key == key { return r.json }
        let json = videoJSON(j)
        j.listed = (key, json)
        jobs[id] = j
        return json
    }

    private mutating func retrieve(_ id: String, _ r: SandboxRequest) -> SandboxResponse {
        guard var job = jobs[id] else { return .apiError(404, "NOT_FOUND", "No video found with id '\(id)'") }
        defer {
            job.polls += 1
            jobs[id] = job
        }
        if let refusal = faults.apiFault(&job) { return refusal }
        let body = objectBytes(job, auth: r.header("Authorization"), encode: true)
        return .full(status: 200, headers: [("Content-Type", "application/json")], body: body)
    }

    /// The object as this job's server sends it: the faithful JSON, or the hostile template,
    /// in the job's encoding.
    private func objectBytes(_ job: SandboxJob, auth: String?, encode: Bool) -> [UInt8] {
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

    func mediaURL(_ job: SandboxJob) -> String {
        if let m = externalMedia { return "\(m.base)/\(job.id).\(job.ext)" }
        let expires = Int(job.expiresAt.timeIntervalSince1970)
        let sig = SHA256.hash(data: Data("\(job.id)/\(job.urlGeneration)/\(expires)".utf8)).prefix(16)
            .map { String(format: "%02x", $0) }.joined()
        let route = job.spec.faults.redirect || job.spec.faults.redirectTo != nil ? "media/redirect" : "media"
        return "\(scheme)://127.0.0.1:\(port)/\(route)/\(job.id)/\(job.urlGeneration).\(job.ext)?expires=\(expires)&signature=\(sig)"
    }

    func videoJSON(_ job: SandboxJob) -> [UInt8] {
        let (st, progress) = job.status()
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

    private mutating func contentEndpoint(_ id: String, _ r: SandboxRequest) -> SandboxResponse {
        guard let job = jobs[id] else { return .apiError(404, "NOT_FOUND", "No video found with id '\(id)'") }
        guard job.isCompleted else { return .apiError(404, "NOT_FOUND", "video \(id) is not completed") }
        return serve(id, r)
    }

    private mutating func media(id: String, file: String, redirected: Bool, _ r: SandboxRequest) -> SandboxResponse {
        guard let job = jobs[id], job.isCompleted, !job.spec.contentEndpointOnly else {
            return .plain(404, "no such object")
        }
        if redirected {
            let target =
                job.spec.faults.redirectTo
                ?? mediaURL(job).replacingOccurrences(of: "/media/redirect/", with: "/media/")
            return .full(status: 302, headers: [("Location", target), ("Content-Length", "0")], body: [])
        }
        let gen = Int(file.split(separator: ".").first ?? "") ?? -1
        let expires = Double(r.query["expires"] ?? "") ?? 0
        // What an expired or superseded signed URL gets from a real object store.
        if gen != job.urlGeneration || Date().timeIntervalSince1970 > expires { return .expired }
        return serve(job.id, r)
    }

    /// The image a job serves for `thumbnail` or `spritesheet`: its type and bytes.
    static func previewImage(jobID: String, variant: String) -> (String, [UInt8]) {
        let seed = UInt64(truncatingIfNeeded: jobID.utf8.reduce(5381) { ($0 &* 33) &+ Int($1) })
        return variant == "thumbnail"
            ? ("image/webp", PreviewImages.webp(seed: seed)) : ("image/png", PreviewImages.spritesheet(seed: seed))
    }

    /// A thumbnail (lossless WebP) or spritesheet (PNG grid), with ranges and a strong ETag
    /// like the video, and `faults.previewDropAfterBytes` to cut one short.
    private mutating func servePreview(_ job: SandboxJob, _ variant: String, _ r: SandboxRequest) -> SandboxResponse {
        if let to = job.spec.faults.previewRedirectTo {
            return .full(status: 302, headers: [("Location", to), ("Content-Length", "0")], body: [])
        }
        let (type, bytes) = Self.previewImage(jobID: job.id, variant: variant)
        let tag = "\"\(job.id)-\(variant)-\(bytes.count)\""
        var headers: [(String, String)] = [("Content-Type", type), ("ETag", tag), ("Accept-Ranges", "bytes")]
        var start = 0
        var status = 200
        if let first = r.header("Range").flatMap(RangeHeader.start), r.header("If-Range").map({ $0 == tag }) ?? true {
            guard first < bytes.count else {
                return .full(status: 416, headers: [("Content-Range", "bytes */\(bytes.count)")], body: [])
            }
            start = first
            status = 206
            headers.append(("Content-Range", "bytes \(first)-\(bytes.count - 1)/\(bytes.count)"))
        }
        headers.append(("Content-Length", job.spec.faults.previewClaimedLength.map { "\($0)" } ?? "\(bytes.count - start)"))
        var body = Array(bytes[start...])
        var updated = job
        if let n = faults.previewCut(&updated, count: body.count) {
            jobs[job.id] = updated
            body = Array(body.prefix(n))
            headers.append(("Connection", "close"))  // the server closes after the short body
        }
        return .full(status: status, headers: headers, body: body)
    }

    /// Range, If-Range and ETag as RFC 9110 §14 has them, plus the job's transfer faults.
    private mutating func serve(_ id: String, _ r: SandboxRequest) -> SandboxResponse {
        guard var job = jobs[id] else { return .plain(404, "gone") }
        job.mediaRequests += 1
        defer { jobs[id] = job }
        if let refusal = faults.mediaRefusal(&job) { return refusal }
        let content = content(job)
        let tag = "\"\(job.id)-v\(job.contentVersion)-\(job.spec.bytes)\""
        let lastModified = httpFormatter.string(from: job.completedAt)
        var headers: [(String, String)] = [
            ("Content-Type", job.spec.contentType), ("ETag", tag), ("Last-Modified", lastModified),
            ("Accept-Ranges", "bytes"),
        ]
        let ignoreRange = faults.ignoresRange(job)
        if let lie = job.spec.faults.understateTotal {
            // The hostile 206: a total smaller than the bytes that follow.
            let first = r.header("Range").flatMap(RangeHeader.start) ?? 0
            headers.append(("Content-Range", "bytes \(first)-\(max(first, lie - 1))/\(lie)"))
            headers.append(("Content-Length", "\(max(0, content.size - first))"))
            return .stream(
                status: 206, headers: headers, content: content, start: min(first, content.size),
                end: content.size, faults: StreamFaults())
        }
        var (start, end, status) = (0, content.size, 200)
        if !ignoreRange, let range = r.header("Range").flatMap(RangeHeader.parse) {
            let ifRange = r.header("If-Range")
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
        let streamFaults = faults.streamFaults(&job, length: end - start)
        return .stream(status: status, headers: headers, content: content, start: start, end: end, faults: streamFaults)
    }
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
