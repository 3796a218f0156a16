import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The listener of `watch`: `POST /webhooks/lumenfall` (to the Watcher), `GET /healthz`,
/// `GET /metrics`; everything else 404, a wrong method 405, a body over 1 MiB 413 (refused
/// from its Content-Length, or as soon as it grows past the limit). Optional TLS (Lumenfall
/// delivers only to https on 443 or 8443). Deliveries are handled on a serial queue off the
/// event loop: each one's journal entry is fdatasync'd before its 2xx.
public final class WatchServer: Sendable {
    public static let maxBody = 1 << 20
    public let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel

    private init(group: MultiThreadedEventLoopGroup, channel: Channel, port: Int) {
        self.group = group
        self.channel = channel
        self.port = port
    }

    public struct TLS: Sendable {
        public var certificateFile: String
        public var keyFile: String
        public init(certificateFile: String, keyFile: String) {
            self.certificateFile = certificateFile
            self.keyFile = keyFile
        }
    }

    public static func start(host: String, port: Int, tls: TLS?, watcher: Watcher) async throws -> WatchServer {
        let sslContext = try tls.map { tls in
            let chain = try NIOSSLCertificate.fromPEMFile(tls.certificateFile).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: tls.keyFile, format: .pem)
            return try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key)))
        }
        let work = DispatchQueue(label: "lumenfall.watch.deliveries")
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext)) }
                    // A connection quiet for 30 s is closed: idle or slow-loris clients cannot pile up.
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: .seconds(30)))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(WatchHTTPHandler(watcher: watcher, work: work))
                }
            }
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
        do {
            let channel = try await bootstrap.bind(host: host, port: port).get()
            return WatchServer(group: group, channel: channel, port: channel.localAddress?.port ?? port)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// Stops accepting; requests in progress finish.
    public func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

/// One HTTP/1.1 exchange at a time per connection.
/// `@unchecked Sendable` is sound: NIO calls it on its channel's event loop only; the reply
/// from the work queue comes back through `NIOLoopBound` onto that loop.
final class WatchHTTPHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let watcher: Watcher
    let work: DispatchQueue
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var tooLarge = false

    init(watcher: Watcher, work: DispatchQueue) {
        self.watcher = watcher
        self.work = work
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body.removeAll(keepingCapacity: false)
            tooLarge = (h.headers.first(name: "Content-Length").flatMap(Int.init) ?? 0) > WatchServer.maxBody
        case .body(var buf):
            guard !tooLarge else { return }
            if body.count + buf.readableBytes > WatchServer.maxBody {
                tooLarge = true
                body.removeAll(keepingCapacity: false)
            } else if let bytes = buf.readBytes(length: buf.readableBytes) {
                body += bytes
            }
        case .end:
            guard let h = head else { return }
            head = nil
            route(context, h)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func route(_ context: ChannelHandlerContext, _ h: HTTPRequestHead) {
        let path = h.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? h.uri
        switch (path, h.method) {
        case ("/webhooks/lumenfall", .POST):
            if tooLarge {
                watcher.metrics.reject("too_large")
                reply(context, h, 413, #"{"error":"the body is over 1 MiB"}"#, close: true)
                return
            }
            let headers = h.headers.map { ($0.name, $0.value) }
            let bytes = body
            body = []
            let loop = context.eventLoop
            let bound = NIOLoopBound((self, context), eventLoop: loop)
            work.async { [watcher] in
                let answer = watcher.deliver(headers: headers, body: bytes)
                loop.execute {
                    let (handler, context) = bound.value
                    handler.reply(context, h, answer.status, answer.body)
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
        var headers = HTTPHeaders([("Content-Type", type), ("Content-Length", "\(bytes.count)")] + extra)
        if close { headers.add(name: "Connection", value: "close") }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: h.version, status: .init(statusCode: status), headers: headers))),
            promise: nil)
        if h.method != .HEAD {
            var buf = context.channel.allocator.buffer(capacity: bytes.count)
            buf.writeBytes(bytes)
            context.write(wrapOutboundOut(.body(.byteBuffer(buf))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if close { done.whenComplete { _ in context.close(promise: nil) } }
    }
}
