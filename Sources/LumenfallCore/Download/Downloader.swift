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
    /// `--limit-rate`: shared by every download of the run; nil: no cap.
    public var rateLimiter: RateLimiter?
    public var retry = RetryPolicy()
    /// How many fresh signed URLs one id may ask for before we stop believing in them.
    public var maxURLRefreshes = 3
    /// `--segments`: ranged connections per file (1: one connection, the default).
    public var segments = 1

    public init() {}
}

/// Where the bytes come from: the signed `output.url` (no key) or the API's own
/// `/videos/{id}/content` (key attached, OpenAI's way).
struct MediaSource: Sendable, Equatable {
    var url: String
    var usesAPIKey: Bool
    var kind: String { usesAPIKey ? "content_endpoint" : "output_url" }
}

package struct DownloadResult: Sendable {
    package var file: MediaFile
    package var bytes: Int64
    package var sha256: String
    package var contentType: String?
    package var mediaHost: String
    package var source: String
    /// Bytes received in this run (less than `bytes` after a resume).
    package var transferred: Int64
}

public enum DownloadEvent: Sendable {
    case started(host: String, offset: Int64, total: Int64?)
    /// `kept`: the bytes of the `.part` that the next attempt continues from (0: none).
    case retrying(reason: String, delay: Double, kept: Int64)
    case refreshingURL(status: Int)
    case restarting(reason: String)
    /// The `.part.state` was not usable (damaged, planted): renamed to `file`, not acted on.
    case stateSetAside(file: String, reason: String)
    /// The server accepted the request: the body starts at `offset` of `total` bytes.
    case receiving(offset: Int64, total: Int64?)
    /// The file comes over this many ranged connections at once (`--segments`).
    case segmented(connections: Int)
    /// `bytes` of `total` are in the `.part` (at most twice a second per download).
    case progress(bytes: Int64, total: Int64?)
}

package enum DownloadError: Error, Sendable, Equatable {
    case expired(Date)
    case denied(status: Int, host: String)
    case failed(DownloadFailure)
    case authenticationFailed
    case disk(String)
    /// `--max-time` ran out.
    case timedOut(Double)
    /// A preview (`--with`) the server does not offer: a note, not a failure.
    case notOffered(String)
}

/// Why a download failed for good, as a value: the machines and the sinks say which case,
/// FailureWording makes the sentence, and tests assert the case, not the words.
package enum DownloadFailure: Sendable, Equatable {
    /// More failed attempts in a row than `--retries` without a byte of progress; `last` is
    /// the last attempt's reason.
    case gaveUp(attempts: Int, last: AttemptReason)
    case redirectWithoutLocation(host: String)
    /// The media host's answer is one no retry changes.
    case refused(AttemptReason, host: String)
    /// The finished `.part` is not the size the server announced.
    case sizeMismatch(file: String, bytes: Int64, announced: Int64)
    /// The URL policy refused the media URL or a redirect.
    case requestRefused(String)
    case nothingWritten
    case rangesMissing
}

/// A preview asked for with `--with`: OpenAI's `/videos/{id}/content?variant=NAME`, saved as
/// `<id>.NAME.<ext>`.
package struct PreviewVariant: Sendable, Equatable {
    package var videoID: String
    package var name: String
    package init(videoID: String, name: String) {
        self.videoID = videoID
        self.name = name
    }
    /// The file stem: `<id>.thumbnail`, whose files cannot meet another id's (ids have no dot).
    package var stem: String { "\(videoID).\(name)" }
}

/// Streams one id's output into `<id>.<ext>.part`, resuming and retrying until it is whole and
/// verified, then renames it into place. Memory stays constant whatever the size: bytes go from
/// libcurl's buffer to the file and the SHA-256 in one pass.
struct Downloader: Sendable {
    let directory: String
    /// The file stem: the video's id, or `<id>.<variant>` for a preview.
    let id: String
    let settings: DownloadSettings
    let api: APIClient
    let random: @Sendable () -> Double
    let logger: Logger
    let events: @Sendable (DownloadEvent) -> Void
    /// Set for a thumbnail or spritesheet: the bytes come from the content endpoint's variant
    /// and must be an image.
    var preview: PreviewVariant? = nil
    /// The folder surely holds no `.part` and no sidecar-less video of this stem (FolderIndex):
    /// none is looked for.
    var fresh = false

    /// `refresh` fetches the video object again when a signed URL stops working. The
    /// decisions are DownloadMachine's; this drives it: one request per attempt, then the
    /// machine's action.
    func run(video initial: VideoObject, refresh: @escaping @Sendable () async throws -> VideoObject) async throws -> DownloadResult {
        // The id's `.part`, found once (each probe is a lookup per known extension).
        let existing =
            fresh ? nil : try await BlockingIO.run { [directory, id] in try Self.partOrAdoptedOrphan(directory: directory, id: id) }
        let start = Date()
        // A `.part` written in ranges is continued in ranges whatever --segments says now: its
        // length alone does not tell which bytes it holds.
        var known: ResumeValidator?
        if let existing {
            switch FileSink.readState(of: existing) {
            case .valid(let v): known = v
            case let .setAside(file, reason): events(.stateSetAside(file: file, reason: reason))
            case .none: break
            }
        }
        if preview == nil, settings.segments > 1 || known?.segments != nil {
            let segmented = SegmentedDownload(downloader: self, connections: max(1, settings.segments), start: start)
            switch try await segmented.run(video: initial, part: existing, known: known, refresh: refresh) {
            case .done(let result):
                return result
            case .oneConnection(let discard?):
                events(.restarting(reason: discard.sentence))
                try await BlockingIO.run { [directory, id] in Self.discardAnyPart(directory: directory, id: id) }
                return try await runOneConnection(initial, part: nil, start: start, refresh: refresh)
            case .oneConnection(nil):
                // The ranged attempt may have left a `.part` (and its state) to go on with.
                let part = try await BlockingIO.run { [directory, id] in MediaFile.existingPart(directory: directory, id: id) }
                return try await runOneConnection(initial, part: part, start: start, refresh: refresh)
            }
        }
        return try await runOneConnection(initial, part: existing, start: start, refresh: refresh)
    }

    /// One connection, resuming `part` (the id's `.part` if it has one) until the file is whole.
    private func runOneConnection(
        _ initial: VideoObject, part: MediaFile?, start: Date, refresh: @escaping @Sendable () async throws -> VideoObject
    ) async throws -> DownloadResult {
        let source = mediaSource(for: initial)
        let sink = FileSink(
            directory: directory, id: id, limiter: settings.rateLimiter, expectsImage: preview != nil,
            onWrite: { [events] in events(.receiving(offset: $0, total: $1)) },
            onRestart: { [events] in events(.restarting(reason: $0)) },
            onProgress: { [events] in events(.progress(bytes: $0, total: $1)) })
        // Sound to hand to BlockingIO: this task waits for each such call, so the sink is never
        // touched by two threads at once (and the loop thread has it only during a transfer).
        nonisolated(unsafe) let io = sink
        defer { sink.closeFile() }
        do {
            return try await runAttempts(sink, part: part, source: source, initial: initial, start: start, refresh: refresh)
        } catch {
            // However the download ends, the `.part.state` lands before the caller hears of
            // it: a rerun (or a test) right after finds it whole. A cancelled attempt (Ctrl-C)
            // leaves runAttempts before its closeFile, and the `defer` below came too late: it
            // only queued the state, and the process could exit before the queue wrote it.
            // So the last block is flushed and the state queued here, then both are waited for.
            await BlockingIO.closeFile(io)
            await BlockingIO.settle(io)
            throw error
        }
    }

    private func runAttempts(
        _ sink: FileSink, part: MediaFile?, source initialSource: MediaSource, initial: VideoObject, start: Date,
        refresh: @escaping @Sendable () async throws -> VideoObject
    ) async throws -> DownloadResult {
        var source = initialSource
        nonisolated(unsafe) let io = sink  // sound: see run
        sink.file = part
        try await BlockingIO.run { try io.prepareAttempt() }
        var machine = DownloadMachine(
            policy: .init(retry: settings.retry, maxURLRefreshes: settings.maxURLRefreshes, maxTime: settings.maxTime),
            start: start, partSize: sink.localSize, expiresAt: initial.expiresAt)

        var attempts = 0
        var transferred: Int64 = 0
        while true {
            try Task.checkCancellation()
            // The first attempt was prepared above (the machine needed the `.part`'s size).
            if attempts > 0 { try await BlockingIO.run { try io.prepareAttempt() } }
            attempts += 1
            if let stop = machine.beforeAttempt(now: Date()) { throw stop }
            let host = URLPolicy.host(of: source.url)
            let request = mediaRequest(
                source, from: sink.localSize, ifRange: sink.known?.ifRange, totalTimeout: machine.remaining(now: Date()))
            events(.started(host: host, offset: sink.localSize, total: sink.known?.total))
            logger.debug(
                "media request",
                metadata: [
                    "id": "\(id)", "stage": "download", "url": "\(URLPolicy.redacted(source.url))",
                    "range_from": "\(sink.localSize)", "if_range": "\(sink.known?.ifRange ?? "-")",
                    "attempt": "\(attempts)",
                ])

            let failed = try await sendMedia(request, from: source, into: sink)
            await BlockingIO.closeFile(io)
            // The attempt as one value: what the sink decided, wrote and met.
            let outcome = sink.outcome
            if let f = outcome.diskFailure { throw DownloadError.disk(f) }
            if let why = outcome.notOffered { throw DownloadError.notOffered(why) }
            transferred += outcome.bytes
            let attempt = DownloadMachine.Attempt(
                decision: outcome.decision, transportError: failed?.message, timedOut: failed?.timedOut ?? false,
                size: outcome.size, host: host, usesAPIKey: source.usesAPIKey)
            let action = machine.next(attempt, now: Date(), random: random())
            logger.debug(
                "media answer",
                metadata: [
                    "id": "\(id)", "stage": "download", "decision": "\(outcome.decision.map { "\($0)" } ?? "none")",
                    "bytes": "\(outcome.bytes)", "error": "\(failed?.message ?? "-")", "action": "\(action)",
                ])

            switch action {
            case .finish:
                return try await finish(io, source: source, transferred: transferred)
            case .fail(let e, let discard):
                if discard { try await BlockingIO.run { try io.discardPart() } }
                throw e
            case .refreshLink(let status):
                events(.refreshingURL(status: status))
                let video = try await refresh()
                if let stop = machine.linkRefreshed(expiresAt: video.expiresAt, now: Date()) { throw stop }
                source = mediaSource(for: video)
            case let .retry(reason, delay, discard):
                if discard {
                    try await BlockingIO.run { try io.discardPart() }
                    events(.restarting(reason: reason.sentence))
                }
                events(.retrying(reason: reason.sentence, delay: delay, kept: sink.localSize))
                try await sleep(seconds: delay)
            }
        }
    }

    /// The id's `.part`, if it has one. Else a video without its sidecar (the run died between
    /// the two renames, or the sidecar was deleted) is not trusted blindly: it goes back to
    /// being a `.part`, so the resume asks for the bytes after its end and a complete file gets
    /// a bodiless 416 that confirms its length.
    static func partOrAdoptedOrphan(directory: String, id: String) throws -> MediaFile? {
        if let part = MediaFile.existingPart(directory: directory, id: id) { return part }
        guard let orphan = MediaFile.existingFinal(directory: directory, id: id) else { return nil }
        do {
            try AtomicFile.rename(orphan.path, to: orphan.partPath)
        } catch {
            throw DownloadError.disk("\(ErrorText.describe(error))")
        }
        return orphan
    }

    /// Empties whatever `.part` and state the id has (the server proved them stale).
    static func discardAnyPart(directory: String, id: String) {
        guard let f = MediaFile.existingPart(directory: directory, id: id) else { return }
        unlink(f.partPath)
        unlink(f.statePath)
    }

    func mediaSource(for v: VideoObject) -> MediaSource {
        // Previews: OpenAI's content endpoint. Lumenfall documents no preview URL of its own.
        if let p = preview { return MediaSource(url: api.contentURL(p.videoID, variant: p.name), usesAPIKey: true) }
        if let u = v.outputURL { return MediaSource(url: u, usesAPIKey: false) }
        return MediaSource(url: api.contentURL(v.id), usesAPIKey: true)  // `id` is the file stem
    }

    private func finish(_ sink: FileSink, source: MediaSource, transferred: Int64) async throws -> DownloadResult {
        guard let file = sink.file else { throw DownloadError.failed(.nothingWritten) }
        nonisolated(unsafe) let io = sink  // sound: the caller waits (see run)
        let (bytes, digest) = try await BlockingIO.run { try io.finalize() }
        return DownloadResult(
            file: file, bytes: bytes, sha256: digest, contentType: sink.contentType,
            mediaHost: URLPolicy.host(of: source.url), source: source.kind,
            transferred: transferred)
    }
}

extension BlockingIO {
    /// Waits for the sink's state-file writes, whatever became of them.
    static func settle(_ sink: FileSink) async {
        nonisolated(unsafe) let io = sink  // sound: the caller waits for this call
        _ = try? await run { try io.drainState() }
    }

    /// Flushes the attempt's last block and waits for its hash, off the pool.
    static func closeFile(_ sink: FileSink) async {
        nonisolated(unsafe) let io = sink  // sound: the caller waits for this call
        _ = try? await run { io.closeFile() }
    }
}
