import Foundation
import LumenfallCurl

/// Receives the media answer on the libcurl thread: decides from the head whether the body
/// continues the `.part`, replaces it or is not wanted, then hands each chunk to the writer.
final class FileSink: HTTPResponseSink {
    private let stateWriter = StateFileWriter()
    let directory: String
    let id: String
    var file: MediaFile?
    private let writer = HashingFileWriter()
    private(set) var localSize: Int64 = 0
    private(set) var known: ResumeValidator?
    // What the last attempt brought.
    private(set) var decision: HeadDecision?
    private(set) var failure: String?
    private(set) var attemptBytes: Int64 = 0
    private(set) var contentType: String?
    private let onWrite: @Sendable (Int64, Int64?) -> Void
    /// A `.part` with bytes is started over because the answer proved it stale (a whole 200
    /// where the rest was asked for): why, before its bytes go.
    private let onRestart: @Sendable (String) -> Void
    private let onProgress: @Sendable (Int64, Int64?) -> Void
    /// When the last progress went out (uptime ns): at most one each 0.5 s.
    private var lastProgress: UInt64 = 0

    private let limiter: RateLimiter?
    /// A preview: the answer must be an image, and a refusal means the server has none.
    private let expectsImage: Bool
    /// Why the server does not offer the preview asked for (set instead of writing).
    private(set) var notOffered: String?
    private var control: TransferControl?
    /// Files over this many bytes get their `.part.state` as soon as the head arrives.
    static let eagerStateSize: Int64 = 4 << 20
    /// A validator not yet written beside the `.part`.
    private var statePending: ResumeValidator?
    /// When this attempt's body began (uptime ns): a small file still coming after
    /// `lateStateAfter` gets its state then, not only on the way out.
    private var bodyStartedAt: UInt64 = 0
    /// Half a second: most small files are whole by then; one that is not is slow or stalled,
    /// and its validator must not depend on an exit path that a loaded machine (or the 1.8 s
    /// watchdog after a signal) may cut short.
    static let lateStateAfter: UInt64 = 500_000_000

    init(
        directory: String, id: String, limiter: RateLimiter? = nil, expectsImage: Bool = false,
        onWrite: @escaping @Sendable (Int64, Int64?) -> Void = { _, _ in },
        onRestart: @escaping @Sendable (String) -> Void = { _ in },
        onProgress: @escaping @Sendable (Int64, Int64?) -> Void = { _, _ in }
    ) {
        self.directory = directory
        self.id = id
        self.limiter = limiter
        self.expectsImage = expectsImage
        self.onWrite = onWrite
        self.onRestart = onRestart
        self.onProgress = onProgress
    }

    /// Before each request: learn the `.part`'s size and saved validator, and make sure the
    /// running SHA-256 covers exactly the bytes on disk. Within one run it always does (we hash
    /// what we write); after a restart of the tool the existing prefix is hashed once here.
    func prepareAttempt() throws {
        try stateWriter.drain()
        decision = nil
        failure = nil
        attemptBytes = 0
        guard let f = file, let size = AtomicFile.size(of: f.partPath) else {
            localSize = 0
            known = nil
            return
        }
        localSize = size
        known = Self.savedValidator(of: f)
        if known == nil, let cut = Self.safeLengthWithoutState(f.partPath, size: size) {
            // Holes mean ranges were written (`--segments`) and their record is gone: only
            // the bytes before the first hole are known good.
            guard truncate(f.partPath, off_t(cut)) == 0 else { throw AtomicFile.errnoText("cannot shorten", f.partPath) }
            localSize = cut
        }
        contentType = known?.contentType
        if writer.hashed != localSize { try writer.hashExisting(f.partPath, upTo: localSize) }
    }

    /// For a `.part` without its state: nil when it has no hole (written in one piece, as far
    /// as the file system can tell), else a length that keeps only whole data before the first
    /// hole. A hole starts on a block boundary, and the block before it may end in zeros that
    /// were never received, so a whole MiB before it is given up too.
    static func safeLengthWithoutState(_ path: String, size: Int64) -> Int64? {
        guard let fd = try? AtomicFile.openRegular(path) else { return nil }
        defer { close(fd) }
        let seekHole: Int32 = 4  // SEEK_HOLE (Linux), not exported to Swift by Glibc
        let hole = Int64(lseek(fd, 0, seekHole))
        guard hole >= 0, hole < size else { return nil }
        let mib: Int64 = 1 << 20
        return max(0, hole / mib * mib - mib)
    }

    /// The `.part.state` beside a `.part`, if it is there and passes `ResumeValidator.problem`.
    static func savedValidator(of f: MediaFile) -> ResumeValidator? {
        if case .valid(let v) = readState(of: f) { return v }
        return nil
    }

    enum SavedState: Equatable {
        case none
        case valid(ResumeValidator)
        /// Unreadable or not ours: moved aside to `<name>.rejected`, never acted on.
        case setAside(file: String, reason: String)
    }

    /// Reads the `.part.state` as input from outside: bounded (1 MiB, a regular file, not a
    /// link), decoded, and checked field by field. A bad one is renamed `<state>.rejected`, so
    /// the `.part` goes on without a validator (a Range request without If-Range, as for a
    /// `.part` whose state was never written) and the file is there for a person to look at.
    static func readState(of f: MediaFile) -> SavedState {
        // A link is somebody else's: not read, not moved; writing the state refuses it by name.
        guard AtomicFile.exists(f.statePath), !AtomicFile.isSymlink(f.statePath) else { return .none }
        let why: String
        if let bytes = AtomicFile.readSmall(f.statePath, limit: 1 << 20) {
            if let v = try? JSONDecoder().decode(ResumeValidator.self, from: Data(bytes)) {
                guard let p = v.problem else { return .valid(v) }
                why = p
            } else {
                why = "it is not a resume record"
            }
        } else {
            why = "it is not a regular file under 1 MiB"
        }
        let aside = f.statePath + ".rejected"
        guard rename(f.statePath, aside) == 0 else { return .none }
        return .setAside(file: (aside as NSString).lastPathComponent, reason: why)
    }

    /// A preview is a still image or a 4x4 grid of them: 64 MiB is far past any real one, and
    /// a bound on what a server's Content-Length (or an endless body) can make us write.
    static let maxPreviewBytes: Int64 = 64 << 20

    func didReceiveHead(_ h: HTTPResponseHead) -> SinkVerdict {
        if expectsImage, let why = Self.previewRefusal(h) {
            notOffered = why
            return .abort
        }
        let head = MediaHead(h)
        if expectsImage, let claimed = head.contentLength, claimed > Self.maxPreviewBytes {
            notOffered = "the answer claims \(claimed) bytes, more than a preview's \(Self.maxPreviewBytes >> 20) MiB"
            return .abort
        }
        let d = ResumeDecision.decide(head, localSize: localSize, known: known)
        decision = d
        switch d {
        case .write(let offset, let total, let why):
            do {
                if offset == 0, localSize > 0, let why { onRestart(why.sentence) }
                try openPart(at: offset, contentType: h.header("Content-Type"))
                let v = ResumeValidator(
                    etag: head.etag, lastModified: head.lastModified, total: total,
                    contentType: contentType)
                known = v
                // A big file's state is written now (off the loop thread), so even a SIGKILL
                // leaves the validator beside the `.part`. A small one's only if the attempt
                // ends short (closeFile): most finish in well under a second, and a state
                // written and deleted per file was a third of the folder's inode churn.
                statePending = v
                bodyStartedAt = DispatchTime.now().uptimeNanoseconds
                if total.map({ $0 > Self.eagerStateSize }) ?? true { writePendingState() }
                onWrite(offset, total)
                return .proceed
            } catch {
                failure = "\(ErrorText.describe(error))"
                return .abort
            }
        case .redirect:
            return .proceed  // its small body is dropped; HTTPClient follows the Location
        default:
            return .abort  // nothing in this body is wanted
        }
    }

    /// For a preview: whether this answer says the server has none. A refusal of the request
    /// itself (400 unknown variant, 404, 405, 410, 415, 422, 501), or a success that is not an
    /// image (a server that ignores `variant` and sends the MP4), is "not offered"; a 401,
    /// 403, 429 or 5xx goes to the usual decisions.
    static func previewRefusal(_ h: HTTPResponseHead) -> String? {
        switch h.status {
        case 400, 404, 405, 410, 415, 422, 501:
            return "HTTP \(h.status)"
        case 200, 206:
            let type = (h.header("Content-Type") ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            return type.lowercased().hasPrefix("image/")
                ? nil : "the answer was \(type.isEmpty ? "untyped" : TerminalText.safe(type)), not an image"
        default:
            return nil
        }
    }

    /// The writer's back-pressure reaches libcurl as a pause, resumed when a block is free.
    func attach(_ control: TransferControl) {
        self.control = control
        writer.setWaker { control.resume() }
    }

    func didReceiveBody(_ bytes: UnsafeRawBufferPointer) -> SinkVerdict {
        guard case .write = decision else { return .proceed }
        if expectsImage, localSize + Int64(bytes.count) > Self.maxPreviewBytes {
            notOffered = "the answer went past \(Self.maxPreviewBytes >> 20) MiB, more than any preview"
            return .abort
        }
        // --limit-rate: over budget, the transfer pauses (libcurl stops reading the socket) and
        // asks again once the bucket has refilled.
        if let limiter, let control, let wait = limiter.take(bytes.count) {
            DispatchQueue.global().asyncAfter(deadline: .now() + wait) { control.resume() }
            return .pause
        }
        do {
            guard try writer.append(bytes) else { return .pause }
        } catch {
            failure = "\(ErrorText.describe(error))"
            return .abort
        }
        localSize += Int64(bytes.count)
        attemptBytes += Int64(bytes.count)
        let now = DispatchTime.now().uptimeNanoseconds
        if now &- lastProgress >= 500_000_000 {
            lastProgress = now
            onProgress(localSize, known?.total)
        }
        if statePending != nil, now &- bodyStartedAt >= Self.lateStateAfter { writePendingState() }
        return .proceed
    }

    /// Opens the `.part` for this answer: offset 0 truncates it (a fresh start or a proven
    /// stale file), any other offset continues exactly where the file ends.
    private func openPart(at offset: Int64, contentType ct: String?) throws {
        try writer.close()
        contentType = ct
        if offset == 0 {
            let ext = MediaFile.ext(forContentType: ct)
            if let old = file, old.ext != ext {
                unlink(old.partPath)
                unlink(old.statePath)
            }
            file = MediaFile(directory: directory, id: id, ext: ext)
            writer.resetHash()
            localSize = 0
        }
        guard let f = file else { throw DownloadError.disk("no partial file to continue") }
        guard writer.hashed == offset else {
            throw DownloadError.disk("internal: the hash covers \(writer.hashed) bytes, resuming at \(offset)")
        }
        let fd = try AtomicFile.openForWriting(f.partPath)
        guard ftruncate(fd, off_t(offset)) == 0, lseek(fd, off_t(offset), SEEK_SET) == offset else {
            let e = AtomicFile.errnoText("cannot position", f.partPath)
            close(fd)
            throw e
        }
        try writer.attach(fd: fd, path: f.partPath, offset: offset)
    }

    /// Waits for the `.part.state` writes queued so far.
    func drainState() throws { try stateWriter.drain() }

    /// Ends the attempt's writing: what was received reaches the file and the hash, and a
    /// `.part` left short gets its state.
    func closeFile() {
        do {
            try writer.close()
        } catch {
            if failure == nil { failure = "\(ErrorText.describe(error))" }
        }
        if let total = statePending?.total, localSize >= total { return }  // whole: no resume to help
        writePendingState()
    }

    private func writePendingState() {
        guard let v = statePending, let f = file, let bytes = try? JSONEncoder().encode(v) else { return }
        statePending = nil
        stateWriter.write(Array(bytes), to: f.statePath)
    }

    /// The server proved the `.part` stale: empty it and forget its validator.
    func discardPart() throws {
        statePending = nil
        try stateWriter.drain()  // an in-flight write must not bring the state back
        closeFile()
        if let f = file {
            unlink(f.partPath)
            unlink(f.statePath)
        }
        writer.resetHash()
        localSize = 0
        known = nil
    }

    /// What one attempt came to, read once by the driver after the transfer (and the last
    /// block's write) ended.
    struct AttemptOutcome {
        var decision: HeadDecision?
        /// Bytes this attempt added to the `.part`.
        var bytes: Int64
        /// The `.part`'s size now.
        var size: Int64
        /// Writing failed (disk full, a file changed under us): no retry helps.
        var diskFailure: String?
        /// The server has no such preview (`--with`): a note, not a failure.
        var notOffered: String?
    }

    var outcome: AttemptOutcome {
        AttemptOutcome(decision: decision, bytes: attemptBytes, size: localSize, diskFailure: failure, notOffered: notOffered)
    }

    func finalize() throws -> (Int64, String) {
        try stateWriter.drain()
        guard let f = file else { throw DownloadError.failed(.nothingWritten) }
        let (bytes, sha) = try f.check(expectedTotal: known?.total) { size in
            guard writer.hashed == size else { throw DownloadError.disk("\(f.partPath) changed on disk while downloading") }
            return writer.digestHex()
        }
        return (bytes, sha)
    }
}

/// Writes a `.part.state` file (temp, rename; no fsync: see `write`) on a queue of its
/// own, so the loop thread that received the head never waits for a disk. Writes keep their
/// order; `drain` waits for them and reports the first failure. `@unchecked Sendable` is sound:
/// `failure` is only touched on `queue`.
final class StateFileWriter: @unchecked Sendable {
    private let queue = DispatchQueue(label: "lumenfall.state")
    private var failure: String?

    func write(_ bytes: [UInt8], to path: String) {
        queue.async {
            do {
                // No fsync: a lost or stale state only makes a resume more careful (see
                // prepareAttempt), and two fsyncs per download were a cost every file paid.
                try AtomicFile.write(bytes, to: path, durable: false)
            } catch {
                if self.failure == nil { self.failure = "\(ErrorText.describe(error))" }
            }
        }
    }

    /// Waits for every write so far; throws the first that failed (once).
    func drain() throws {
        let f: String? = queue.sync {
            defer { failure = nil }
            return failure
        }
        if let f { throw DownloadError.disk(f) }
    }
}
