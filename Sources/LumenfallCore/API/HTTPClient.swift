import LumenfallCurl

/// The core's only way onto the network: libcurl's multi loop plus the URL policy. Redirects
/// are followed here, hop by hop, so every hop is checked (scheme, loopback rule, count) and
/// credentials are dropped as soon as a hop leaves the origin they were meant for.
struct HTTPClient: Sendable {
    var multi: CurlMulti = .shared

    /// `credentials` are header lines sent only while the URL stays on `credentialOrigin`.
    func send(
        _ request: HTTPRequest, credentials: [String] = [], credentialOrigin: String? = nil,
        sink: HTTPResponseSink
    ) async throws -> HTTPTransferResult {
        var req = request
        var hops = 0
        while true {
            if case .refused(let why) = URLPolicy.check(req.url) {
                throw APIError.refused("refused \(URLPolicy.redacted(req.url)): \(why)")
            }
            var sent = req
            if let origin = credentialOrigin, URLPolicy.sameOrigin(origin, req.url) {
                sent.headers += credentials
            }
            let result = try await multi.perform(sent, sink: sink)
            guard let status = result.head?.status, [301, 302, 303, 307, 308].contains(status),
                !result.abortedBySink, let next = result.redirectURL
            else {
                return result
            }
            hops += 1
            if hops > URLPolicy.maxRedirects {
                throw APIError.refused("more than \(URLPolicy.maxRedirects) redirects from \(URLPolicy.host(of: request.url))")
            }
            if status == 303, req.method != "GET" {
                req.method = "GET"
                req.body = nil
            }
            req.url = next
        }
    }
}

/// Collects a small body in memory, refusing anything over `limit` bytes.
final class BufferSink: HTTPResponseSink {
    let limit: Int
    private(set) var head: HTTPResponseHead?
    private(set) var bytes: [UInt8] = []
    private(set) var overflowed = false

    init(limit: Int) { self.limit = limit }

    func didReceiveHead(_ head: HTTPResponseHead) -> SinkVerdict {
        self.head = head
        bytes.removeAll(keepingCapacity: true)
        if let len = head.header("Content-Length").flatMap(Int.init), len > limit {
            overflowed = true
            return .abort
        }
        return .proceed
    }

    func didReceiveBody(_ chunk: UnsafeRawBufferPointer) -> SinkVerdict {
        if bytes.count + chunk.count > limit {
            overflowed = true
            return .abort
        }
        bytes.append(contentsOf: chunk)
        return .proceed
    }
}
