import Foundation

/// A job the sandbox will run: its schedule, its outcome, its output and the faults it injects.
/// Every field has a default, so `{"sandbox": {"outcome": "failed"}}` is a complete spec.
public struct SandboxJobSpec: Codable, Sendable {
    public var id: String?
    public var model = "sora-2"
    public var prompt = "A capybara lounging in a hot spring, steam rising gently — 温泉, slow camera pan"
    public var seconds = "4"
    public var size = "1280x720"
    /// Output length in bytes (a valid MP4 box layout: ftyp, then one mdat).
    public var bytes = 1 << 20
    public var contentType = "video/mp4"
    public var queuedSeconds = 0.2
    public var processingSeconds = 0.4
    /// When set, the schedule counts GETs of the object instead of seconds: queued for the
    /// first `queuedPolls`, in_progress for the next `processingPolls`. Tests use it so a slow
    /// machine cannot skip a phase.
    public var queuedPolls: Int?
    public var processingPolls = 0
    /// completed, failed, cancelled, or any other word (reported as an unknown status).
    public var outcome = "completed"
    public var errorCode = "content_policy_violation"
    public var errorMessage = "The prompt was flagged by the provider's safety system."
    /// How long the signed URL lives after completion; zero or negative: already expired.
    public var urlTTL = 3600.0
    /// No `output.url`: the bytes come from `/videos/{id}/content` with the key (OpenAI's way).
    public var contentEndpointOnly = false
    public var costEstimate = 0.21
    /// Adds a field no client models (`x_sandbox`), to prove unknown fields reach the sidecar.
    /// Off by default: the object is then exactly OpenAI's VideoResource plus Lumenfall's
    /// documented additions, which the SDK conformance test checks.
    public var extraField = false
    /// The `thumbnail` and `spritesheet` variants: `images` (a WebP and a PNG grid, as OpenAI),
    /// `none` (400, as a server that knows only the video), `ignored` (the MP4 whatever the
    /// variant, as the sandbox once did and a careless server might).
    public var previews = "images"
    /// Where this job's webhook goes (`webhook_url` in a create body), instead of `--webhook-url`.
    public var webhookURL: String?
    public var webhook = SandboxWebhookFaults()
    public var faults = SandboxFaults()

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SandboxJobSpec()
        id = try c.decodeIfPresent(String.self, forKey: .id)
        model = try c.decodeIfPresent(String.self, forKey: .model) ?? d.model
        prompt = try c.decodeIfPresent(String.self, forKey: .prompt) ?? d.prompt
        seconds = try c.decodeIfPresent(String.self, forKey: .seconds) ?? d.seconds
        size = try c.decodeIfPresent(String.self, forKey: .size) ?? d.size
        bytes = try c.decodeIfPresent(Int.self, forKey: .bytes) ?? d.bytes
        contentType = try c.decodeIfPresent(String.self, forKey: .contentType) ?? d.contentType
        queuedSeconds = try c.decodeIfPresent(Double.self, forKey: .queuedSeconds) ?? d.queuedSeconds
        processingSeconds = try c.decodeIfPresent(Double.self, forKey: .processingSeconds) ?? d.processingSeconds
        queuedPolls = try c.decodeIfPresent(Int.self, forKey: .queuedPolls)
        processingPolls = try c.decodeIfPresent(Int.self, forKey: .processingPolls) ?? d.processingPolls
        outcome = try c.decodeIfPresent(String.self, forKey: .outcome) ?? d.outcome
        errorCode = try c.decodeIfPresent(String.self, forKey: .errorCode) ?? d.errorCode
        errorMessage = try c.decodeIfPresent(String.self, forKey: .errorMessage) ?? d.errorMessage
        urlTTL = try c.decodeIfPresent(Double.self, forKey: .urlTTL) ?? d.urlTTL
        contentEndpointOnly = try c.decodeIfPresent(Bool.self, forKey: .contentEndpointOnly) ?? d.contentEndpointOnly
        costEstimate = try c.decodeIfPresent(Double.self, forKey: .costEstimate) ?? d.costEstimate
        extraField = try c.decodeIfPresent(Bool.self, forKey: .extraField) ?? d.extraField
        previews = try c.decodeIfPresent(String.self, forKey: .previews) ?? d.previews
        webhookURL = try c.decodeIfPresent(String.self, forKey: .webhookURL)
        webhook = try c.decodeIfPresent(SandboxWebhookFaults.self, forKey: .webhook) ?? d.webhook
        faults = try c.decodeIfPresent(SandboxFaults.self, forKey: .faults) ?? d.faults
    }
}

/// Misbehaviour switched on per job, each for a bounded number of requests so a correct
/// client always gets there in the end.
public struct SandboxFaults: Codable, Sendable {
    /// Close the connection after this many body bytes of a media answer...
    public var dropAfterBytes: Int?
    /// ...for this many answers.
    public var dropTimes = 1
    /// Close the connection after N bytes of a thumbnail or spritesheet, for `previewDropTimes`
    /// answers: a preview must resume with a Range request like the video.
    public var previewDropAfterBytes: Int?
    public var previewDropTimes = 1
    /// A preview request answers 302 to this address (file:///etc/passwd, ...).
    public var previewRedirectTo: String?
    /// A preview answer's Content-Length claims this many bytes (the body is the image).
    public var previewClaimedLength: Int64?
    /// Answer every media request with the whole file (200), as some CDNs do.
    public var ignoreRange = false
    /// Answer the first `mediaErrorTimes` media requests with this status (429, 503...).
    public var mediaErrorStatus: Int?
    public var mediaErrorTimes = 1
    /// Sent with mediaErrorStatus and apiErrors: seconds or an HTTP-date.
    public var retryAfter: String?
    /// Stop sending (connection left open) after this many body bytes...
    public var stallAfterBytes: Int?
    public var stallSeconds = 3600.0
    public var stallTimes = 1
    /// After this many media requests the bytes change, and so does the ETag.
    public var changeContentAfterRequests: Int?
    /// After this many media requests the signed URL in use stops working (403); fetching the
    /// video object again yields a fresh one that works.
    public var expireURLAfterRequests: Int?
    /// The media URL first answers 302 to the real one.
    public var redirect = false
    /// The media URL answers 302 to this address instead (file:///..., ftp://..., ...).
    public var redirectTo: String?
    /// Answers for the first GET /videos/{id} requests, consumed in order.
    public var apiErrors: [SandboxAPIFault] = []
    /// Send at most this many body bytes a second (in small pieces)...
    public var dripBytesPerSecond: Int?
    /// ...for this many answers.
    public var dripTimes = 1
    /// A 206's Content-Range announces this total, smaller than what is then sent.
    public var understateTotal: Int?
    /// Every media answer streams at most this many bytes a second, each connection on its own
    /// (as a CDN that caps per connection): what `--segments` is for.
    public var throttleBytesPerSecond: Int?
    /// ...for this many media answers (nil: all of them).
    public var throttleTimes: Int?
    /// The video object as a hostile server sends it: this text, with `{{id}}`, `{{url}}` (the
    /// signed media URL) and `{{auth}}` (the bearer token the client sent) filled in.
    public var rawObject: String?
    /// How the object's bytes are encoded: "utf8" (default), "bom" (a UTF-8 byte-order mark
    /// first) or "utf16" (UTF-16 with a BOM).
    public var encoding: String?

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SandboxFaults()
        dropAfterBytes = try c.decodeIfPresent(Int.self, forKey: .dropAfterBytes)
        dropTimes = try c.decodeIfPresent(Int.self, forKey: .dropTimes) ?? d.dropTimes
        previewDropAfterBytes = try c.decodeIfPresent(Int.self, forKey: .previewDropAfterBytes)
        previewDropTimes = try c.decodeIfPresent(Int.self, forKey: .previewDropTimes) ?? d.previewDropTimes
        previewRedirectTo = try c.decodeIfPresent(String.self, forKey: .previewRedirectTo)
        previewClaimedLength = try c.decodeIfPresent(Int64.self, forKey: .previewClaimedLength)
        ignoreRange = try c.decodeIfPresent(Bool.self, forKey: .ignoreRange) ?? d.ignoreRange
        mediaErrorStatus = try c.decodeIfPresent(Int.self, forKey: .mediaErrorStatus)
        mediaErrorTimes = try c.decodeIfPresent(Int.self, forKey: .mediaErrorTimes) ?? d.mediaErrorTimes
        retryAfter = try c.decodeIfPresent(String.self, forKey: .retryAfter)
        stallAfterBytes = try c.decodeIfPresent(Int.self, forKey: .stallAfterBytes)
        stallSeconds = try c.decodeIfPresent(Double.self, forKey: .stallSeconds) ?? d.stallSeconds
        stallTimes = try c.decodeIfPresent(Int.self, forKey: .stallTimes) ?? d.stallTimes
        changeContentAfterRequests = try c.decodeIfPresent(Int.self, forKey: .changeContentAfterRequests)
        expireURLAfterRequests = try c.decodeIfPresent(Int.self, forKey: .expireURLAfterRequests)
        redirect = try c.decodeIfPresent(Bool.self, forKey: .redirect) ?? d.redirect
        redirectTo = try c.decodeIfPresent(String.self, forKey: .redirectTo)
        apiErrors = try c.decodeIfPresent([SandboxAPIFault].self, forKey: .apiErrors) ?? []
        dripBytesPerSecond = try c.decodeIfPresent(Int.self, forKey: .dripBytesPerSecond)
        dripTimes = try c.decodeIfPresent(Int.self, forKey: .dripTimes) ?? d.dripTimes
        understateTotal = try c.decodeIfPresent(Int.self, forKey: .understateTotal)
        throttleBytesPerSecond = try c.decodeIfPresent(Int.self, forKey: .throttleBytesPerSecond)
        throttleTimes = try c.decodeIfPresent(Int.self, forKey: .throttleTimes)
        rawObject = try c.decodeIfPresent(String.self, forKey: .rawObject)
        encoding = try c.decodeIfPresent(String.self, forKey: .encoding)
    }
}

public struct SandboxAPIFault: Codable, Sendable {
    public var status: Int
    /// Answer with an HTML page (a proxy's error page) instead of the API's JSON.
    public var html: Bool
    public var retryAfter: String?
    /// The API error's `code` and `message` (defaults name the fault).
    public var code: String?
    public var message: String?

    public init(status: Int, html: Bool = false, retryAfter: String? = nil, code: String? = nil, message: String? = nil) {
        self.status = status
        self.html = html
        self.retryAfter = retryAfter
        self.code = code
        self.message = message
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        status = try c.decode(Int.self, forKey: .status)
        html = try c.decodeIfPresent(Bool.self, forKey: .html) ?? false
        retryAfter = try c.decodeIfPresent(String.self, forKey: .retryAfter)
        code = try c.decodeIfPresent(String.self, forKey: .code)
        message = try c.decodeIfPresent(String.self, forKey: .message)
    }
}

/// How `GET /videos` pages, for testing a client against a broken list.
public enum SandboxListMode: String, Sendable, CaseIterable {
    /// Pages through the jobs, as OpenAI documents.
    case normal
    /// `has_more` never ends: every page makes up new completed jobs (1 KiB each).
    case endless
    /// Every page is the first page again, whatever `after` says (a cursor that loops).
    case loop
}

/// Random misbehaviour on every media and API request, for soak tests: each rate is the chance
/// that one request gets that fault. Faults are transient, as on a real flaky network: a
/// correct client always gets every byte in the end.
public struct SandboxChaos: Sendable {
    public var drop = 0.0
    public var stall = 0.0
    public var stallSeconds = 2.0
    public var serverError = 0.0
    public var ignoreRange = 0.0
    public var expireURL = 0.0
    public var apiError = 0.0
    public var seed: UInt64 = 1

    public init() {}

    /// "drop=0.1,stall=0.05,5xx=0.05,norange=0.05,expire=0.02,api=0.05,stall-seconds=2,seed=7"
    public init?(_ text: String) {
        for pair in text.split(separator: ",") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, let v = Double(kv[1]), v.isFinite, v >= 0 else { return nil }
            switch kv[0] {
            case "drop": drop = v
            case "stall": stall = v
            case "stall-seconds": stallSeconds = v
            case "5xx": serverError = v
            case "norange": ignoreRange = v
            case "expire": expireURL = v
            case "api": apiError = v
            case "seed": seed = UInt64(min(v, 1e15))
            default: return nil
            }
        }
    }
}
