import Foundation

/// What a failure means for the user, in one place: the machines and the drivers carry typed
/// reasons (`PollStop`, `DownloadError`); the sentences people read are made here.
extension Fetcher {
    /// What an error means for the user, naming the `.part` kept, if any.
    func failure(_ id: String, _ error: Error) -> FetchFailure {
        switch error {
        case let f as FetchFailure:
            return f
        case let e as DownloadError:
            let kept =
                MediaFile.existingPart(directory: config.outputDirectory, id: stem(id)).flatMap { AtomicFile.size(of: $0.partPath) } ?? 0
            return Self.failure(e, kept: kept)
        case is CancellationError:
            return FetchFailure(kind: .stopped, message: "interrupted before it finished")
        default:
            return FetchFailure(kind: .download, message: "\(ErrorText.describe(error))")
        }
    }

    static func failure(_ s: PollStop) -> FetchFailure {
        switch s {
        case let .generationFailed(code, message):
            let what = [code, message].compactMap { $0 }.joined(separator: ": ")
            return FetchFailure(kind: .generationFailed, message: "generation failed: \(what.isEmpty ? "no reason given" : what)")
        case .cancelled:
            return FetchFailure(kind: .cancelled, message: "the job was cancelled on the server; nothing to download")
        case .unknownStatus(let st):
            return FetchFailure(kind: .unknownStatus, message: "unknown status '\(st)'; not treating it as success")
        case .authenticationFailed(let m):
            return FetchFailure(kind: .authentication, message: "the API rejected the key (HTTP 401\(m.map { ": \($0)" } ?? ""))")
        case let .refused(status, code, message):
            let what = [code, message].compactMap { $0 }.joined(separator: ": ")
            return FetchFailure(kind: .refused, message: "the API refused the request (HTTP \(status)\(what.isEmpty ? "" : ": \(what)"))")
        case let .gaveUp(n, .malformed(what)):
            return FetchFailure(kind: .gaveUp, message: "gave up polling: \(n) malformed answers in a row (last: \(what))")
        case let .gaveUp(n, last):
            return FetchFailure(kind: .gaveUp, message: "gave up polling: \(n) failed attempts in a row (last: \(last.summary))")
        case .unusable(let e):
            return FetchFailure(kind: .gaveUp, message: "gave up polling: \(e.summary)")
        case .timedOut(let limit):
            return FetchFailure(
                kind: .timedOut, message: "not completed after \(Checked.wholeSeconds(limit)) s (--max-wait); run again later")
        }
    }

    static func failure(_ o: APIOutage) -> FetchFailure {
        switch o {
        case let .neverAnswered(reason, seconds):
            return FetchFailure(
                kind: .apiUnreachable,
                message:
                    "the API could not be reached in \(Checked.wholeSeconds(seconds)) s (\(reason)); check --base-url and the network, or wait longer with --api-wait"
            )
        case let .outlasted(reason, seconds):
            return FetchFailure(
                kind: .apiUnreachable,
                message:
                    "the API stopped answering and was still unreachable after \(Checked.wholeSeconds(seconds)) s (\(reason)); partial files are kept, run again later (--outage-limit waits longer)"
            )
        }
    }

    /// `kept`: the bytes of the `.part` left on disk, so a message promises a resume only
    /// when there is something to resume from.
    static func failure(_ e: DownloadError, kept: Int64 = 0) -> FetchFailure {
        let partial = kept > 0 ? "the partial file (\(kept) bytes) is kept, run again to resume" : "no partial file was kept"
        switch e {
        case .expired(let at):
            return FetchFailure(kind: .expired, message: "output expired at \(utcString(at)); \(partial)")
        case let .denied(status, host):
            return FetchFailure(
                kind: .download,
                message: "the media host \(host) keeps refusing the download (HTTP \(status)) even with a fresh link; \(partial)")
        case .failed(let why):
            return FetchFailure(kind: .download, message: "download failed: \(why.sentence); \(partial)")
        case .authenticationFailed:
            return FetchFailure(kind: .authentication, message: "the API rejected the key (HTTP 401) on the content endpoint")
        case .disk(let why):
            return FetchFailure(kind: .disk, message: "disk error: \(why)")
        case .timedOut(let limit):
            return FetchFailure(kind: .timedOut, message: "not saved within --max-time \(String(format: "%g", limit)) s; \(partial)")
        case .notOffered(let why):
            return FetchFailure(kind: .download, message: "not offered by the server: \(why)")
        }
    }
}

extension DownloadFailure {
    /// The reason as a person reads it, inside "download failed: ...".
    package var sentence: String {
        switch self {
        case let .gaveUp(attempts, last): "gave up after \(attempts) attempts in a row without progress: \(last.sentence)"
        case .redirectWithoutLocation(let host): "\(host) redirected without a Location"
        case let .refused(why, host): "\(why.sentence) (\(host))"
        case let .sizeMismatch(file, bytes, announced): "\(file) has \(bytes) bytes, the server announced \(announced)"
        case .requestRefused(let why): why
        case .nothingWritten: "no file was written"
        case .rangesMissing: "internal: ranges still missing at the end"
        }
    }
}

extension AttemptReason {
    /// The reason as a person reads it, after "retry in N s:" or "gave up ...:".
    package var sentence: String {
        switch self {
        case .wholeFileInsteadOfRest: "the server sent the whole file instead of the rest; starting over"
        case .rangeAnsweredWhole: "the server answered a range with the whole file; downloading in one piece instead"
        case .rangeRecordDamaged: "the partial file's record of its ranges is damaged; starting over"
        case .noContentRange: "a 206 answer without a usable Content-Range"
        case let .etagChanged(old, new): "the file changed on the server (ETag \(old) became \(new))"
        case let .sizeChanged(old, new): "the file changed on the server (\(old) bytes became \(new))"
        case let .resumedElsewhere(at, ends): "the server resumed at byte \(at) but the file ends at \(ends)"
        case let .partLongerThanServer(part, server):
            "the partial file (\(part) bytes) is longer than the file on the server (\(server) bytes)"
        case let .rangeRefused(at, status):
            "the server refused the range at byte \(at)\(status.map { " (HTTP \($0))" } ?? "")"
        case .status(let s): "HTTP \(s)"
        case .unexpectedStatus(let s): "the media host answered HTTP \(s)"
        case .transport(let why): why
        case .noAnswer(let host): "no answer from \(host)"
        case let .closedEarly(at, total): "the connection closed at byte \(at) of \(total)"
        case .longerThanAnnounced(let total): "the server sent more than \(total) bytes; starting over"
        case let .segment(first, last, why): "bytes \(first)-\(last): \(why.sentence)"
        }
    }
}
