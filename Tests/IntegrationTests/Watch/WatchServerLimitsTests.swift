import Foundation
import LumenfallCore
import LumenfallSandbox
import NIOCore
import Testing

@testable import LumenfallWatch

/// `watch`'s listener against hostile clients (issue 17, finding 8): slow heads, too many
/// connections, pipelining without reading, oversized and malformed requests. The server runs
/// in this process with short limits; the clients are raw sockets.
@Suite(.removesTempDirs, .serialized) struct WatchServerLimitsTests {
    static let secret = WatchTests.secret

    func withServer(
        _ change: (inout WatchServer.Limits) -> Void = { _ in }, _ body: (WatchServer, Watcher) async throws -> Void
    ) async throws {
        try await withSandbox { sandbox in
            var settings = Watcher.Settings(directory: makeTempDir())
            settings.verifier = WebhookVerifier(secrets: [WebhookSecret(Self.secret)!])
            settings.sweepInterval = nil
            let watcher = try Watcher(
                settings: settings, api: APIClient(baseURL: sandbox.baseURL, key: APIKey(sandbox.apiKey)!), log: { _, _, _ in })
            var limits = WatchServer.Limits()
            change(&limits)
            let server = try await WatchServer.start(host: "127.0.0.1", port: 0, tls: nil, watcher: watcher, limits: limits)
            do {
                try await body(server, watcher)
            } catch {
                await server.stop()
                throw error
            }
            await server.stop()
        }
    }

    /// 200 unsigned deliveries write at most 10 "webhook rejected" lines a minute; the metric
    /// counts all 200.
    @Test func rejectedDeliveriesAreLoggedAtABoundedRate() async throws {
        try await withSandbox { sandbox in
            let lines = LockedLines()
            var settings = Watcher.Settings(directory: makeTempDir())
            settings.verifier = WebhookVerifier(secrets: [WebhookSecret(Self.secret)!])
            let watcher = try Watcher(
                settings: settings, api: APIClient(baseURL: sandbox.baseURL, key: APIKey(sandbox.apiKey)!),
                log: { _, message, _ in lines.add(message) })
            for i in 0..<200 {
                let answer = watcher.deliver(
                    headers: [("webhook-id", "msg_\(i)"), ("webhook-timestamp", "1"), ("webhook-signature", "v1,x")], body: [])
                #expect(answer.status == 401)
            }
            #expect(lines.all.filter { $0 == "webhook rejected" }.count == Watcher.rejectedLogBurst)
            #expect(
                watcher.metrics.rejections("bad_signature") + watcher.metrics.rejections("bad_timestamp")
                    + watcher.metrics.rejections("stale_timestamp") == 200, "every rejection is counted")
        }
    }

    @Test func aHeadSentOneByteAtATimeIsCutAtItsDeadline() async throws {
        try await withServer({ $0.headTimeout = .seconds(1) }) { server, _ in
            let port = server.port
            let (cut, sent, total, seconds) = try await offPool {
                let c = try RawClient(port: port)
                let head = Array(
                    "POST /webhooks/lumenfall HTTP/1.1\r\nHost: x\r\nX-Pad: \(String(repeating: "a", count: 200))\r\n\r\n".utf8)
                let started = Date()
                var sent = 0
                // One byte each 100 ms: the 30 s idle check of old restarted on every byte.
                while sent < head.count, c.send(Array(head[sent..<sent + 1])) {
                    sent += 1
                    if c.closedByPeer(waiting: 0.1) { return (true, sent, head.count, Date().timeIntervalSince(started)) }
                }
                return (c.closedByPeer(waiting: 10), sent, head.count, Date().timeIntervalSince(started))
            }
            #expect(cut, "the slow head must be cut")
            #expect(sent < total, "cut before the head was whole")
            #expect(seconds < 8)
        }
    }

    /// At the cap, a newcomer takes the place of the connection that has waited longest
    /// without a whole request head; when every connection is inside a request, it is closed.
    @Test func atTheCapTheOldestIdleConnectionMakesRoom() async throws {
        try await withServer({ $0.maxConnections = 4 }) { server, _ in
            let port = server.port
            // Four connections fill the cap; each is answered, then waits idle.
            let held = UncheckedBox(try await offPool { try (0..<4).map { _ in try RawClient(port: port) } })
            let first = try await offPool {
                held.value.map { $0.exchange("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").hasPrefix("HTTP/1.1 200") }
            }
            #expect(first == [true, true, true, true])
            let fifthAndAnswers = try await offPool { () -> (RawClient, Bool, Bool, Bool) in
                let fifth = try RawClient(port: port)
                let served = fifth.exchange("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").hasPrefix("HTTP/1.1 200")
                return (fifth, served, held.value[0].closedByPeer(waiting: 10), held.value[3].closedByPeer(waiting: 0.2))
            }
            let clients = UncheckedBox(held.value + [fifthAndAnswers.0])
            let made = (fifthAndAnswers.1, fifthAndAnswers.2, fifthAndAnswers.3)
            #expect(made.0, "the newcomer is served")
            #expect(made.1, "the longest idle connection made room")
            #expect(!made.2)
            // Now every connection is inside a request (a head whose body has not come): no
            // room can be made, and a newcomer is closed at once.
            let sentAll = try await offPool {
                clients.value[1...].allSatisfy {
                    $0.send(Array("POST /webhooks/lumenfall HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab".utf8))
                }
            }
            #expect(sentAll)
            let deadline = Date().addingTimeInterval(10)
            while server.gate.waitingCount > 0, Date() < deadline { try await Task.sleep(nanoseconds: 10_000_000) }
            #expect(server.gate.waitingCount == 0, "the four heads are parsed")
            let last = try await offPool { () -> (Bool, Bool) in
                let sixth = try RawClient(port: port)
                let refused = sixth.closedByPeer(waiting: 10)
                let evicted = clients.value[1...].contains { $0.closedByPeer(waiting: 0.1) }
                return (refused, evicted)
            }
            #expect(last.0, "a newcomer is closed when no connection can make room")
            #expect(!last.1, "a connection inside a request is not evicted")
        }
    }

    /// 35 MB of pipelined `GET /metrics` from a client that never reads: the server stops
    /// reading once its answers back up, so the client cannot get them all in; another
    /// connection is answered meanwhile.
    @Test func aPipeliningClientThatNeverReadsIsNotRead() async throws {
        try await withServer { server, _ in
            let port = server.port
            let (written, answered) = try await offPool { () -> (Int, Bool) in
                let c = try RawClient(port: port)
                let one = Array("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
                let block = Array([[UInt8]](repeating: one, count: 1000).joined())
                var written = 0
                while written < 35_000_000, c.sendWhenWritable(block, waiting: 3) { written += block.count }
                let other = try RawClient(port: port)
                return (written, other.exchange("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").hasPrefix("HTTP/1.1 200"))
            }
            #expect(written < 20_000_000, "the server read \(written) bytes of requests whose answers nobody reads")
            #expect(answered)
        }
    }

    @Test func aHugeContentLengthIsRefusedFromItsHead() async throws {
        try await withServer { server, _ in
            let port = server.port
            let (answer, closed, chunkedAnswer, chunkedClosed) = try await offPool { () -> (String, Bool, String, Bool) in
                let c = try RawClient(port: port)
                let answer = c.exchange("POST /webhooks/lumenfall HTTP/1.1\r\nHost: x\r\nContent-Length: 2147483648\r\n\r\n")
                let closed = c.closedByPeer(waiting: 10)
                // A chunked body that grows past 1 MiB is cut as it passes the limit: 2 MiB and
                // never the last chunk, so the answer must not wait for an end that never comes.
                let d = try RawClient(port: port)
                _ = d.send(Array("POST /webhooks/lumenfall HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".utf8))
                let chunk = Array("10000\r\n".utf8) + [UInt8](repeating: 0x61, count: 0x10000) + Array("\r\n".utf8)
                var sent = 0
                while sent < 32, d.sendWhenWritable(chunk, waiting: 3) { sent += 1 }
                return (answer, closed, d.readAll(waiting: 10), d.closedByPeer(waiting: 10))
            }
            #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer)")
            #expect(closed)
            #expect(chunkedAnswer.hasPrefix("HTTP/1.1 413"), "\(chunkedAnswer)")
            #expect(chunkedClosed)
        }
    }

    @Test(arguments: [
        ("GET /healthz HTTP/1.1\r\n\r\n", "HTTP/1.1 400"),
        ("GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "HTTP/1.1 400"),
        ("POST /webhooks/lumenfall HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "HTTP/1.1 501"),
        ("GET http://example.test/healthz HTTP/1.1\r\nHost: example.test\r\n\r\n", "HTTP/1.1 200"),
    ])
    func rfc9112RulesForTheHead(request: String, status: String) async throws {
        try await withServer { server, _ in
            let port = server.port
            let answer = try await offPool { try RawClient(port: port).exchange(request) }
            #expect(answer.hasPrefix(status), "\(answer)")
        }
    }

    @Test(arguments: ["GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", "GET /healthz HTTP/1.0\r\n\r\n"])
    func connectionCloseAndHTTP10EndTheConnection(request: String) async throws {
        try await withServer { server, _ in
            let port = server.port
            let (all, closed) = try await offPool { () -> (String, Bool) in
                let c = try RawClient(port: port)
                _ = c.send(Array(request.utf8))
                return (c.readAll(waiting: 10), c.closedByPeer(waiting: 1))
            }
            #expect(all.contains(" 200 ") && all.lowercased().contains("connection: close"), "\(all)")
            #expect(closed)
        }
    }
}

/// Log lines collected from any thread. `@unchecked Sendable` is sound: `lines` only under `lock`.
final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func add(_ s: String) { lock.withLock { lines.append(s) } }
    var all: [String] { lock.withLock { lines } }
}

/// A blocking TCP client on loopback with bounded waits.
final class RawClient {
    let fd: Int32
    private var closed = false

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else {
            Foundation.close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
    }

    deinit { close() }

    func close() {
        if !closed { Foundation.close(fd) }
        closed = true
    }

    func send(_ bytes: [UInt8]) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.send(fd, $0.baseAddress! + done, $0.count - done, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            done += n
        }
        return true
    }

    /// Sends `bytes` only as far as the socket takes them within `waiting` seconds each wait:
    /// false when the peer stopped taking bytes (or closed).
    func sendWhenWritable(_ bytes: [UInt8], waiting: Double) -> Bool {
        var done = 0
        while done < bytes.count {
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard poll(&p, 1, Int32(waiting * 1000)) == 1, p.revents & Int16(POLLOUT) != 0 else { return false }
            let n = bytes.withUnsafeBytes {
                Foundation.send(fd, $0.baseAddress! + done, $0.count - done, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            if n < 0, errno == EAGAIN { continue }
            if n <= 0 { return false }
            done += n
        }
        return true
    }

    func hasData(waiting: Double) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, Int32(waiting * 1000)) == 1
    }

    /// True when the peer closes (a read gives 0 or an error) within `waiting` seconds; data
    /// that comes first is read and dropped.
    func closedByPeer(waiting: Double) -> Bool {
        let deadline = Date().addingTimeInterval(waiting)
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 || waiting == 0 else { return false }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, Int32(max(0, left) * 1000)) == 1 else { return false }
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { return true }
        }
    }

    /// What arrives until the peer closes or goes quiet for `waiting` seconds.
    func readAll(waiting: Double) -> String {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while hasData(waiting: waiting) {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Sends a request and reads its answer's head and body (by Content-Length).
    func exchange(_ request: String) -> String {
        guard send(Array(request.utf8)) else { return "" }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while hasData(waiting: 10) {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            out += buf[0..<n]
            let text = String(decoding: out, as: UTF8.self)
            if let end = text.range(of: "\r\n\r\n") {
                let head = text[..<end.lowerBound].lowercased()
                let length =
                    head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst(15).trimmingCharacters(in: .whitespaces)) } ?? 0
                if text.utf8.count - text.utf8.distance(from: text.startIndex, to: end.upperBound) >= length { return text }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
