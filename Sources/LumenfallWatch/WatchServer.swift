import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// The listener of `watch`: `POST /webhooks/lumenfall` (to the Watcher), `GET /healthz`,
/// `GET /metrics`; everything else 404, a wrong method 405, a body over 1 MiB 413 (refused
/// from its Content-Length, or as soon as it grows past the limit). Optional TLS (Lumenfall
/// delivers only to https on 443 or 8443). Deliveries are handled on a serial queue off the
/// event loop: each one's journal entry is fdatasync'd before its 2xx.
public final class WatchServer: Sendable {
    package static let maxBody = 1 << 20
    package let port: Int
    /// How many connections may be open at once (see `Limits.connectionCap`).
    package let maxConnections: Int
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel
    let gate: ConnectionGate

    private init(group: MultiThreadedEventLoopGroup, channel: Channel, port: Int, gate: ConnectionGate) {
        self.group = group
        self.channel = channel
        self.port = port
        self.gate = gate
        maxConnections = gate.cap
    }

    public struct TLS: Sendable {
        public var certificateFile: String
        public var keyFile: String
        public init(certificateFile: String, keyFile: String) {
            self.certificateFile = certificateFile
            self.keyFile = keyFile
        }
    }

    /// What a client may take of the listener, as nginx and Go's net/http bound it. The listener
    /// is reachable by anyone (Lumenfall's sender comes from the internet), so nothing a client
    /// controls (how slowly it sends, how many connections it holds, how much it pipelines) is
    /// left unbounded.
    public struct Limits: Sendable {
        /// A request's head must be whole this long after its first byte.
        package var headTimeout: TimeAmount = .seconds(10)
        /// Its body then gets this long plus its length at `minBodyRate`.
        package var bodyGrace: TimeAmount = .seconds(10)
        package var minBodyRate = 16 << 10
        /// A kept-alive connection with no request starting for this long is closed.
        package var idleTimeout: TimeAmount = .seconds(30)
        /// An answer the client does not read within this long closes the connection.
        package var writeTimeout: TimeAmount = .seconds(30)
        /// nil: from the open-file limit (`connectionCap`).
        public var maxConnections: Int?
        public init() {}
    }

    /// Raises the soft open-file limit to the hard one (systemd starts services at 1024) and
    /// keeps half of it for connections, the rest for downloads, the journal and libcurl's
    /// sockets: the listener refuses connections before accept() can fail for want of a
    /// descriptor (which spun the event loop at 100 % CPU).
    static func connectionCap() -> Int {
        var lim = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim) == 0 {
            if lim.rlim_cur < lim.rlim_max {
                var raised = lim
                raised.rlim_cur = lim.rlim_max
                if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { lim = raised }
            }
            let soft = min(UInt64(lim.rlim_cur), UInt64(1 << 20))  // RLIM_INFINITY is UInt64.max
            return Int(max(16, min(4096, soft / 2)))
        }
        return 512
    }

    package static func start(host: String, port: Int, tls: TLS?, watcher: Watcher, limits: Limits = Limits()) async throws -> WatchServer {
        let sslContext = try tls.map { tls in
            let chain = try NIOSSLCertificate.fromPEMFile(tls.certificateFile).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: tls.keyFile, format: .pem)
            return try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key)))
        }
        let work = watcher.deliveries
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let cap = limits.maxConnections ?? connectionCap()
        let gate = ConnectionGate(cap: cap)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                switch gate.enter(channel) {
                case .admitted:
                    break
                case .admittedEvicting(let oldest):
                    // At the cap, the connection that has waited longest without a whole
                    // request head goes: a flood of idle or slow connections cannot keep out
                    // a sender that sends its request at once.
                    watcher.metrics.reject("connection_limit")
                    watcher.noteRefusedConnection()
                    oldest.close(promise: nil)
                case .refused:
                    // Every connection is mid-request: the new one is closed at once, before
                    // any byte is read or any TLS work.
                    watcher.metrics.reject("connection_limit")
                    watcher.noteRefusedConnection()
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in gate.leave(channel) }
                return channel.eventLoop.makeCompletedFuture {
                    let ops = channel.pipeline.syncOperations
                    if let sslContext { try ops.addHandler(NIOSSLServerHandler(context: sslContext)) }
                    // No reading while an answer cannot be written: a client that pipelines
                    // requests and never reads its answers stops being read, so the answers
                    // waiting for it stay within the channel's write buffer.
                    try ops.addHandler(BackPressureHandler())
                    let clock = RequestClock(limits: limits, maxBody: maxBody, gate: gate)
                    try ops.addHandler(clock)
                    try ops.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                    try ops.addHandler(WatchHTTPHandler(watcher: watcher, work: work, clock: clock))
                }
            }
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.writeBufferWaterMark, value: .init(low: 32 << 10, high: 64 << 10))
        do {
            let channel = try await bootstrap.bind(host: host, port: port).get()
            return WatchServer(group: group, channel: channel, port: channel.localAddress?.port ?? port, gate: gate)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// Stops accepting; requests in progress finish.
    package func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

/// Counts open connections against the cap, and knows which of them wait without a whole
/// request head (idle between requests, or a head still coming) and since when: at the cap the
/// oldest of those is closed for a newcomer. One `Mutex` around the state; `Channel` is
/// thread-safe.
final class ConnectionGate: Sendable {
    enum Entry {
        case admitted
        case admittedEvicting(Channel)
        case refused
    }
    private struct State {
        var open = 0
        /// Connections without a whole head, and since when (uptime ns).
        var waiting: [ObjectIdentifier: (channel: Channel, since: UInt64)] = [:]
    }
    private let state = Mutex(State())
    let cap: Int
    init(cap: Int) { self.cap = cap }

    func enter(_ channel: Channel) -> Entry {
        state.withLock { s in
            if s.open < cap {
                s.open += 1
                return .admitted
            }
            // A scan of at most `cap` entries, only at the cap.
            guard let oldest = s.waiting.min(by: { $0.value.since < $1.value.since }) else { return .refused }
            s.waiting[oldest.key] = nil
            s.open += 1  // the evicted one leaves (and counts down) when its close completes
            return .admittedEvicting(oldest.value.channel)
        }
    }

    /// How many connections wait without a whole request head (for tests).
    var waitingCount: Int { state.withLock { $0.waiting.count } }

    func leave(_ channel: Channel) {
        state.withLock { s in
            s.open -= 1
            s.waiting[ObjectIdentifier(channel)] = nil
        }
    }

    /// The connection waits for a head (true) or is inside a request or its answer (false).
    func setWaiting(_ channel: Channel, _ isWaiting: Bool) {
        state.withLock { s in
            let key = ObjectIdentifier(channel)
            if !isWaiting {
                s.waiting[key] = nil
            } else if s.waiting[key] == nil {
                s.waiting[key] = (channel, DispatchTime.now().uptimeNanoseconds)
            }
        }
    }
}

/// The deadlines of one connection, on its raw bytes (before the HTTP decoder, so the first
/// byte of a head starts its clock): idle between requests, the head, the body at a minimum
/// rate, and the answer's write. Whichever runs out closes the connection. The HTTP handler
/// tells it where the exchange stands; both run on the channel's event loop only.
final class RequestClock: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    enum Phase { case idle, head, body, answering }
    private let limits: WatchServer.Limits
    private let maxBody: Int
    private var phase = Phase.idle
    private var timer: Scheduled<Void>?
    private weak var context: ChannelHandlerContext?
    private let gate: ConnectionGate

    init(limits: WatchServer.Limits, maxBody: Int, gate: ConnectionGate) {
        self.limits = limits
        self.maxBody = maxBody
        self.gate = gate
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        gate.setWaiting(context.channel, true)
        arm(limits.idleTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if phase == .idle {
            phase = .head
            arm(limits.headTimeout)
        }
        context.fireChannelRead(data)
    }

    /// The head is whole: the body has its grace plus its length (or the most a body may be)
    /// at the minimum rate.
    func headReceived(contentLength: Int?) {
        phase = .body
        if let channel = context?.channel { gate.setWaiting(channel, false) }
        let bytes = min(contentLength ?? maxBody, maxBody)
        arm(limits.bodyGrace + .milliseconds(Int64(bytes) * 1000 / Int64(max(1, limits.minBodyRate))))
    }

    /// The request is whole; the answer is being made and written.
    func requestEnded() {
        phase = .answering
        arm(limits.writeTimeout)
    }

    /// The answer is written: the connection waits for the next request.
    func answerWritten() {
        guard phase == .answering else { return }
        phase = .idle
        if let channel = context?.channel { gate.setWaiting(channel, true) }
        arm(limits.idleTimeout)
    }

    private func arm(_ after: TimeAmount) {
        timer?.cancel()
        guard let context else { return }
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: after) { channel.close(promise: nil) }
    }
}

/// One HTTP/1.1 exchange at a time per connection (NIO's pipelining handler holds the next
/// request back until this one's answer is written). RFC 9112's rules for what a server must
/// refuse are kept: no Host or two (400), a transfer coding other than chunked (501), a body
/// over the limit (413, said from the Content-Length before the body is read, or as soon as a
/// chunked body grows past it), `Connection: close` and HTTP/1.0 honoured.
/// `@unchecked Sendable` is sound: NIO calls it on its channel's event loop only; the reply
/// from the work queue comes back through `NIOLoopBound` onto that loop.
final class WatchHTTPHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let watcher: Watcher
    let work: DispatchQueue
    let clock: RequestClock
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    /// An answer was given before the request ended (413, 400, 501): the rest is dropped and
    /// the connection closes once that answer is out.
    private var answeredEarly = false

    init(watcher: Watcher, work: DispatchQueue, clock: RequestClock) {
        self.watcher = watcher
        self.work = work
        self.clock = clock
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body.removeAll(keepingCapacity: false)
            answeredEarly = false
            let length = h.headers["Content-Length"].first.flatMap(Int.init)
            clock.headReceived(contentLength: length)
            if let refusal = Self.refusal(h) {
                watcher.metrics.reject(refusal.reason)
                answerEarly(context, h, refusal.status, refusal.body)
            } else if let length, length > WatchServer.maxBody {
                watcher.metrics.reject("too_large")
                answerEarly(context, h, 413, #"{"error":"the body is over 1 MiB"}"#)
            }
        case .body(var buf):
            guard !answeredEarly, let h = head else { return }
            if body.count + buf.readableBytes > WatchServer.maxBody {
                watcher.metrics.reject("too_large")
                body.removeAll(keepingCapacity: false)
                answerEarly(context, h, 413, #"{"error":"the body is over 1 MiB"}"#)
            } else if let bytes = buf.readBytes(length: buf.readableBytes) {
                body += bytes
            }
        case .end:
            guard let h = head else { return }
            head = nil
            clock.requestEnded()
            if answeredEarly { return }
            route(context, h)
        }
    }

    /// What RFC 9112 says a server must refuse in a head, or nil.
    static func refusal(_ h: HTTPRequestHead) -> (status: Int, reason: String, body: String)? {
        let hosts = h.headers["Host"]
        if h.version.major == 1, h.version.minor >= 1, hosts.count != 1 {
            return (400, "bad_host", #"{"error":"an HTTP/1.1 request needs exactly one Host header"}"#)
        }
        let codings = h.headers["Transfer-Encoding"].flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        if !codings.isEmpty, codings != ["chunked"] {
            return (501, "transfer_coding", #"{"error":"only the chunked transfer coding is understood"}"#)
        }
        return nil
    }

    private func answerEarly(_ context: ChannelHandlerContext, _ h: HTTPRequestHead, _ status: Int, _ text: String) {
        answeredEarly = true
        clock.requestEnded()
        reply(context, h, status, text, close: true)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        context.fireUserInboundEventTriggered(event)
    }

    /// A parse error (NIO has answered 400 where it could): the connection goes.
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    /// The path of an origin-form target, or of an absolute-form one (`http://host/path`,
    /// which a server must accept: RFC 9112 §3.2.2).
    static func path(of target: String) -> String {
        var t = Substring(target)
        if let scheme = t.range(of: "://"), t.hasPrefix("http") {
            t = t[scheme.upperBound...]
            t = t.firstIndex(of: "/").map { t[$0...] } ?? "/"
        }
        return String(t.prefix { $0 != "?" && $0 != "#" })
    }

    private func route(_ context: ChannelHandlerContext, _ h: HTTPRequestHead) {
        switch (Self.path(of: h.uri), h.method) {
        case ("/webhooks/lumenfall", .POST):
            let headers = h.headers.map { ($0.name, $0.value) }
            let bytes = body
            body = []
            let loop = context.eventLoop
            let bound = NIOLoopBound((self, context), eventLoop: loop)
            // The signature is checked on any core; only a verified delivery goes on to the
            // serial queue, where the journal's fdatasync orders them. No thread waits for
            // another: each step hands the next one on.
            let answer: @Sendable (Watcher.Answer) -> Void = { answer in
                loop.execute {
                    let (handler, context) = bound.value
                    handler.reply(context, h, answer.status, answer.body)
                }
            }
            DispatchQueue.global().async { [watcher, work] in
                switch watcher.check(headers: headers, body: bytes) {
                case .answer(let a):
                    answer(a)
                case .verified(let messageID):
                    work.async { answer(watcher.record(messageID: messageID, body: bytes)) }
                }
            }
        case ("/webhooks/lumenfall", _):
            reply(context, h, 405, #"{"error":"POST only"}"#, extra: [("Allow", "POST")])
        case ("/healthz", .GET), ("/healthz", .HEAD):
            reply(context, h, 200, #"{"status":"ok"}"#)
        case ("/metrics", .GET):
            reply(context, h, 200, watcher.metrics.render(), type: "text/plain; version=0.0.4; charset=utf-8")
        case ("/healthz", _), ("/metrics", _):
            reply(context, h, 405, #"{"error":"GET only"}"#, extra: [("Allow", "GET")])
        default:
            reply(context, h, 404, #"{"error":"not found"}"#)
        }
    }

    func reply(
        _ context: ChannelHandlerContext, _ h: HTTPRequestHead, _ status: Int, _ text: String,
        type: String = "application/json", extra: [(String, String)] = [], close: Bool = false
    ) {
        let bytes = Array(text.utf8)
        // HTTP/1.0 without keep-alive, or `Connection: close`, ends with this answer.
        let closing = close || !h.isKeepAlive
        var headers = HTTPHeaders([("Content-Type", type), ("Content-Length", "\(bytes.count)")] + extra)
        if closing { headers.add(name: "Connection", value: "close") }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: h.version, status: .init(statusCode: status), headers: headers))),
            promise: nil)
        if h.method != .HEAD {
            var buf = context.channel.allocator.buffer(capacity: bytes.count)
            buf.writeBytes(bytes)
            context.write(wrapOutboundOut(.body(.byteBuffer(buf))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        let channel = context.channel
        let clock = self.clock
        done.whenComplete { _ in
            if closing { channel.close(promise: nil) } else { clock.answerWritten() }
        }
    }
}
