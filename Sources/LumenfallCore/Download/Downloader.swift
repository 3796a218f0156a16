import Foundation
import Logging
import LumenfallCurl

#if canImport(Glibc)
import Glibc
#endif

public struct DownloadSettings: Sendable {
    public var connectTimeout: Double = 30
    /// A transfer slower than `minSpeed` bytes/s over this long is aborted and resumed.
    public var stallTimeout: Double = 30
    /// The low-speed floor, in bytes/s (curl's `-Y`); 1 means "moves no byte at all".
    public var minSpeed = 1
    /// A deadline for one id's whole download (every attempt, wait and link refresh); nil: none.
    public var maxTime: Double?
    public var retry = RetryPolicy()
    /// How many fresh signed URLs one id may ask for before we stop believing in them.
    public var maxURLRefreshes = 3

    public init() {}
}

/// Where the bytes come from: the signed `output.url` (no key) or the API's own
/// `/videos/{id}/content` (key attached, OpenAI's way).
struct MediaSource: Sendable, Equatable {
    var url: String
    var usesAPIKey: Bool
    var kind: String { usesAPIKey ? "content_endpoint" : "output_url" }
}

public struct DownloadResult: Sendable {
    public var file: MediaFile
    public var bytes: Int64
    public var sha256: String
    public var contentType: String?
    public var mediaHost: String
    public var source: String
    /// Bytes received in this run (less than `bytes` after a resume).
    public var transferred: Int64
}

public enum DownloadEvent: Sendable {
    case started(host: String, offset: Int64, total: Int64?)
    /// `kept`: the bytes of the `.part` that the next attempt continues from (0: none).
    case retrying(reason: String, delay: Double, kept: Int64)
    case refreshingURL(status: Int)
    case restarting(reason: String)
    /// The server accepted the request: the body starts at `offset` of `total` bytes.
    case receiving(offset: Int64, total: Int64?)
}

public enum DownloadError: Error, Sendable, Equatable {
    case expired(Date)
    case denied(status: Int, host: String)
    case failed(String)
    case authenticationFailed
    case disk(String)
    /// `--max-time` ran out.
    case timedOut(Double)
}

/// Streams one id's output into `<id>.<ext>.part`, resuming and retrying until it is whole and
/// verified, then renames it into place. Memory stays constant whatever the size: bytes go from
/// libcurl's buffer to the file and the SHA-256 in one pass.
struct Downloader: Sendable {
    let directory: String
    let id: String
    let settings: DownloadSettings
    let api: APIClient
    let random: @Sendable () -> Double
    let logger: Logger
    let events: @Sendable (DownloadEvent) -> Void

    /// `refresh` fetches the video object again when a signed URL stops working.
    func run(video initial: VideoObject, refresh: @Sendable () async throws -> VideoObject) async throws -> DownloadResult {
        var video = initial
        var source = mediaSource(for: video)
        let sink = FileSink(directory: directory, id: id, onWrite: { [events] in events(.receiving(offset: $0, total: $1)) })
        defer { sink.closeFile() }
        sink.file = MediaFile.existingPart(directory: directory, id: id)

        var failures = 0
        var refreshes = 0
        var attempts = 0
        var transferred: Int64 = 0
        let deadline = settings.maxTime.map { Date().addingTimeInterval($0) }
        func remaining() -> Double? { deadline.map { $0.timeIntervalSinceNow } }
        // The furthest the durable .part has ever reached: an attempt is progress only if it
        // ends beyond this. Bytes that were received and then thrown away (a 200 that
        // restarts the file, a body longer than announced) are not progress, so a host that
        // ignores Range and drops at the same point every time runs out of retries.
        var furthest: Int64 = 0
        while true {
            try Task.checkCancellation()
            try sink.prepareAttempt()
            if attempts == 0 { furthest = sink.localSize }
            attempts += 1
            if let left = remaining(), left <= 0, let limit = settings.maxTime { throw DownloadError.timedOut(limit) }
            var headers = ["Accept-Encoding: identity"]
            if sink.localSize > 0 {
                headers.append("Range: bytes=\(sink.localSize)-")
                if let v = sink.known?.ifRange { headers.append("If-Range: \(v)") }
            }
            let request = HTTPRequest(
                url: source.url, headers: headers,
                connectTimeout: settings.connectTimeout,
                stallTimeout: settings.stallTimeout, minSpeed: settings.minSpeed,
                totalTimeout: remaining(), caFile: api.caFile)
            events(.started(host: URLPolicy.host(of: source.url), offset: sink.localSize, total: sink.known?.total))
            logger.debug(
                "media request",
                metadata: [
                    "id": "\(id)", "stage": "download", "url": "\(URLPolicy.redacted(source.url))",
                    "range_from": "\(sink.localSize)", "if_range": "\(sink.known?.ifRange ?? "-")",
                    "attempt": "\(attempts)",
                ])

            var transient: (String, Double?)?
            do {
                _ = try await api.http.send(
                    request, credentials: source.usesAPIKey ? api.credentials : [],
                    credentialOrigin: source.usesAPIKey ? api.baseURL : nil, sink: sink)
            } catch let e as CurlError {
                if let f = sink.failure { throw DownloadError.disk(f) }
                if e.isTimeout, let left = remaining(), left <= 0.05, let limit = settings.maxTime {
                    throw DownloadError.timedOut(limit)
                }
                transient = ("\(URLPolicy.host(of: source.url)): \(e.message)", nil)
            } catch let e as APIError {
                throw DownloadError.failed(e.summary)
            }
            sink.closeFile()
            transferred += sink.attemptBytes
            logger.debug(
                "media answer",
                metadata: [
                    "id": "\(id)", "stage": "download", "decision": "\(sink.decision.map { "\($0)" } ?? "none")",
                    "bytes": "\(sink.attemptBytes)", "error": "\(transient?.0 ?? "-")",
                ])
            if let f = sink.failure { throw DownloadError.disk(f) }

            if transient == nil {
                switch sink.decision {
                case nil:
                    transient = ("no answer from \(URLPolicy.host(of: source.url))", nil)
                case .write(_, let total, _):
                    let size = sink.localSize
                    if let total, size < total {
                        transient = ("the connection closed at byte \(size) of \(total)", nil)
                    } else if let total, size > total {
                        try sink.discardPart()
                        events(.restarting(reason: "received more bytes than announced; starting over"))
                        transient = ("the server sent more than \(total) bytes", nil)
                    } else {
                        return try finish(sink, source: source, transferred: transferred)
                    }
                case .complete:
                    return try finish(sink, source: source, transferred: transferred)
                case .restart(let why):
                    try sink.discardPart()
                    events(.restarting(reason: why))
                    transient = (why, 0)
                case .retry(let why, let after):
                    transient = (why, after)
                case .refreshURL(let status):
                    if source.usesAPIKey && status == 401 { throw DownloadError.authenticationFailed }
                    refreshes += 1
                    if refreshes > settings.maxURLRefreshes {
                        if let exp = video.expiresAt, exp < Date() { throw DownloadError.expired(exp) }
                        throw DownloadError.denied(status: status, host: URLPolicy.host(of: source.url))
                    }
                    events(.refreshingURL(status: status))
                    video = try await refresh()
                    if let exp = video.expiresAt, exp < Date() { throw DownloadError.expired(exp) }
                    source = mediaSource(for: video)
                    continue
                case .redirect:
                    throw DownloadError.failed("\(URLPolicy.host(of: source.url)) redirected without a Location")
                case .fail(let why):
                    throw DownloadError.failed("\(why) (\(URLPolicy.host(of: source.url)))")
                }
            }

            // Progress proves the link works: a long download on a flaky network may fail
            // many times, and only failures without progress in a row count against the limit.
            let progressed = sink.localSize > furthest
            furthest = max(furthest, sink.localSize)
            failures = progressed ? 1 : failures + 1
            guard let (why, after) = transient else { continue }
            if failures > settings.retry.maxRetries {
                throw DownloadError.failed("gave up after \(failures) attempts in a row without progress: \(why)")
            }
            let delay = after ?? settings.retry.backoff.delay(attempt: failures - 1, random: random())
            if let left = remaining(), let limit = settings.maxTime, delay >= left {
                throw DownloadError.timedOut(limit)
            }
            events(.retrying(reason: why, delay: delay, kept: sink.localSize))
            try await sleep(seconds: delay)
        }
    }

    func mediaSource(for v: VideoObject) -> MediaSource {
        if let u = v.outputURL { return MediaSource(url: u, usesAPIKey: false) }
        return MediaSource(url: api.contentURL(id), usesAPIKey: true)
    }

    private func finish(_ sink: FileSink, source: MediaSource, transferred: Int64) throws -> DownloadResult {
        guard let file = sink.file else { throw DownloadError.failed("no file was written") }
        let (bytes, digest) = try sink.finalize()
        return DownloadResult(
            file: file, bytes: bytes, sha256: digest, contentType: sink.contentType,
            mediaHost: URLPolicy.host(of: source.url), source: source.kind,
            transferred: transferred)
    }
}
