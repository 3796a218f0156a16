import Foundation
import LumenfallCurl
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The `.part` of a segmented download, shared by its connections: one descriptor written at
/// offsets (pwrite), the plan of ranges, which connection works which range, and the
/// checkpoints that save the plan in `.part.state`.
///
/// The state never claims a byte that is not on disk: a checkpoint takes the plan first, then
/// fdatasyncs the file, then writes the state (itself durably). A kill or a power cut at any
/// moment leaves a state whose ranges hold exactly what they say, so every range resumes.
///
/// One `Mutex` holds the plan, the ranges taken and the checkpoint flags; `fd` is set once;
/// checkpoint I/O runs on `queue`.
final class SegmentedPart: Sendable {
    let file: MediaFile
    let fd: Int32
    /// ETag, Last-Modified, total and type; `segments` is filled in at each checkpoint.
    let validator: ResumeValidator
    private struct State {
        var plan: SegmentPlan
        /// Starts of the ranges a connection is working on.
        var taken: Set<Int64> = []
        var checkpointQueued = false
        var lastCheckpoint = DispatchTime(uptimeNanoseconds: 0)
        var failure: String?
    }
    private let state: Mutex<State>
    private let queue = DispatchQueue(label: "lumenfall.segments.state")

    /// Told the bytes in the file and the total at each checkpoint (at most once a second).
    private let onProgress: @Sendable (Int64, Int64) -> Void

    init(
        file: MediaFile, plan: SegmentPlan, validator: ResumeValidator,
        onProgress: @escaping @Sendable (Int64, Int64) -> Void = { _, _ in }
    ) throws {
        self.onProgress = onProgress
        self.file = file
        state = Mutex(State(plan: plan))
        var v = validator
        v.segments = nil
        self.validator = v
        fd = try AtomicFile.openForWriting(file.partPath)
    }

    deinit { close(fd) }

    var snapshot: SegmentPlan { state.withLock { $0.plan } }

    func range(startingAt start: Int64) -> SegmentRange? { state.withLock { $0.plan.range(startingAt: start) } }

    /// The next range for a connection: one nobody works on, else half of the biggest one left.
    func takeRange() -> SegmentRange? {
        state.withLock { s in
            if let r = s.plan.pending.first(where: { !s.taken.contains($0.start) }) {
                s.taken.insert(r.start)
                return r
            }
            guard let r = s.plan.steal() else { return nil }
            s.taken.insert(r.start)
            return r
        }
    }

    func release(_ start: Int64) { state.withLock { _ = $0.taken.remove(start) } }

    /// Writes `bytes` at `offset` inside the range starting at `start`, cut at the range's
    /// current end (another connection may have taken its tail). Returns how many bytes went in
    /// and whether the range is now whole.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64, inRangeStarting start: Int64) throws -> (Int, Bool) {
        let end = state.withLock { $0.plan.range(startingAt: start)?.end ?? offset }
        let n = Int(max(0, min(Int64(bytes.count), end - offset)))
        var done = 0
        while done < n, let base = bytes.baseAddress {
            let w = pwrite(fd, base + done, n - done, off_t(offset) + off_t(done))
            if w < 0, errno == EINTR { continue }
            guard w > 0 else { throw AtomicFile.errnoText("cannot write", file.partPath) }
            done += w
        }
        state.withLock { $0.plan.advance(startingAt: start, to: offset + Int64(n)) }
        return (n, offset + Int64(n) >= end)
    }

    /// Saves the plan off the calling thread, at most once a second unless `force`. A
    /// checkpoint already queued will see the newest plan, so it is not queued twice.
    func checkpoint(force: Bool = false) {
        let go: Bool = state.withLock { s in
            let due = DispatchTime.now().uptimeNanoseconds >= s.lastCheckpoint.uptimeNanoseconds + 1_000_000_000
            guard !s.checkpointQueued, force || due else { return false }
            s.checkpointQueued = true
            return true
        }
        guard go else { return }
        queue.async { [self] in
            let snap: SegmentPlan = state.withLock { s in
                s.checkpointQueued = false
                s.lastCheckpoint = .now()
                return s.plan
            }
            onProgress(snap.written, snap.total)
            do {
                guard fdatasync(fd) == 0 else { throw AtomicFile.errnoText("cannot sync", file.partPath) }
                var v = validator
                v.segments = snap
                try AtomicFile.write(Array(try JSONEncoder().encode(v)), to: file.statePath)
            } catch {
                state.withLock { s in if s.failure == nil { s.failure = "\(ErrorText.describe(error))" } }
            }
        }
    }

    /// Saves the plan now and waits for it; throws the first checkpoint that failed.
    func saveNow() throws {
        checkpoint(force: true)
        queue.sync {}
        if let f = state.withLock({ $0.failure }) { throw DownloadError.disk(f) }
    }
}

/// Receives one range's answer on the loop thread: checks that the head continues the range,
/// gathers the body into a buffer and writes it at its offset. Stops the transfer once the
/// range is whole (its end can move closer while it runs: see `SegmentPlan.steal`).
final class SegmentSink: HTTPResponseSink {
    static let bufferSize = 256 * 1024

    let part: SegmentedPart
    let rangeStart: Int64
    private let limiter: RateLimiter?
    private var control: TransferControl?
    /// Where the first byte of `buffer` goes.
    private(set) var next: Int64 = 0
    private(set) var decision: HeadDecision?
    private(set) var failure: String?
    private(set) var attemptBytes: Int64 = 0
    private(set) var reachedEnd = false
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 64)
    private var filled = 0

    init(part: SegmentedPart, rangeStart: Int64, limiter: RateLimiter?) {
        self.part = part
        self.rangeStart = rangeStart
        self.limiter = limiter
    }

    deinit { buffer.deallocate() }

    func reset(next: Int64) {
        self.next = next
        decision = nil
        failure = nil
        attemptBytes = 0
        reachedEnd = false
        filled = 0
    }

    func attach(_ control: TransferControl) { self.control = control }

    func didReceiveHead(_ h: HTTPResponseHead) -> SinkVerdict {
        let head = MediaHead(h)
        if h.status == 200 {
            // The range was ignored, or If-Range found the file changed: either way these
            // bytes cannot go at `next`.
            decision = .restart(.rangeAnsweredWhole)
            return .abort
        }
        // localSize `next`: a 206 must start exactly there, with the same ETag and total.
        let d = ResumeDecision.decide(head, localSize: next, known: part.validator)
        switch d {
        case .write:
            decision = d
            return .proceed
        case .complete:
            decision = .retry(.rangeRefused(at: next, status: nil), after: nil)
            return .abort
        case .redirect:
            decision = d
            return .proceed
        default:
            decision = d
            return .abort
        }
    }

    func didReceiveBody(_ bytes: UnsafeRawBufferPointer) -> SinkVerdict {
        guard case .write = decision else { return .proceed }
        if reachedEnd || failure != nil { return .abort }
        if let limiter, let control, let wait = limiter.take(bytes.count) {
            DispatchQueue.global().asyncAfter(deadline: .now() + wait) { control.resume() }
            return .pause
        }
        var rest = bytes
        while !rest.isEmpty, let src = rest.baseAddress, let dst = buffer.baseAddress {
            let n = min(rest.count, Self.bufferSize - filled)
            (dst + filled).copyMemory(from: src, byteCount: n)
            filled += n
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if filled == Self.bufferSize {
                flush()
                if reachedEnd || failure != nil { return .abort }
            }
        }
        return .proceed
    }

    /// Writes what is buffered (on the loop thread while running; after the transfer by the
    /// task that ran it).
    func flush() {
        guard filled > 0 else { return }
        defer { filled = 0 }
        do {
            let (n, whole) = try part.write(UnsafeRawBufferPointer(rebasing: buffer[0..<filled]), at: next, inRangeStarting: rangeStart)
            next += Int64(n)
            attemptBytes += Int64(n)
            reachedEnd = whole
            part.checkpoint()
        } catch {
            failure = "\(ErrorText.describe(error))"
        }
    }
}
