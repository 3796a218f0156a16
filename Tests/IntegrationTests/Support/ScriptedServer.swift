import Foundation
import Testing

/// An HTTP/1.1 server on loopback whose every answer is written by the test: a hostile store or
/// origin, answering what moto and the sandbox never would (listings that never end, an object
/// that is not there, keep-alive spaces). Keeps connections alive; records each request.
/// `@unchecked Sendable` is sound: `log` is under `lock`, everything else is a `let`.
final class ScriptedServer: @unchecked Sendable {
    struct Request: Sendable {
        var method: String
        var target: String
        var headers: [(String, String)]
        var body: [UInt8]
        func header(_ name: String) -> String? { headers.last { $0.0.lowercased() == name.lowercased() }?.1 }
    }
    /// What to send back: a whole answer, or raw bytes written with pauses between them.
    enum Answer: Sendable {
        case http(status: Int, headers: [(String, String)], body: [UInt8])
        case raw([(bytes: [UInt8], pauseAfter: Double)])
    }

    let port: Int
    var baseURL: String { "http://127.0.0.1:\(port)" }
    private let listener: Int32
    private let lock = NSLock()
    private var log: [Request] = []
    private let handler: @Sendable (Request) -> Answer

    var requests: [Request] { lock.withLock { log } }

    init(_ handler: @escaping @Sendable (Request) -> Answer) throws {
        self.handler = handler
        (listener, port) = try listenOnLoopback()
        Thread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { return }
                Thread { [self] in serve(client) }.start()
            }
        }.start()
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    static func ok(_ body: String = "", headers: [(String, String)] = []) -> Answer {
        .http(status: 200, headers: headers, body: Array(body.utf8))
    }

    private func serve(_ client: Int32) {
        defer { close(client) }
        var pending: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            // The head, up to the blank line.
            var end: Int?
            while end == nil {
                if let r = pending.firstRange(of: [13, 10, 13, 10]) {
                    end = r.upperBound
                    break
                }
                let n = read(client, &buf, buf.count)
                guard n > 0, pending.count < 1 << 20 else { return }
                pending += buf[0..<n]
            }
            let headText = String(decoding: pending[0..<end!], as: UTF8.self)
            pending.removeFirst(end!)
            let lines = headText.components(separatedBy: "\r\n").filter { !$0.isEmpty }
            let first = lines.first?.split(separator: " ") ?? []
            guard first.count >= 2 else { return }
            let headers = lines.dropFirst().compactMap { l -> (String, String)? in
                guard let c = l.firstIndex(of: ":") else { return nil }
                return (String(l[..<c]), l[l.index(after: c)...].trimmingCharacters(in: .whitespaces))
            }
            let length = Int(headers.last { $0.0.lowercased() == "content-length" }?.1 ?? "0") ?? 0
            if headers.contains(where: { $0.0.lowercased() == "expect" }) {
                _ = "HTTP/1.1 100 Continue\r\n\r\n".withCString { write(client, $0, strlen($0)) }
            }
            while pending.count < length {
                let n = read(client, &buf, buf.count)
                guard n > 0 else { return }
                pending += buf[0..<n]
            }
            let body = Array(pending.prefix(length))
            pending.removeFirst(length)
            let request = Request(method: String(first[0]), target: String(first[1]), headers: headers, body: body)
            lock.withLock { log.append(request) }
            switch handler(request) {
            case let .http(status, extra, body):
                var text = "HTTP/1.1 \(status) X\r\n"
                for (n, v) in extra { text += "\(n): \(v)\r\n" }
                if !extra.contains(where: { $0.0.lowercased() == "content-length" }) { text += "Content-Length: \(body.count)\r\n" }
                text += "\r\n"
                let bytes = Array(text.utf8) + (request.method == "HEAD" ? [] : body)
                guard writeAll(client, bytes) else { return }
            case .raw(let pieces):
                for p in pieces {
                    guard writeAll(client, p.bytes) else { return }
                    if p.pauseAfter > 0 { Thread.sleep(forTimeInterval: p.pauseAfter) }
                }
            }
        }
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let w = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + sent, bytes.count - sent) }
            if w <= 0 { return false }
            sent += w
        }
        return true
    }
}
