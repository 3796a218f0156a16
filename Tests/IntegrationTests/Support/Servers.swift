import Foundation
import LumenfallCurl
import Testing

/// A corporate-style https proxy on loopback: answers `CONNECT host:port` with
/// `HTTP/1.1 200 Connection established` and then relays bytes both ways. It never sees inside
/// the TLS; it counts the tunnels it opened.
/// `@unchecked Sendable` is sound: `tunnels` is under `lock`, everything else is a `let`.
final class ConnectProxy: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var tunnels: [String] = []
    /// When set, every connection gets these bytes after its request head, then is closed:
    /// an origin server for answers the sandbox's HTTP stack would never produce.
    private let cannedAnswer: [UInt8]?

    var connects: [String] { lock.withLock { tunnels } }

    init(cannedAnswer: String? = nil) throws {
        self.cannedAnswer = cannedAnswer.map { Array($0.utf8) }
        (listener, port) = try listenOnLoopback()
        let t = Thread { [self] in acceptLoop() }
        t.start()
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 { return }
            let t = Thread { [self] in serve(client) }
            t.start()
        }
    }

    private func serve(_ client: Int32) {
        defer { close(client) }
        // The request head, byte by byte up to the blank line (it is small).
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while !head.suffix(4).elementsEqual([13, 10, 13, 10]) {
            guard read(client, &byte, 1) == 1, head.count < 8192 else { return }
            head.append(byte)
        }
        if let canned = cannedAnswer {
            _ = canned.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
            return
        }
        let line = String(decoding: head, as: UTF8.self).split(separator: "\r\n").first ?? ""
        let parts = line.split(separator: " ")
        guard parts.count >= 2, parts[0] == "CONNECT" else {
            _ = "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n".withCString { write(client, $0, strlen($0)) }
            return
        }
        let target = parts[1].split(separator: ":")
        guard target.count == 2, let port = UInt16(target[1]) else { return }
        let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(upstream) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr(String(target[0]))
        addr.sin_port = port.bigEndian
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { return }
        lock.withLock { tunnels.append(String(parts[1])) }
        let answer = "HTTP/1.1 200 Connection established\r\nProxy-Agent: lumenfall-test-proxy\r\n\r\n"
        _ = answer.withCString { write(client, $0, strlen($0)) }
        relay(client, upstream)
    }

    /// Copies bytes both ways until either side closes.
    private func relay(_ a: Int32, _ b: Int32) {
        var fds = [pollfd(fd: a, events: Int16(POLLIN), revents: 0), pollfd(fd: b, events: Int16(POLLIN), revents: 0)]
        var buf = [UInt8](repeating: 0, count: 64 * 1024)
        while poll(&fds, 2, 30_000) > 0 {
            for (i, p) in fds.enumerated() where p.revents != 0 {
                let n = read(p.fd, &buf, buf.count)
                if n <= 0 { return }
                let to = i == 0 ? b : a
                var sent = 0
                while sent < n {
                    let w = buf.withUnsafeBytes { write(to, $0.baseAddress! + sent, n - sent) }
                    if w <= 0 { return }
                    sent += w
                }
            }
        }
    }
}

/// A CA and a certificate for 127.0.0.1 signed by it, made with openssl for this test run.
struct TestPKI {
    let dir: String
    var caFile: String { dir + "/ca.pem" }
    var certFile: String { dir + "/server.pem" }
    var keyFile: String { dir + "/server.key" }

    static func make() throws -> TestPKI {
        let dir = makeTempDir()
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(toFile: dir + "/san.ext", atomically: true, encoding: .utf8)
        let steps = [
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=lumenfall-test-ca -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign",
            "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1",
            "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext",
        ]
        for step in steps {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", step + " 2>/dev/null"]
            p.currentDirectoryURL = URL(fileURLWithPath: dir)
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { throw POSIXError(.EINVAL) }
        }
        return TestPKI(dir: dir)
    }
}

/// Collects every head libcurl's layer delivers, and the body.
final class HeadRecorder: HTTPResponseSink {
    var heads: [Int] = []
    var body: [UInt8] = []
    func didReceiveHead(_ head: HTTPResponseHead) -> SinkVerdict {
        heads.append(head.status)
        return .proceed
    }
    func didReceiveBody(_ bytes: UnsafeRawBufferPointer) -> SinkVerdict {
        body.append(contentsOf: bytes)
        return .proceed
    }
}

/// Pauses every other chunk and resumes it a moment later from another thread: libcurl must
/// hand the same bytes over again, so the body still arrives whole and in order.
final class PausingSink: HTTPResponseSink {
    var body: [UInt8] = []
    var pauses = 0
    private var control: TransferControl?
    private var pausedLast = false
    func attach(_ control: TransferControl) { self.control = control }
    func didReceiveHead(_ head: HTTPResponseHead) -> SinkVerdict { .proceed }
    func didReceiveBody(_ bytes: UnsafeRawBufferPointer) -> SinkVerdict {
        if !pausedLast, let control {
            pausedLast = true
            pauses += 1
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(20)) { control.resume() }
            return .pause
        }
        pausedLast = false
        body.append(contentsOf: bytes)
        return .proceed
    }
}

/// Takes any answer and keeps nothing.
final class DiscardSink: HTTPResponseSink {
    func didReceiveHead(_ head: HTTPResponseHead) -> SinkVerdict { .proceed }
    func didReceiveBody(_ bytes: UnsafeRawBufferPointer) -> SinkVerdict { .proceed }
}

/// A listening TCP socket on 127.0.0.1 at an ephemeral port.
func listenOnLoopback() throws -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    let bound = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0, listen(fd, 64) == 0 else {
        close(fd)
        throw POSIXError(.EADDRINUSE)
    }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    return (fd, Int(UInt16(bigEndian: addr.sin_port)))
}
