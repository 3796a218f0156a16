import CCurl
import Foundation
import Synchronization

/// One libcurl multi handle driven by one thread: every transfer of the process runs here, so
/// connections are shared and no thread is spent per download. Swift tasks hand transfers in
/// with `perform` and await the result; the thread wakes on `curl_multi_wakeup`.
///
/// Threads: `perform`, cancellation and `TransferControl.resume` only queue work in `queues`
/// (a `Mutex`) and wake the loop; the loop thread alone creates, configures, pauses and frees
/// easy handles and calls the sinks. `@unchecked Sendable` is sound for that reason: the queues
/// are in the `Mutex`, `active` is the loop thread's.
public final class CurlMulti: @unchecked Sendable {
    /// A loop for code that has no run of its own to own one (tests, the sandbox's webhook
    /// sender, library callers that pass none). The commands make their own and shut it down.
    public static let shared = CurlMulti()

    private let multi: UnsafeMutableRawPointer
    /// Handed between tasks and the loop thread.
    private struct Queues {
        var incoming: [Transfer] = []
        var cancelled: [Transfer] = []
        var unpaused: [Transfer] = []
        /// `shutdown()` was called: the loop ends every transfer and frees the multi handle.
        var closing = false
        /// The loop has taken `closing`: the handle is being freed, nothing may wake it.
        var closed = false
    }
    private let queues = Mutex(Queues())
    // Touched by the loop thread only.
    private var active: [UnsafeMutableRawPointer: Transfer] = [:]
    private var lastSweep: UInt64 = 0

    /// Starts a loop on a thread of its own, which lives until `shutdown()`.
    public init() {
        _ = curlGlobalInit
        guard let m = curl_multi_init() else { fatalError("curl_multi_init failed: out of memory") }
        multi = m
        // The thread holds the loop until it ends (after `shutdown()`).
        let thread = Thread { self.run() }
        thread.name = "lumenfall-curl"
        thread.start()
    }

    /// Runs one exchange. Cancelling the calling task removes the transfer from the loop within
    /// one wake-up and throws `CancellationError`; whatever the sink wrote stays written.
    public func perform(_ request: HTTPRequest, sink: HTTPResponseSink) async throws -> HTTPTransferResult {
        try request.validate()
        let transfer = Transfer(request: request, sink: sink)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<HTTPTransferResult, Error>) in
                switch transfer.start(c) {
                case .enqueue:
                    enqueue(transfer, into: \.incoming)
                case .resume(let c, let result):
                    c.resume(with: result)
                case .none:
                    break
                }
            }
        } onCancel: {
            if transfer.requestCancel() { enqueue(transfer, into: \.cancelled) }
        }
    }

    /// Ends the loop: transfers in flight and any handed in later end with `CancellationError`,
    /// then the loop frees its handles and its thread returns. Does not wait.
    public func shutdown() {
        queues.withLock { q in
            guard !q.closed else { return }
            q.closing = true
            curl_multi_wakeup(multi)
        }
    }

    private func enqueue(_ t: Transfer, into queue: WritableKeyPath<Queues, [Transfer]> & Sendable) {
        // The wake-up is sent under the lock: once the loop has set `closed` there, the handle
        // may be freed, and nobody touches it again.
        let refused = queues.withLock { q in
            guard !q.closed, !q.closing else { return true }
            q[keyPath: queue].append(t)
            curl_multi_wakeup(multi)
            return false
        }
        if refused { t.finish(.failure(CancellationError())) }
    }

    private func run() {
        while true {
            let (adds, cancels, resumes, closing) = queues.withLock { q in
                defer {
                    q.incoming = []
                    q.cancelled = []
                    q.unpaused = []
                    if q.closing { q.closed = true }
                }
                return (q.incoming, q.cancelled, q.unpaused, q.closing)
            }
            if closing {
                for t in adds { t.finish(.failure(CancellationError())) }
                for (handle, t) in active {
                    curl_multi_remove_handle(multi, handle)
                    t.finish(.failure(CancellationError()))
                    t.releaseEasy()
                }
                active.removeAll()
                curl_multi_cleanup(multi)
                return
            }
            for t in adds { add(t) }
            for t in cancels {
                if let easy = t.easy, active.removeValue(forKey: easy.handle) != nil {
                    curl_multi_remove_handle(multi, easy.handle)
                }
                t.finish(.failure(CancellationError()))
                t.releaseEasy()
            }
            for t in resumes where t.easy.map({ active[$0.handle] != nil }) ?? false {
                t.unpause()
            }

            var running: Int32 = 0
            let performed = curl_multi_perform(multi, &running)
            if performed != CURLM_OK { failAll(CurlMultiError(performed, during: "curl_multi_perform")) }
            var queued: Int32 = 0
            while let msg = curl_multi_info_read(multi, &queued) {
                guard msg.pointee.msg == CURLMSG_DONE, let easy = msg.pointee.easy_handle else { continue }
                let code = lf_msg_result(msg)
                guard let t = active.removeValue(forKey: easy) else { continue }
                curl_multi_remove_handle(multi, easy)
                t.complete(code)
                t.releaseEasy()
            }
            // Stalls are looked for at most every 100 ms: a stall is a matter of seconds, and
            // a busy loop wakes for every chunk.
            let now = DispatchTime.now().uptimeNanoseconds
            let swept = now &- lastSweep >= 100_000_000
            if swept {
                lastSweep = now
                endStalls(now: now)
            }
            // Sleeps until a socket is ready, a timer is due, or perform/cancel wakes us; at
            // least once a second, so a stall is seen within a second of its deadline, and
            // within 100 ms when this wake's sweep was skipped, so the last chunk's time is
            // taken soon after it came.
            let polled = curl_multi_poll(multi, nil, 0, swept ? 1000 : 100, nil)
            if polled != CURLM_OK { failAll(CurlMultiError(polled, during: "curl_multi_poll")) }
        }
    }

    /// `stallTimeout` measured here, from the last byte that moved: libcurl's low-speed check
    /// averages the speed over its own few seconds, so a transfer that stops after a fast start
    /// was caught up to 6 s late. A transfer its sink paused is not stalled.
    private func endStalls(now: UInt64) {
        for (handle, t) in active {
            guard let why = t.stalled(now: now) else { continue }
            active.removeValue(forKey: handle)
            curl_multi_remove_handle(multi, handle)
            t.finish(.failure(why))
            t.releaseEasy()
        }
    }

    /// Creates and configures the transfer's easy handle here, on the loop thread that owns it.
    private func add(_ t: Transfer) {
        if t.isCancelled {
            t.finish(.failure(CancellationError()))
            return
        }
        do {
            let easy = try t.makeEasy(
                control: TransferControl { [weak self, weak t] in
                    guard let self, let t else { return }
                    self.enqueue(t, into: \.unpaused)
                })
            let rc = curl_multi_add_handle(multi, easy.handle)
            guard rc == CURLM_OK else { throw CurlMultiError(rc, during: "curl_multi_add_handle") }
            active[easy.handle] = t
        } catch {
            t.finish(.failure(error))
            t.releaseEasy()
        }
    }

    /// The multi handle failed: every transfer in flight ends with that error.
    private func failAll(_ error: CurlMultiError) {
        for (handle, t) in active {
            curl_multi_remove_handle(multi, handle)
            t.finish(.failure(error))
            t.releaseEasy()
        }
        active.removeAll()
    }
}

/// One request in flight. Its continuation lives in `Transfer.State`, in a `Mutex`: each
/// method returns what to do, and the continuation is resumed outside the lock, exactly once,
/// by whoever moves the state to `.finished`. The easy handle and the header parsing belong to
/// the loop thread. `@unchecked Sendable` is sound for that reason: the state is in the `Mutex`,
/// the rest is touched by the loop thread alone.
final class Transfer: @unchecked Sendable {
    typealias Continuation = CheckedContinuation<HTTPTransferResult, Error>

    /// The continuation's life: not yet handed over, waiting for the loop, or done.
    enum State {
        case initial(cancelled: Bool)
        case waiting(Continuation, cancelled: Bool)
        case finished
    }

    enum StartAction {
        case enqueue
        case resume(Continuation, Result<HTTPTransferResult, Error>)
        case none
    }

    let request: HTTPRequest
    let sink: HTTPResponseSink
    private let state = Mutex(State.initial(cancelled: false))

    // The loop thread's.
    private(set) var easy: CurlEasy?
    private var status: Int?
    private var headers: [(name: String, value: String)] = []
    private var head: HTTPResponseHead?
    private var abortedBySink = false
    /// When a byte was last seen moving (head, body or upload), and whether the sink paused the
    /// body. A chunk only raises `moved`; the loop's sweep turns it into a time, so the hot path
    /// reads no clock.
    private var lastProgress: UInt64 = DispatchTime.now().uptimeNanoseconds
    private var moved = false
    private var pausedBySink = false

    private func progressed() { moved = true }

    /// Loop thread: the stall error when nothing has moved for `stallTimeout` seconds.
    func stalled(now: UInt64) -> CurlError? {
        if moved {
            moved = false
            lastProgress = now
            return nil
        }
        let limit = request.stallTimeout
        guard !pausedBySink, limit > 0, limit.isFinite, now > lastProgress,
            Double(now - lastProgress) / 1e9 >= limit
        else { return nil }
        return CurlError(
            code: Int(CURLE_OPERATION_TIMEDOUT.rawValue),
            message: "Operation too slow: no data for \(String(format: "%g", limit)) s")
    }

    init(request: HTTPRequest, sink: HTTPResponseSink) {
        self.request = request
        self.sink = sink
    }

    /// From `perform`: hand over the continuation. A cancel that came first ends it at once.
    func start(_ c: Continuation) -> StartAction {
        state.withLock { state in
            switch state {
            case .initial(cancelled: false):
                state = .waiting(c, cancelled: false)
                return .enqueue
            case .initial(cancelled: true):
                state = .finished
                return .resume(c, .failure(CancellationError()))
            case .waiting, .finished:
                return .none
            }
        }
    }

    /// From the cancellation handler: true when the loop must be told (the transfer is
    /// waiting there); a transfer not started yet ends in `start`, a finished one needs nothing.
    func requestCancel() -> Bool {
        state.withLock { state in
            switch state {
            case .initial:
                state = .initial(cancelled: true)
                return false
            case .waiting(let c, _):
                state = .waiting(c, cancelled: true)
                return true
            case .finished:
                return false
            }
        }
    }

    var isCancelled: Bool {
        state.withLock { state in
            if case .waiting(_, cancelled: true) = state { return true }
            return false
        }
    }

    /// Ends the transfer; only the first call resumes the continuation.
    func finish(_ result: Result<HTTPTransferResult, Error>) {
        let c: Continuation? = state.withLock { state in
            guard case .waiting(let c, _) = state else { return nil }
            state = .finished
            return c
        }
        c?.resume(with: result)
    }

    func complete(_ code: CURLcode) {
        var result = HTTPTransferResult(
            head: head,
            redirectURL: easy?.infoString(CURLINFO_REDIRECT_URL), abortedBySink: abortedBySink)
        if let easy, head != nil {
            switch easy.infoLong(CURLINFO_HTTP_VERSION) {
            case Int(CURL_HTTP_VERSION_1_0): result.httpVersion = "1.0"
            case Int(CURL_HTTP_VERSION_1_1): result.httpVersion = "1.1"
            case Int(CURL_HTTP_VERSION_2_0): result.httpVersion = "2"
            default: result.httpVersion = nil
            }
            // NUM_CONNECTS counts the connections this transfer had to open.
            result.reusedConnection = easy.infoLong(CURLINFO_NUM_CONNECTS) == 0
        }
        if code == CURLE_OK || abortedBySink {
            finish(.success(result))
        } else {
            finish(.failure(CurlError(code, detail: easy?.errorDetail ?? "")))
        }
    }

    /// Loop thread: frees the easy handle where it lived, once it is out of the multi handle.
    func releaseEasy() { easy = nil }

    /// Loop thread: resumes a transfer its sink paused.
    func unpause() {
        guard let easy else { return }
        pausedBySink = false
        progressed()
        _ = lf_easy_unpause(easy.handle)
    }

    /// Loop thread: the easy handle, configured; it lives until the transfer is freed.
    func makeEasy(control: TransferControl) throws -> CurlEasy {
        let easy = try CurlEasy()
        self.easy = easy
        progressed()
        try configure(easy, request)
        sink.attach(control)
        return easy
    }

    private func configure(_ easy: CurlEasy, _ r: HTTPRequest) throws {
        try easy.set(CURLOPT_URL, r.url)
        // Only http(s), and never followed automatically: the caller checks every hop.
        try easy.set(CURLOPT_PROTOCOLS_STR, "http,https")
        try easy.set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        try easy.set(CURLOPT_FOLLOWLOCATION, 0)
        try easy.set(CURLOPT_NOSIGNAL, 1)
        try easy.set(CURLOPT_TCP_KEEPALIVE, 1)
        if r.allowHTTP2 {
            try easy.set(CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS))
            // Wait for a connection being set up to the same host, to share it once it
            // proves to speak HTTP/2, instead of opening another.
            try easy.set(CURLOPT_PIPEWAIT, 1)
        } else {
            try easy.set(CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1))
        }
        try easy.set(CURLOPT_USERAGENT, r.userAgent)
        try easy.set(CURLOPT_CONNECTTIMEOUT_MS, Self.clamped(r.connectTimeout * 1000))
        // libcurl's low-speed check works in whole seconds: under minSpeed bytes/s on average
        // for N s = stalled.
        try easy.set(CURLOPT_LOW_SPEED_LIMIT, max(1, r.minSpeed))
        try easy.set(CURLOPT_LOW_SPEED_TIME, Self.clamped(r.stallTimeout.rounded(.up)))
        if let total = r.totalTimeout { try easy.set(CURLOPT_TIMEOUT_MS, Self.clamped(total * 1000)) }
        // Through an https proxy libcurl hands the proxy's own "HTTP/1.1 200 Connection
        // established" to the header callback; taken for the media host's answer, it made a
        // resume truncate the .part. The proxy's headers are not ours to read.
        try easy.set(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1)
        if let ca = r.caFile { try easy.set(CURLOPT_CAINFO, ca) }
        try easy.set(CURLOPT_BUFFERSIZE, r.bufferSize)
        if r.headOnly {
            try easy.set(CURLOPT_NOBODY, 1)
        } else if r.method == "GET" {
            try easy.set(CURLOPT_HTTPGET, 1)
        } else if r.upload != nil {
            try easy.set(CURLOPT_UPLOAD, 1)
            if r.method != "PUT" { try easy.set(CURLOPT_CUSTOMREQUEST, r.method) }
        } else if r.method == "POST" {
            try easy.set(CURLOPT_POST, 1)
        } else {
            try easy.set(CURLOPT_CUSTOMREQUEST, r.method)
        }
        if let body = r.body {
            try easy.set(CURLOPT_POSTFIELDSIZE_LARGE, offset: Int64(body.count))
            try body.withUnsafeBytes { raw in
                try easy.set(
                    CURLOPT_COPYPOSTFIELDS, pointer: UnsafeMutableRawPointer(mutating: raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)))
            }
        }
        try easy.setHeaders(r.headers)
        if let provider = r.awsSigV4, let keys = r.awsCredentials {
            try easy.set(CURLOPT_AWS_SIGV4, provider)
            try easy.set(CURLOPT_USERPWD, keys)
        }

        // Every callback is registered here, with this object as user data. The object is
        // kept alive by CurlMulti.active for as long as libcurl can call back.
        let me = Unmanaged.passUnretained(self).toOpaque()
        try easy.set(
            CURLOPT_HEADERFUNCTION,
            callback: { ptr, size, count, user in
                guard let ptr, let user else { return 0 }
                let t = Unmanaged<Transfer>.fromOpaque(user).takeUnretainedValue()
                return t.onHeaderLine(UnsafeRawBufferPointer(start: ptr, count: size * count)) ? size * count : 0
            })
        try easy.set(CURLOPT_HEADERDATA, pointer: me)
        try easy.set(
            CURLOPT_WRITEFUNCTION,
            callback: { ptr, size, count, user in
                guard let ptr, let user else { return 0 }
                let t = Unmanaged<Transfer>.fromOpaque(user).takeUnretainedValue()
                switch t.onBody(UnsafeRawBufferPointer(start: ptr, count: size * count)) {
                case .proceed: return size * count
                case .abort: return 0
                case .pause: return lf_writefunc_pause()
                }
            })
        try easy.set(CURLOPT_WRITEDATA, pointer: me)
        if let upload = r.upload {
            try openUpload(upload)
            try easy.set(CURLOPT_INFILESIZE_LARGE, offset: upload.length)
            try easy.set(
                CURLOPT_READFUNCTION,
                callback: { ptr, size, count, user in
                    guard let ptr, let user else { return 0 }
                    let t = Unmanaged<Transfer>.fromOpaque(user).takeUnretainedValue()
                    return t.onRead(UnsafeMutableRawBufferPointer(start: ptr, count: size * count))
                })
            try easy.set(CURLOPT_READDATA, pointer: me)
        }
    }

    // The upload's source, the loop thread's: where the next read starts.
    private var uploadFD: Int32 = -1
    private var uploadSent: Int64 = 0

    private func openUpload(_ u: UploadBody) throws {
        uploadSent = 0
        guard case let .file(path, _, _) = u else { return }
        // O_NONBLOCK: a FIFO in the file's place must not hold the loop thread in open().
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { throw CurlError(CURLE_READ_ERROR, detail: "cannot read \(path): \(String(cString: strerror(errno)))") }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw CurlError(CURLE_READ_ERROR, detail: "\(path) is not a regular file")
        }
        uploadFD = fd
    }

    /// Loop thread: the next piece of the body. A file that ends early (truncated meanwhile)
    /// aborts the transfer rather than send fewer bytes than announced.
    private func onRead(_ buf: UnsafeMutableRawBufferPointer) -> Int {
        guard let u = request.upload else { return 0 }
        let want = Int(min(Int64(buf.count), u.length - uploadSent))
        guard want > 0 else { return 0 }
        switch u {
        case .bytes(let bytes):
            bytes.withUnsafeBytes { src in
                buf.baseAddress!.copyMemory(from: src.baseAddress!.advanced(by: Int(uploadSent)), byteCount: want)
            }
            uploadSent += Int64(want)
            progressed()
            return want
        case .file(_, let offset, _):
            var n = -1
            repeat { n = pread(uploadFD, buf.baseAddress, want, off_t(offset + uploadSent)) } while n < 0 && errno == EINTR
            guard n > 0 else { return Int(lf_readfunc_abort()) }
            uploadSent += Int64(n)
            progressed()
            return n
        }
    }

    deinit { if uploadFD >= 0 { close(uploadFD) } }

    /// A value for a `long` option, at least 1 and at most a 32-bit long's range: a NaN,
    /// infinite or absurd setting never traps the conversion.
    static func clamped(_ v: Double) -> Int {
        guard v.isFinite else { return v > 0 ? Int(Int32.max) : 1 }
        return Int(max(1, min(Double(Int32.max), v)))
    }

    /// libcurl hands over one header line at a time, for every response of the exchange
    /// (1xx interim ones included). The head is complete at the blank line of a final response.
    /// Parsed as bytes (every response has a dozen lines; Foundation's trimming showed in
    /// profiles): the line without its CRLF and the spaces and tabs around name and value.
    private func onHeaderLine(_ raw: UnsafeRawBufferPointer) -> Bool {
        progressed()
        let line = Self.trimmed(raw[...])
        if line.starts(with: "HTTP/".utf8) {
            let parts = line.split(separator: UInt8(ascii: " "), maxSplits: 2)
            status = parts.count > 1 ? Int(String(decoding: parts[1], as: UTF8.self)) : nil
            headers.removeAll()
            return true
        }
        if line.isEmpty {
            guard let s = status, s >= 200 else { return true }  // interim 1xx: wait for more
            return deliverHead(HTTPResponseHead(status: s, headers: headers))
        }
        if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            let name = String(decoding: Self.trimmed(line[..<colon]), as: UTF8.self)
            let value = String(decoding: Self.trimmed(line[(colon + 1)...]), as: UTF8.self)
            headers.append((name, value))
        }
        return true
    }

    /// `bytes` without the spaces, tabs, CRs and LFs at either end.
    static func trimmed(_ bytes: Slice<UnsafeRawBufferPointer>) -> Slice<UnsafeRawBufferPointer> {
        func blank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A }
        var (start, end) = (bytes.startIndex, bytes.endIndex)
        while start < end, blank(bytes[start]) { start += 1 }
        while end > start, blank(bytes[end - 1]) { end -= 1 }
        return bytes[start..<end]
    }

    /// A head can only go on or stop; pausing is for bodies.
    private func deliverHead(_ h: HTTPResponseHead) -> Bool {
        head = h
        if sink.didReceiveHead(h) == .abort {
            abortedBySink = true
            return false
        }
        return true
    }

    private func onBody(_ bytes: UnsafeRawBufferPointer) -> SinkVerdict {
        if head == nil, let easy,
            !deliverHead(HTTPResponseHead(status: easy.infoLong(CURLINFO_RESPONSE_CODE), headers: headers))
        {
            return .abort
        }
        let verdict = sink.didReceiveBody(bytes)
        switch verdict {
        case .abort: abortedBySink = true
        case .pause: pausedBySink = true
        case .proceed: progressed()
        }
        return verdict
    }
}
