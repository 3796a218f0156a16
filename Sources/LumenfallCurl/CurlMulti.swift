import CCurl
import Foundation

/// One libcurl multi handle driven by one thread: every transfer of the process runs here, so
/// connections are shared and no thread is spent per download. Swift tasks hand transfers in
/// with `perform` and await the result; the thread wakes on `curl_multi_wakeup`.
public final class CurlMulti: @unchecked Sendable {
    /// The process-wide loop. It lives as long as the process: a CLI has no reason to stop it.
    public static let shared = CurlMulti()

    private let multi: UnsafeMutableRawPointer
    private let lock = NSLock()
    // Guarded by `lock`: handed between tasks and the loop thread.
    private var incoming: [Transfer] = []
    private var cancelled: [Transfer] = []
    // Touched by the loop thread only.
    private var active: [UnsafeMutableRawPointer: Transfer] = [:]

    private init() {
        _ = curlGlobalInit
        guard let m = curl_multi_init() else { fatalError("curl_multi_init failed: out of memory") }
        multi = m
        let thread = Thread { [unowned self] in self.run() }
        thread.name = "lumenfall-curl"
        thread.start()
    }

    /// Runs one exchange. Cancelling the calling task removes the transfer from the loop within
    /// one wake-up and throws `CancellationError`; whatever the sink wrote stays written.
    public func perform(_ request: HTTPRequest, sink: HTTPResponseSink) async throws -> HTTPTransferResult {
        let transfer = try Transfer(request: request, sink: sink)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<HTTPTransferResult, Error>) in
                lock.lock()
                transfer.continuation = c
                if transfer.cancelRequested {
                    lock.unlock()
                    transfer.finish(.failure(CancellationError()))
                    return
                }
                incoming.append(transfer)
                lock.unlock()
                curl_multi_wakeup(multi)
            }
        } onCancel: {
            lock.lock()
            transfer.cancelRequested = true
            cancelled.append(transfer)
            lock.unlock()
            curl_multi_wakeup(multi)
        }
    }

    private func run() {
        while true {
            lock.lock()
            let adds = incoming
            incoming.removeAll()
            let cancels = cancelled
            cancelled.removeAll()
            lock.unlock()

            for t in adds {
                if t.cancelRequested {
                    t.finish(.failure(CancellationError()))
                    continue
                }
                let rc = curl_multi_add_handle(multi, t.easy.handle)
                if rc != CURLM_OK {
                    let text = String(cString: curl_multi_strerror(rc))
                    t.finish(.failure(CurlError(code: Int(rc.rawValue), message: text)))
                } else {
                    active[t.easy.handle] = t
                }
            }
            for t in cancels where active.removeValue(forKey: t.easy.handle) != nil {
                curl_multi_remove_handle(multi, t.easy.handle)
                t.finish(.failure(CancellationError()))
            }

            var running: Int32 = 0
            curl_multi_perform(multi, &running)
            var queued: Int32 = 0
            while let msg = curl_multi_info_read(multi, &queued) {
                guard msg.pointee.msg == CURLMSG_DONE, let easy = msg.pointee.easy_handle else { continue }
                let code = lf_msg_result(msg)
                guard let t = active.removeValue(forKey: easy) else { continue }
                curl_multi_remove_handle(multi, easy)
                t.complete(code)
            }
            // Sleeps until a socket is ready, a timer is due, or perform/cancel wakes us.
            curl_multi_poll(multi, nil, 0, 1000, nil)
        }
    }
}

/// One request in flight: owns its easy handle and receives libcurl's callbacks.
final class Transfer: @unchecked Sendable {
    let easy: CurlEasy
    let sink: HTTPResponseSink
    var continuation: CheckedContinuation<HTTPTransferResult, Error>?
    var cancelRequested = false  // guarded by CurlMulti.lock

    private var status: Int?
    private var headers: [(name: String, value: String)] = []
    private var head: HTTPResponseHead?
    private var abortedBySink = false

    init(request: HTTPRequest, sink: HTTPResponseSink) throws {
        self.easy = try CurlEasy()
        self.sink = sink
        try configure(request)
    }

    private func configure(_ r: HTTPRequest) throws {
        try easy.set(CURLOPT_URL, r.url)
        // Only http(s), and never followed automatically: the caller checks every hop.
        try easy.set(CURLOPT_PROTOCOLS_STR, "http,https")
        try easy.set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        try easy.set(CURLOPT_FOLLOWLOCATION, 0)
        try easy.set(CURLOPT_NOSIGNAL, 1)
        try easy.set(CURLOPT_TCP_KEEPALIVE, 1)
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
        if r.method == "GET" {
            try easy.set(CURLOPT_HTTPGET, 1)
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
                return t.onBody(UnsafeRawBufferPointer(start: ptr, count: size * count)) ? size * count : 0
            })
        try easy.set(CURLOPT_WRITEDATA, pointer: me)
    }

    /// A value for a `long` option, at least 1 and at most a 32-bit long's range: a NaN,
    /// infinite or absurd setting never traps the conversion.
    static func clamped(_ v: Double) -> Int {
        guard v.isFinite else { return v > 0 ? Int(Int32.max) : 1 }
        return Int(max(1, min(Double(Int32.max), v)))
    }

    /// libcurl hands over one header line at a time, for every response of the exchange
    /// (1xx interim ones included). The head is complete at the blank line of a final response.
    private func onHeaderLine(_ raw: UnsafeRawBufferPointer) -> Bool {
        let line = String(decoding: raw, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if line.hasPrefix("HTTP/") {
            let parts = line.split(separator: " ", maxSplits: 2)
            status = parts.count > 1 ? Int(parts[1]) : nil
            headers.removeAll()
            return true
        }
        if line.isEmpty {
            guard let s = status, s >= 200 else { return true }  // interim 1xx: wait for more
            return deliverHead(HTTPResponseHead(status: s, headers: headers))
        }
        if let colon = line.firstIndex(of: ":") {
            let name = String(line[..<colon]).trimmingCharacters(in: .whitespaces)
            let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            headers.append((name, value))
        }
        return true
    }

    private func deliverHead(_ h: HTTPResponseHead) -> Bool {
        head = h
        if !sink.didReceiveHead(h) {
            abortedBySink = true
            return false
        }
        return true
    }

    private func onBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if head == nil, !deliverHead(HTTPResponseHead(status: easy.infoLong(CURLINFO_RESPONSE_CODE), headers: headers)) {
            return false
        }
        if !sink.didReceiveBody(bytes) {
            abortedBySink = true
            return false
        }
        return true
    }

    func complete(_ code: CURLcode) {
        let result = HTTPTransferResult(
            head: head,
            redirectURL: easy.infoString(CURLINFO_REDIRECT_URL), abortedBySink: abortedBySink)
        if code == CURLE_OK || abortedBySink {
            finish(.success(result))
        } else {
            finish(.failure(CurlError(code, detail: easy.errorDetail)))
        }
    }

    func finish(_ result: Result<HTTPTransferResult, Error>) {
        let c = continuation
        continuation = nil
        c?.resume(with: result)
    }
}
