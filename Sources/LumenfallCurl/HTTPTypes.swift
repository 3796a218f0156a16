/// What to send. Redirects are never followed here: the caller sees every 3xx and decides,
/// so each hop can be checked against the URL policy before anything is sent to it.
public struct HTTPRequest: Sendable {
    public var url: String
    public var method: String
    /// Header lines in `Name: value` form. Only what the caller adds is sent; the API key is
    /// therefore present only where the API client put it.
    public var headers: [String]
    public var body: [UInt8]?
    public var connectTimeout: Double
    /// A transfer slower than `minSpeed` bytes/s on average over this long is aborted as
    /// stalled (libcurl's low-speed check, as curl's `-y`/`-Y`).
    public var stallTimeout: Double
    public var minSpeed: Int
    /// Upper bound for the whole exchange; nil for downloads, whose length is unbounded.
    public var totalTimeout: Double?
    /// Receive buffer size handed to libcurl; bigger buffers mean fewer callbacks on big files.
    public var bufferSize: Int
    public var userAgent: String
    /// A CA bundle to trust instead of the system's (`--cacert`, `CURL_CA_BUNDLE`, `SSL_CERT_FILE`).
    public var caFile: String?
    /// HTTP/2 (over TLS, where the server offers it in ALPN) multiplexes requests to one host
    /// on one connection: the many small API requests, and downloads. Off (HTTP/1.1, a TCP
    /// connection per transfer) for the ranges of a `--segments` download, so a host's
    /// per-connection cap applies to each range.
    public var allowHTTP2 = true
    /// A request body sent with CURLOPT_UPLOAD and a read callback (a PUT): bytes in memory, or
    /// a range of a file read as libcurl asks, so an upload of any size costs no memory.
    public var upload: UploadBody?
    /// Ask for the head only (HEAD; CURLOPT_NOBODY).
    public var headOnly = false
    /// AWS Signature V4 by libcurl (CURLOPT_AWS_SIGV4, e.g. "aws:amz:us-east-1:s3") with
    /// `awsCredentials` ("ACCESS_KEY:SECRET") as CURLOPT_USERPWD. Never printed or logged.
    public var awsSigV4: String?
    public var awsCredentials: String?

    public init(
        url: String, method: String = "GET", headers: [String] = [], body: [UInt8]? = nil,
        connectTimeout: Double = 30, stallTimeout: Double = 30, minSpeed: Int = 1, totalTimeout: Double? = nil,
        bufferSize: Int = 256 * 1024, userAgent: String = "lumenfall-fetch", caFile: String? = nil
    ) {
        self.caFile = caFile
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
        self.connectTimeout = connectTimeout
        self.stallTimeout = stallTimeout
        self.minSpeed = minSpeed
        self.totalTimeout = totalTimeout
        self.bufferSize = bufferSize
        self.userAgent = userAgent
    }
}

/// A request that would say something else on the wire than what was meant: a CR, LF, NUL or
/// other control character in its URL, method, a header line or a signing field. libcurl sends
/// header values verbatim, so a value read back from a file (an ETag in a `.part.state`) or
/// taken from a server's answer could otherwise end the header block and start a second
/// request on a kept-alive connection, carrying the key. Refused before anything is sent, and
/// never retried: the same request would be refused again.
public struct UnsafeRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Which part: "the URL", "the If-Range header", ... (never the value: it may hold a secret).
    public let part: String
    public let host: String
    public var description: String {
        "refused to send a request to \(host): \(part) holds a line break or another control character"
    }
}

extension HTTPRequest {
    /// Bytes that may appear in a field value (RFC 9110 §5.5): visible ASCII, space, tab and
    /// obs-text (0x80-0xFF); never CR, LF, NUL or another control character.
    static func isSafeValue(_ s: String, allowTab: Bool = true) -> Bool {
        s.utf8.allSatisfy { b in b >= 0x20 ? b != 0x7F : (allowTab && b == 0x09) }
    }

    /// A header name is a token (RFC 9110 §5.6.2).
    static func isToken(_ s: Substring) -> Bool {
        !s.isEmpty
            && s.utf8.allSatisfy { b in
                switch b {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    true
                default:
                    Array("!#$%&'*+-.^_`|~".utf8).contains(b)
                }
            }
    }

    /// Checks every field libcurl would put on the wire; the one place where requests are
    /// built, whatever their values came from. Throws `UnsafeRequestError` naming the part.
    public func validate() throws {
        let host = Self.hostForMessage(url)
        func refuse(_ part: String) -> UnsafeRequestError { UnsafeRequestError(part: part, host: host) }
        // A URL has no spaces either: a server's Location with one is refused, not re-encoded.
        guard isSafeURL(url) else { throw refuse("the URL") }
        guard Self.isToken(Substring(method)) else { throw refuse("the method") }
        guard Self.isSafeValue(userAgent, allowTab: false) else { throw refuse("the User-Agent") }
        for line in headers {
            guard let colon = line.firstIndex(of: ":"), Self.isToken(line[..<colon]) else {
                throw refuse("a header line that is not `Name: value`")
            }
            let name = String(line[..<colon])
            guard Self.isSafeValue(String(line[line.index(after: colon)...])) else { throw refuse("the \(name) header") }
        }
        if let v = awsSigV4, !Self.isSafeValue(v, allowTab: false) { throw refuse("the signing scope") }
        if let v = awsCredentials, !Self.isSafeValue(v, allowTab: false) { throw refuse("the storage credentials") }
        if let v = caFile, v.utf8.contains(0) { throw refuse("the CA file's name") }
    }

    private func isSafeURL(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { $0 > 0x20 && $0 != 0x7F }
    }

    /// The host, for a message: what lies between `//` and the next `/`, less any user info.
    static func hostForMessage(_ url: String) -> String {
        var rest = Substring(url)
        if let r = rest.range(of: "://") { rest = rest[r.upperBound...] }
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let host = authority.split(separator: "@").last.map(String.init) ?? ""
        let printable = host.unicodeScalars.filter { $0.value > 0x20 && $0.value < 0x7F }
        return String(String.UnicodeScalarView(printable.prefix(253)))
    }
}

public enum UploadBody: Sendable, Equatable {
    case bytes([UInt8])
    /// `length` bytes of the file at `path`, from `offset`.
    case file(path: String, offset: Int64, length: Int64)

    public var length: Int64 {
        switch self {
        case .bytes(let b): Int64(b.count)
        case .file(_, _, let n): n
        }
    }
}

/// The status line and headers of the final (non-1xx) response.
public struct HTTPResponseHead: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]

    public init(status: Int, headers: [(name: String, value: String)]) {
        self.status = status
        self.headers = headers
    }

    /// The last value of a header, matched case-insensitively (RFC 9110 §5.1).
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.last(where: { $0.name.lowercased() == wanted })?.value
    }
}

/// What a sink wants after a head or a chunk.
public enum SinkVerdict: Sendable, Equatable {
    case proceed
    /// Stop the transfer now; the sink keeps its own reason, the caller reads it afterwards.
    case abort
    /// Not now: libcurl keeps this chunk and hands it over again after `TransferControl.resume()`
    /// (CURL_WRITEFUNC_PAUSE), so a slow consumer never blocks the loop thread.
    case pause
}

/// Lets a sink resume a transfer it paused. Safe from any thread: the unpause itself runs on
/// the loop thread, which owns the handle.
public struct TransferControl: Sendable {
    let resumeAction: @Sendable () -> Void
    public func resume() { resumeAction() }
}

/// Receives a response as it arrives, on the loop thread. Not Sendable: a sink is handed to
/// `CurlMulti.perform`, touched only by the loop thread while the transfer runs, and read by
/// the awaiting task after it (the continuation orders the two).
public protocol HTTPResponseSink: AnyObject {
    /// Called once, before any other call, with the means to resume after `.pause`.
    func attach(_ control: TransferControl)
    func didReceiveHead(_ head: HTTPResponseHead) -> SinkVerdict
    func didReceiveBody(_ bytes: UnsafeRawBufferPointer) -> SinkVerdict
}

extension HTTPResponseSink {
    public func attach(_ control: TransferControl) {}
}

public struct HTTPTransferResult: Sendable {
    /// The final response's head; nil only if the server sent none.
    public var head: HTTPResponseHead?
    /// Where a 3xx points, resolved against the request URL by libcurl.
    public var redirectURL: String?
    /// True when the sink returned false and so stopped the transfer.
    public var abortedBySink: Bool
    /// "1.1", "2" or "1.0" (CURLINFO_HTTP_VERSION); nil when no answer came.
    public var httpVersion: String? = nil
    /// Whether this exchange reused a connection left open by an earlier one.
    public var reusedConnection = false
}
