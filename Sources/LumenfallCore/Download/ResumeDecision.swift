import Foundation
import LumenfallCurl

/// What we knew about the remote file when the `.part` was written, saved beside it so a
/// later run can ask for the rest with a validator (RFC 9110 §13.1.5 If-Range).
struct ResumeValidator: Codable, Equatable, Sendable {
    var etag: String?
    var lastModified: String?
    var total: Int64?
    /// The file's Content-Type, for the sidecar when a later run only has to confirm the end.
    var contentType: String?
    /// Present when the `.part` is written over several connections (`--segments`): then its
    /// length means nothing, and these ranges say which bytes are in it.
    var segments: SegmentPlan?

    init(etag: String? = nil, lastModified: String? = nil, total: Int64? = nil, contentType: String? = nil) {
        self.etag = etag
        self.lastModified = lastModified
        self.total = total
        self.contentType = contentType
    }

    /// If-Range wants a strong ETag; a weak one (W/"...") must not be used for ranges.
    var strongETag: String? {
        guard let e = etag, !e.hasPrefix("W/"), e.hasPrefix("\"") else { return nil }
        return e
    }

    /// The value for If-Range: the strong ETag, else the Last-Modified date.
    var ifRange: String? { strongETag ?? lastModified }

    /// Longest ETag, date or type we keep: real ones are well under 100 bytes.
    static let maxFieldBytes = 512
    /// A plan with more ranges than this was not written by us (`--segments` is at most 16,
    /// and stealing halves ranges no smaller than 2 MiB).
    static let maxSegmentRanges = 4096

    /// Why a validator read back from a `.part.state` cannot be used, or nil when every field
    /// is one we could have written: a state file is input from outside (a shared folder, a
    /// damaged disk), and its ETag goes into a request header.
    var problem: String? {
        for (name, value) in [("etag", etag), ("lastModified", lastModified), ("contentType", contentType)] {
            guard let v = value else { continue }
            if !Self.isFieldValue(v) { return "its \(name) is not a plain header value" }
        }
        if let t = total, t < 0 || t > Self.maxTotal { return "its total size is out of range" }
        if let plan = segments {
            guard plan.ranges.count <= Self.maxSegmentRanges, plan.isValid, plan.total == total else {
                return "its record of ranges does not describe one file"
            }
        }
        return nil
    }

    /// 1 PiB: no video is bigger; a larger number is damage or a lie.
    static let maxTotal: Int64 = 1 << 50

    /// Printable ASCII and spaces only, at most `maxFieldBytes`.
    static func isFieldValue(_ v: String) -> Bool {
        v.utf8.count <= maxFieldBytes && v.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
    }
}

/// The media server's answer, reduced to what the resume decision needs.
struct MediaHead: Sendable, Equatable {
    var status: Int
    var contentRange: String?
    var contentLength: Int64?
    var etag: String?
    var lastModified: String?
    var retryAfter: Double?

    init(
        status: Int, contentRange: String? = nil, contentLength: Int64? = nil,
        etag: String? = nil, lastModified: String? = nil, retryAfter: Double? = nil
    ) {
        self.status = status
        self.contentRange = contentRange
        self.contentLength = contentLength
        self.etag = etag
        self.lastModified = lastModified
        self.retryAfter = retryAfter
    }
}

extension MediaHead {
    /// What a media answer's head says, as the resume rules read it.
    init(_ h: HTTPResponseHead, now: Date = Date()) {
        self.init(
            status: h.status, contentRange: h.header("Content-Range"),
            contentLength: h.header("Content-Length").flatMap { Int64($0) },
            // A validator we could not send back as it came (a bare CR inside, say) is no
            // validator: dropped here, so it is neither saved nor compared.
            etag: h.header("ETag").flatMap { ResumeValidator.isFieldValue($0) ? $0 : nil },
            lastModified: h.header("Last-Modified").flatMap { ResumeValidator.isFieldValue($0) ? $0 : nil },
            retryAfter: RetryAfter.parse(h.header("Retry-After"), now: now))
    }
}

enum HeadDecision: Equatable, Sendable {
    /// Write the body at `offset` (0 means truncate the `.part` and start over).
    case write(offset: Int64, total: Int64?, reason: AttemptReason?)
    /// The `.part` already holds all `total` bytes (a 416 whose `*/N` equals its size).
    case complete(total: Int64)
    /// The `.part` is proven stale without a usable body: empty it, then ask again.
    case restart(AttemptReason)
    /// The signed URL was refused (401/403/404/410): fetch a fresh one, keep the `.part`.
    case refreshURL(status: Int)
    /// Worth asking again later with the same `.part`.
    case retry(AttemptReason, after: Double?)
    /// Follow the redirect (the HTTP layer checks it).
    case redirect
    case fail(AttemptReason)
}

/// The resume rules of the careful downloaders (yt-dlp's http.py, and the bugs aria2 and
/// youtube-dl had without them): a body is appended only when the server proves it continues
/// exactly where the file ends; a full 200 means start over, never append.
enum ResumeDecision {
    static func decide(_ h: MediaHead, localSize: Int64, known: ResumeValidator?) -> HeadDecision {
        switch h.status {
        case 200:
            let why: AttemptReason? = localSize > 0 ? .wholeFileInsteadOfRest : nil
            return .write(offset: 0, total: h.contentLength, reason: why)
        case 206:
            guard let cr = h.contentRange.flatMap(ContentRange.init) else {
                return .retry(.noContentRange, after: nil)
            }
            if localSize > 0, let old = known?.strongETag, let new = h.etag, old != new {
                return .restart(.etagChanged(from: old, to: new))
            }
            if let oldTotal = known?.total, let newTotal = cr.total, oldTotal != newTotal {
                return .restart(.sizeChanged(from: oldTotal, to: newTotal))
            }
            guard cr.start == localSize else {
                return .retry(.resumedElsewhere(at: cr.start, partEnds: localSize), after: nil)
            }
            return .write(offset: localSize, total: cr.total, reason: nil)
        case 416:
            let total = h.contentRange.flatMap(ContentRange.init)?.total
            if let total, total == localSize, localSize > 0 { return .complete(total: total) }
            if let total, localSize > total {
                return .restart(.partLongerThanServer(part: localSize, server: total))
            }
            return .retry(.rangeRefused(at: localSize, status: 416), after: h.retryAfter)
        case 301, 302, 303, 307, 308:
            return .redirect
        case 401, 403, 404, 410:
            return .refreshURL(status: h.status)
        case 408, 425, 429, 500...599:
            return .retry(.status(h.status), after: h.retryAfter)
        default:
            return .fail(.unexpectedStatus(h.status))
        }
    }
}

/// `Content-Range: bytes first-last/total` or `bytes */total` (RFC 9110 §14.4).
struct ContentRange: Equatable, Sendable {
    var start: Int64
    var end: Int64?
    var total: Int64?

    init?(_ value: String) {
        let v = value.trimmingCharacters(in: .whitespaces)
        guard v.lowercased().hasPrefix("bytes ") else { return nil }
        let rest = v.dropFirst(6).trimmingCharacters(in: .whitespaces)
        let halves = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard halves.count == 2 else { return nil }
        total = halves[1] == "*" ? nil : Int64(halves[1])
        if halves[1] != "*" && total == nil { return nil }
        if halves[0] == "*" {
            start = -1
            end = nil
            return
        }
        let ends = halves[0].split(separator: "-", maxSplits: 1)
        guard ends.count == 2, let s = Int64(ends[0]), let e = Int64(ends[1]), s >= 0, e >= s else { return nil }
        start = s
        end = e
        if let t = total, e >= t { return nil }
    }
}
