import Foundation
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL

/// The offline Lumenfall-compatible server: the API under `/openai/v1`, signed media under
/// `/media`, with per-job schedules and faults. Bound to loopback; port 0 picks a free port.
public final class SandboxServer: Sendable {
    public static let defaultAPIKey = "lmnfl_sandbox_0123456789abcdef"

    let state: SandboxState
    let group: MultiThreadedEventLoopGroup
    let channel: Channel
    public let port: Int

    public var baseURL: String { "\(state.store.withLock { $0.scheme })://127.0.0.1:\(port)/openai/v1" }
    public var apiKey: String { state.apiKey }

    private init(state: SandboxState, group: MultiThreadedEventLoopGroup, channel: Channel, port: Int) {
        self.state = state
        self.group = group
        self.channel = channel
        self.port = port
    }

    public static func start(
        host: String = "127.0.0.1", port: Int = 0,
        apiKey: String = SandboxServer.defaultAPIKey,
        offersList: Bool = true, listMode: SandboxListMode = .normal,
        chaos: SandboxChaos? = nil, tls: SandboxTLS? = nil, throttleBytesPerSecond: Int? = nil,
        webhooks: SandboxWebhookConfig? = nil
    ) async throws -> SandboxServer {
        let state = SandboxState(
            apiKey: apiKey, offersList: offersList, listMode: listMode, chaos: chaos,
            throttle: throttleBytesPerSecond.map { max(1, $0) })
        state.store.withLock { $0.webhooks = webhooks }
        let sslContext = try tls.map { tls in
            let chain = try NIOSSLCertificate.fromPEMFile(tls.certificateFile).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: tls.keyFile, format: .pem)
            var config = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            // Offered in ALPN as a real API host does: clients that ask get HTTP/2.
            config.applicationProtocols = ["h2", "http/1.1"]
            return try NIOSSLContext(configuration: config)
        }
        if sslContext != nil { state.store.withLock { $0.scheme = "https" } }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                state.connectionAccepted()
                guard let sslContext else {
                    return channel.eventLoop.makeCompletedFuture { try Self.speakHTTP1(channel, state) }
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                }.flatMap {
                    channel.configureHTTP2SecureUpgrade(
                        h2ChannelConfigurator: { channel in
                            channel.configureHTTP2Pipeline(mode: .server) { stream in
                                // Each stream gets the same handler, in HTTP/1 terms.
                                stream.eventLoop.makeCompletedFuture {
                                    try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                                    try stream.pipeline.syncOperations.addHandler(SandboxHTTPHandler(state: state))
                                }
                            }.map { _ in }
                        },
                        http1ChannelConfigurator: { channel in
                            channel.eventLoop.makeCompletedFuture { try Self.speakHTTP1(channel, state) }
                        })
                }
            }
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
        let channel = try await bootstrap.bind(host: host, port: port).get()
        let bound = channel.localAddress?.port ?? port
        state.store.withLock { $0.port = bound }
        return SandboxServer(state: state, group: group, channel: channel, port: bound)
    }

    private static func speakHTTP1(_ channel: Channel, _ state: SandboxState) throws {
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
        try channel.pipeline.syncOperations.addHandler(SandboxHTTPHandler(state: state))
    }

    /// Adds a job directly (tests); the HTTP route `POST /openai/v1/videos` does the same.
    @discardableResult
    public func createJob(_ spec: SandboxJobSpec = SandboxJobSpec()) -> String { state.create(spec) }

    public func requests() -> [LoggedRequest] { state.requests() }

    /// Every webhook delivery attempt so far, in the order they were answered.
    public func webhookDeliveries() -> [WebhookDelivery] { state.store.withLock { $0.webhookLog } }

    /// When the job ended (or will), by its schedule: for measuring how soon a receiver saved it.
    public func completedAt(_ id: String) -> Date? { state.store.withLock { $0.jobs[id]?.completedAt } }

    /// Ends every stall in progress now (tests that need an exact order rather than a timer).
    public func releaseStalls() { state.releaseStalls() }

    /// Media from now on is written to `dir` and served by another server at `base`.
    public func serveMediaExternally(dir: String, base: String) {
        state.store.withLock { $0.externalMedia = (dir, base) }
    }

    /// TCP connections accepted so far: how tests see connection reuse.
    public var connectionsAccepted: Int { state.connectionCount() }

    /// How many chaos faults were injected so far.
    public var faultsInjected: Int { state.faultCount() }

    /// The bytes a job serves now: what a correct client must end up with.
    public func content(for id: String) -> MediaContent? { state.content(for: id) }

    /// The bytes a job serves for `variant=thumbnail` or `variant=spritesheet`.
    public func preview(for id: String, variant: String) -> [UInt8] { SandboxStore.previewImage(jobID: id, variant: variant).1 }

    public func shutdown() async throws {
        try await channel.close()
        try await group.shutdownGracefully()
    }
}

/// A certificate and key (PEM files) to serve https with.
public struct SandboxTLS: Sendable {
    public var certificateFile: String
    public var keyFile: String
    public init(certificateFile: String, keyFile: String) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }
}

/// Reads a whole request, asks SandboxState for the answer, writes it. Media bodies are
/// streamed one chunk at a time, each written when the previous one has gone out, so a 1 GiB
/// answer never sits in memory and faults (drop, stall) can strike at an exact byte.
///
/// `@unchecked Sendable` is sound: NIO calls a handler only on its channel's event loop, and
/// the one hop elsewhere (a scheduled pump) goes through NIOLoopBound back to that loop.
final class SandboxHTTPHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let state: SandboxState
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var closed = false
    static let chunk = 256 * 1024

    init(state: SandboxState) { self.state = state }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body.removeAll()
        case .body(var buf):
            if body.count < 1 << 20, let bytes = buf.readBytes(length: buf.readableBytes) { body += bytes }
        case .end:
            guard let h = head else { return }
            head = nil
            let request = SandboxRequest(
                method: h.method.rawValue, uri: h.uri, version: h.version.major == 2 ? "2" : "1.\(h.version.minor)",
                headers: h.headers.map { ($0.name, $0.value) }, body: body)
            let route = state.route(request)
            guard route.createsJobs else {
                respond(context: context, request: h, response: state.handle(request, route: route))
                return
            }
            // Creating jobs may write media files (`--media-dir`) and a million ids at once:
            // done on NIO's blocking pool, answered back on this loop.
            let state = state
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            NIOThreadPool.singleton.runIfActive(eventLoop: context.eventLoop) {
                state.handle(request, route: route)
            }.whenComplete { result in
                let (me, ctx) = loopBound.value
                switch result {
                case .success(let response): me.respond(context: ctx, request: h, response: response)
                case .failure: me.respond(context: ctx, request: h, response: .plain(503, "shutting down"))
                }
            }
        }
    }

    private func respond(context: ChannelHandlerContext, request: HTTPRequestHead, response: SandboxResponse) {
        switch response {
        case let .full(status, headers, bytes):
            var hh = HTTPHeaders(headers)
            hh.add(name: "Date", value: Self.httpDate())
            if !hh.contains(name: "Content-Length") { hh.add(name: "Content-Length", value: "\(bytes.count)") }
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: .init(statusCode: status), headers: hh))),
                promise: nil)
            if !bytes.isEmpty, request.method != .HEAD {
                var buf = context.channel.allocator.buffer(capacity: bytes.count)
                buf.writeBytes(bytes)
                context.write(wrapOutboundOut(.body(.byteBuffer(buf))), promise: nil)
            }
            // "Connection: close" from the state: close once written (with a Content-Length
            // larger than the body, that is a transfer cut short).
            if hh["Connection"].contains(where: { $0.lowercased() == "close" }) {
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
            } else {
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        case let .stream(status, headers, content, start, end, faults):
            context.write(
                wrapOutboundOut(
                    .head(
                        HTTPResponseHead(
                            version: request.version, status: .init(statusCode: status),
                            headers: HTTPHeaders(headers + [("Date", Self.httpDate())])))),
                promise: nil)
            if request.method == .HEAD {
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                return
            }
            let plan = StreamPlan(
                content: content, next: start, end: end, sent: 0, dropAfter: faults.dropAfter,
                stallAfter: faults.stallAfter, stallSeconds: faults.stallSeconds,
                drip: faults.dripBytesPerSecond, throttle: faults.throttleBytesPerSecond.map { max(1, $0) },
                began: .now())
            pump(context: context, plan)
        }
    }

    /// RFC 9110's IMF-fixdate, as every real server sends it in `Date` (clients compare clocks).
    static func httpDate(_ d: Date = Date()) -> String {
        var t = time_t(d.timeIntervalSince1970)
        var tm = tm()
        gmtime_r(&t, &tm)
        var buf = [CChar](repeating: 0, count: 64)
        let n = strftime(&buf, buf.count, "%a, %d %b %Y %H:%M:%S GMT", &tm)
        return String(decoding: buf.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    struct StreamPlan {
        let content: MediaContent
        var next: Int
        let end: Int
        var sent: Int
        let dropAfter: Int?
        var stallAfter: Int?
        let stallSeconds: Double
        /// Bytes per second, sent once a second: a trickle that never quite stops.
        let drip: Int?
        /// Bytes per second, sent in pieces of at most 1/50 of it, each when the average
        /// since `began` allows.
        let throttle: Int?
        let began: NIODeadline
    }

    /// Quiet until `until`, or until a test calls `SandboxServer.releaseStalls()`, checked
    /// every 20 ms on the channel's loop.
    private func stall(context: ChannelHandlerContext, _ plan: StreamPlan, until: Date, generation: Int) {
        if closed { return }
        if Date() >= until || state.stallGeneration() != generation {
            pump(context: context, plan)
            return
        }
        let loopBound = NIOLoopBound((self, context, plan), eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: .milliseconds(20)) {
            let (me, ctx, plan) = loopBound.value
            me.stall(context: ctx, plan, until: until, generation: generation)
        }
    }

    private func pump(context: ChannelHandlerContext, _ plan: StreamPlan) {
        var p = plan
        if closed { return }
        if p.next >= p.end {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        if let d = p.dropAfter, p.sent >= d {
            context.close(promise: nil)  // the fault: the connection dies mid-body
            return
        }
        if let s = p.stallAfter, p.sent >= s {
            p.stallAfter = nil  // the fault: the server goes quiet, the connection stays open
            let until = Date().addingTimeInterval(max(0, min(p.stallSeconds, 1e6)))
            stall(context: context, p, until: until, generation: state.stallGeneration())
            return
        }
        var n = min(p.drip ?? Self.chunk, p.end - p.next)
        if let t = p.throttle { n = min(n, max(1, t / 50)) }
        if let d = p.dropAfter { n = min(n, d - p.sent) }
        if let s = p.stallAfter { n = min(n, s - p.sent) }
        var buf = context.channel.allocator.buffer(capacity: n)
        p.content.withBytes(offset: p.next, count: n) { buf.writeBytes($0) }
        p.next += n
        p.sent += n
        let loopBound = NIOLoopBound((self, context, p), eventLoop: context.eventLoop)
        let dripping = p.drip != nil
        let (throttle, began, sent) = (p.throttle, p.began, p.sent)
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buf)))).whenComplete { result in
            guard case .success = result else { return }
            if let rate = throttle {
                // Due when the bytes sent so far fit the rate since the start: no drift.
                let due = began + .nanoseconds(Int64(Double(sent) / Double(rate) * 1e9))
                loopBound.eventLoop.scheduleTask(deadline: due) {
                    let (me, ctx, plan) = loopBound.value
                    me.pump(context: ctx, plan)
                }
                return
            }
            if dripping {
                loopBound.eventLoop.scheduleTask(in: .seconds(1)) {
                    let (me, ctx, plan) = loopBound.value
                    me.pump(context: ctx, plan)
                }
                return
            }
            // Hop through the loop: a write that completes at once would otherwise recurse.
            loopBound.eventLoop.execute {
                let (me, ctx, plan) = loopBound.value
                me.pump(context: ctx, plan)
            }
        }
    }
}
