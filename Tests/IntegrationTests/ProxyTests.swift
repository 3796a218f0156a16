import Foundation
import LumenfallCore
import LumenfallCurl
import LumenfallSandbox
import Testing

/// A corporate-style https proxy on loopback: answers `CONNECT host:port` with
/// `HTTP/1.1 200 Connection established` and then relays bytes both ways. It never sees inside
/// the TLS; it counts the tunnels it opened.
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
        guard bound == 0, listen(fd, 64) == 0 else { throw POSIXError(.EADDRINUSE) }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
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

@Suite struct ProxyTests {
    /// Through an https proxy libcurl used to hand the proxy's own "200 Connection
    /// established" to the header callback; taken for the media host's answer, it truncated
    /// the .part before every resume. Now the resume goes through: a Range request after the
    /// drop, and no second full download.
    @Test func aResumeThroughAConnectProxyContinuesThePart() async throws {
        let pki = try TestPKI.make()
        let server = try await SandboxServer.start(tls: SandboxTLS(certificateFile: pki.certFile, keyFile: pki.keyFile))
        let proxy = try ConnectProxy()
        defer {
            proxy.stop()
            Task { try? await server.shutdown() }
        }
        #expect(server.baseURL.hasPrefix("https://"))
        let id = server.createJob(spec(bytes: 1 << 20) { $0.faults.dropAfterBytes = 300_000 })
        let dir = makeTempDir()
        let r = try await runCLI(
            [
                id, "-o", dir, "--base-url", server.baseURL, "--cacert", pki.caFile,
                "--poll-interval", "0.05", "--retry-delay", "0.05",
            ],
            env: [
                "LUMENFALL_API_KEY": server.apiKey, "https_proxy": "http://127.0.0.1:\(proxy.port)",
                "HTTPS_PROXY": "http://127.0.0.1:\(proxy.port)", "no_proxy": "", "NO_PROXY": "",
            ])
        #expect(r.status == 0, "\(r.stderr)")
        try expectSaved(server, id, dir: dir)
        let media = mediaRequests(server, id)
        #expect(media.count == 2)
        #expect(media.first?.status == 200)
        #expect(media.last?.range == "bytes=300000-")
        #expect(media.last?.status == 206)
        #expect(media.filter { $0.status == 200 }.count == 1, "no second full download")
        #expect(!proxy.connects.isEmpty, "the requests went through the proxy")
    }

    @Test func anUntrustedCertificateFailsClearlyAndCACertsComeFromTheEnvironmentToo() async throws {
        let pki = try TestPKI.make()
        let server = try await SandboxServer.start(tls: SandboxTLS(certificateFile: pki.certFile, keyFile: pki.keyFile))
        defer { Task { try? await server.shutdown() } }
        let id = server.createJob(spec(bytes: 50_000))
        let env = ["LUMENFALL_API_KEY": server.apiKey, "CURL_CA_BUNDLE": "", "SSL_CERT_FILE": ""]
        let untrusted = try await runCLI([id, "-o", makeTempDir(), "--base-url", server.baseURL, "--retries", "0"], env: env)
        #expect(untrusted.status == 1)
        #expect(untrusted.stderr.lowercased().contains("certificate"), "\(untrusted.stderr)")

        for variable in ["CURL_CA_BUNDLE", "SSL_CERT_FILE"] {
            let dir = makeTempDir()
            let r = try await runCLI(
                [id, "-o", dir, "--base-url", server.baseURL, "--poll-interval", "0.05"],
                env: env.merging([variable: pki.caFile]) { $1 })
            #expect(r.status == 0, "\(variable): \(r.stderr)")
        }
        let missing = try await runCLI([id, "-o", makeTempDir(), "--cacert", "/nonexistent/ca.pem"], env: env)
        #expect(missing.status == 64)
        #expect(missing.stderr.contains("--cacert /nonexistent/ca.pem"))
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

@Suite struct TransferControlTests {
    @Test func aPausedTransferResumesWithTheSameBytes() async throws {
        try await withSandbox { server in
            let id = server.createJob(spec(bytes: 300_000) { $0.queuedPolls = 0 })
            let expected = try #require(server.content(for: id)).allBytes()
            let sink = PausingSink()
            let url = "http://127.0.0.1:\(server.port)/openai/v1/videos/\(id)/content?variant=video"
            let result = try await CurlMulti.shared.perform(
                HTTPRequest(url: url, headers: ["Authorization: Bearer \(server.apiKey)"], bufferSize: 16 * 1024), sink: sink)
            #expect(result.head?.status == 200)
            #expect(sink.pauses >= 2)
            #expect(sink.body == expected)
        }
    }

    @Test func aCancelledTransferEndsPromptlyAndOnlyOnce() async throws {
        try await withSandbox { server in
            let id = server.createJob(
                spec(bytes: 1 << 20) {
                    $0.queuedPolls = 0
                    $0.faults.stallAfterBytes = 1000
                    $0.faults.stallTimes = 100
                })
            let url = "http://127.0.0.1:\(server.port)/openai/v1/videos/\(id)/content?variant=video"
            for delayMs in [0, 1, 5, 50] {
                let task = Task {
                    try await CurlMulti.shared.perform(
                        HTTPRequest(url: url, headers: ["Authorization: Bearer \(server.apiKey)"]), sink: HeadRecorder())
                }
                try await Task.sleep(nanoseconds: UInt64(delayMs) * 1_000_000)
                let started = Date()
                task.cancel()
                let outcome = await task.result
                #expect(Date().timeIntervalSince(started) < 2)
                #expect(throws: CancellationError.self) { try outcome.get() }
            }
        }
    }
}

@Suite struct InterimResponseTests {
    /// 100 Continue and 103 Early Hints come before the real answer; only the final head may
    /// reach the resume decision, or a 1xx would be taken for the media host's answer.
    @Test func interimHeadsAreSkippedAndOnlyTheFinalOneDecides() async throws {
        let server = try ConnectProxy(
            cannedAnswer: "HTTP/1.1 100 Continue\r\n\r\n"
                + "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                + "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 5-9/10\r\nContent-Length: 5\r\n\r\nhello")
        defer { server.stop() }
        let sink = HeadRecorder()
        let result = try await CurlMulti.shared.perform(
            HTTPRequest(url: "http://127.0.0.1:\(server.port)/media/x.mp4", headers: ["Range: bytes=5-"]), sink: sink)
        #expect(sink.heads == [206])
        #expect(result.head?.header("Content-Range") == "bytes 5-9/10")
        #expect(sink.body == Array("hello".utf8))
    }
}
