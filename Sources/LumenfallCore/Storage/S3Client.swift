import Crypto
import Foundation
import LumenfallCurl

public enum S3Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// Bad input from the user (an address, a missing credential).
    case usage(String)
    /// The credentials were refused (403 InvalidAccessKeyId, SignatureDoesNotMatch, AccessDenied).
    case credentials(String)
    /// The bucket does not exist (404 NoSuchBucket).
    case noSuchBucket(String)
    /// Another answer S3 gave (status, its code and message).
    case http(status: Int, code: String?, message: String)
    case transport(String)
    /// What the store holds is not what was sent (size or checksum).
    case mismatch(String)

    public var description: String {
        switch self {
        case .usage(let m), .credentials(let m), .noSuchBucket(let m), .transport(let m), .mismatch(let m): m
        case let .http(status, code, message): "S3 answered HTTP \(status)\(code.map { " \($0)" } ?? ""): \(message)"
        }
    }
}

/// Credentials, region and endpoint the usual way: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`, `AWS_REGION` (else `AWS_DEFAULT_REGION`, else us-east-1),
/// `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL` (else AWS's own). A custom endpoint (MinIO, R2,
/// moto) is addressed path-style; AWS virtual-hosted. The secret is never printed: the
/// description shows the key id only.
public struct S3Config: Sendable, CustomStringConvertible {
    public var accessKeyID: String
    var secretAccessKey: String
    var sessionToken: String?
    public var region: String
    public var endpoint: String
    public var pathStyle: Bool
    public var caFile: String?

    public static func fromEnvironment(_ env: [String: String], endpoint override: String? = nil) -> Result<S3Config, S3Error> {
        func value(_ k: String) -> String? { env[k].flatMap { $0.isEmpty ? nil : $0 } }
        guard let id = value("AWS_ACCESS_KEY_ID"), let secret = value("AWS_SECRET_ACCESS_KEY") else {
            return .failure(.usage("S3 needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"))
        }
        let region = value("AWS_REGION") ?? value("AWS_DEFAULT_REGION") ?? "us-east-1"
        guard region.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
            return .failure(.usage("AWS_REGION \(region) is not a region name"))
        }
        let custom = override ?? value("AWS_ENDPOINT_URL_S3") ?? value("AWS_ENDPOINT_URL")
        var endpoint = custom ?? "https://s3.\(region).amazonaws.com"
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        // Only the redacted form is ever echoed: an endpoint may carry a password.
        let shown = URLPolicy.redacted(endpoint)
        guard let u = URLComponents(string: endpoint), u.scheme == "https" || u.scheme == "http", u.host != nil else {
            return .failure(.usage("the S3 endpoint \(shown) is not an http(s) URL"))
        }
        guard u.user == nil, u.password == nil, u.query == nil, u.fragment == nil else {
            return .failure(
                .usage(
                    "the S3 endpoint \(shown) carries a user name, password, query or fragment; give only scheme://host[:port], with the credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                ))
        }
        if u.scheme == "http", !URLPolicy.isLoopback(u.host ?? "") {
            return .failure(
                .usage("the S3 endpoint \(shown) is plain http: credentials would cross the network in the clear; use https"))
        }
        return .success(
            S3Config(
                accessKeyID: id, secretAccessKey: secret, sessionToken: value("AWS_SESSION_TOKEN"), region: region,
                endpoint: endpoint, pathStyle: custom != nil, caFile: value("CURL_CA_BUNDLE") ?? value("SSL_CERT_FILE")))
    }

    public var description: String {
        "S3(\(endpoint), region \(region), key \(accessKeyID), \(pathStyle ? "path-style" : "virtual-hosted"))"
    }
}

/// What HEAD tells of an object.
package struct S3ObjectInfo: Sendable, Equatable {
    package var size: Int64
    package var etag: String?
    /// `x-amz-checksum-sha256` (base64) when the store keeps it, else nil.
    package var checksumSHA256: String?
    /// Our own `x-amz-meta-sha256` (hex), set on every upload: anyone who can write the object
    /// can set it, so it is shown, never taken as proof.
    package var metaSHA256: String?

    /// The ETag without its quotes.
    package var plainETag: String? { etag.map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) } }
}

/// S3 over libcurl, signed by libcurl (CURLOPT_AWS_SIGV4). Every request carries
/// `x-amz-content-sha256` (curl does not add it, S3 requires it). No `Expect:` line is set to
/// switch off 100-continue: curl 7.88 signs the empty header it does not send, and the
/// signature fails (checked against moto); the `Expect: 100-continue` curl adds by itself is
/// not signed and does no harm.
public struct S3Client: Sendable {
    public let config: S3Config
    public let location: S3Location
    /// Seconds under 1 byte/s after which an exchange counts as stalled (tests use less).
    package var stallTimeout: Double = 60
    /// The libcurl loop its requests run on (one per process; passed in, as HTTPClient's).
    package var multi: CurlMulti = .shared

    public init(config: S3Config, location: S3Location) {
        self.config = config
        self.location = location
    }

    static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// The URL of a key (or of the bucket, for ""), each path segment percent-encoded as
    /// SigV4 expects, `query` appended as written (libcurl signs it as is). A `.` or `..`
    /// segment is encoded too (`%2E`): left bare, libcurl resolves it away and the request
    /// reaches another key, or another bucket.
    package func url(_ key: String, query: String? = nil) -> String {
        let encoded = key.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0 == "." || $0 == ".." ? String(repeating: "%2E", count: $0.count) : Self.encode(String($0)) }
            .joined(separator: "/")
        var base: String
        if config.pathStyle {
            base = "\(config.endpoint)/\(location.bucket)"
        } else {
            let u = URLComponents(string: config.endpoint)
            base = "\(u?.scheme ?? "https")://\(location.bucket).\(u?.host ?? "")\(u?.port.map { ":\($0)" } ?? "")"
        }
        if !key.isEmpty || config.pathStyle { base += "/" + encoded }
        return query.map { base + "?" + $0 } ?? base
    }

    /// RFC 3986 unreserved characters stay; everything else, '/' included, is %XX.
    package static func encode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                out += String(format: "%%%02X", b)
            }
        }
        return out
    }

    struct Answer {
        var status: Int
        var head: HTTPResponseHead?
        var body: [UInt8]
    }

    /// Transient failures (a transport error, 408, 429, 5xx) are tried again by
    /// `RetryPolicy.storage`. Not for a streamed GET (its sink already took part of a body),
    /// unless the sink starts afresh with each answer (`sinkRestarts`: a listing page read into
    /// a BufferSink); every other request here is idempotent, a retried CompleteMultipartUpload
    /// included (a second one answers the same object).
    static let retry = RetryPolicy.storage

    func send(
        _ method: String, _ key: String, query: String? = nil, headers: [String] = [], upload: UploadBody? = nil,
        payloadSHA256: String = S3Client.emptySHA256, headOnly: Bool = false, body: [UInt8]? = nil, sink: HTTPResponseSink? = nil,
        sinkRestarts: Bool = false, stallTimeout: Double? = nil, totalTimeout: Double? = nil
    ) async throws -> Answer {
        var attempt = 0
        while true {
            let outcome: Result<Answer, Error> = await Result {
                try await sendOnce(
                    method, key, query: query, headers: headers, upload: upload, payloadSHA256: payloadSHA256, headOnly: headOnly,
                    body: body, sink: sink, stallTimeout: stallTimeout ?? self.stallTimeout, totalTimeout: totalTimeout)
            }
            let transient: Bool
            switch outcome {
            case .success(let a): transient = a.status == 408 || a.status == 429 || a.status >= 500
            case .failure(let e): transient = e is S3Error
            }
            guard transient, sink == nil || sinkRestarts, attempt < Self.retry.maxRetries else { return try outcome.get() }
            try await sleep(seconds: Self.retry.backoff.delay(attempt: attempt, random: Double.random(in: 0..<1)))
            attempt += 1
        }
    }

    private func sendOnce(
        _ method: String, _ key: String, query: String?, headers: [String], upload: UploadBody?,
        payloadSHA256: String, headOnly: Bool, body: [UInt8]?, sink: HTTPResponseSink?,
        stallTimeout: Double, totalTimeout: Double?
    ) async throws -> Answer {
        var h = headers + ["x-amz-content-sha256: \(payloadSHA256)"]
        if let t = config.sessionToken { h.append("x-amz-security-token: \(t)") }
        var r = HTTPRequest(
            url: url(key, query: query), method: method, headers: h, body: body, connectTimeout: 30, stallTimeout: stallTimeout,
            // A bounded exchange, but for uploads and streamed GETs, whose length has no limit.
            totalTimeout: totalTimeout ?? (upload == nil && sink == nil ? 300 : nil), caFile: config.caFile)
        r.allowHTTP2 = false
        r.upload = upload
        r.headOnly = headOnly
        r.awsSigV4 = "aws:amz:\(config.region):s3"
        r.awsCredentials = "\(config.accessKeyID):\(config.secretAccessKey)"
        let buffer = BufferSink(limit: 1 << 20)
        let result: HTTPTransferResult
        do {
            result = try await multi.perform(r, sink: sink ?? buffer)
        } catch let e as CurlFailure {
            throw S3Error.transport("\(URLPolicy.host(of: config.endpoint)): \(e.message)")
        }
        guard let head = result.head else { throw S3Error.transport("no answer from \(URLPolicy.host(of: config.endpoint))") }
        return Answer(status: head.status, head: head, body: buffer.bytes)
    }

    /// Turns an error answer into what a person can act on.
    func failure(_ a: Answer, _ what: String) -> S3Error {
        let text = String(decoding: a.body.prefix(4096), as: UTF8.self)
        func tag(_ n: String) -> String? {
            guard let s = text.range(of: "<\(n)>"), let e = text.range(of: "</\(n)>", range: s.upperBound..<text.endIndex) else {
                return nil
            }
            return TerminalText.safe(String(text[s.upperBound..<e.lowerBound]))
        }
        let code = tag("Code")
        let message = tag("Message") ?? "no message"
        switch (a.status, code) {
        // Two cases, not one with a `where` (which would bind to the second pattern only): S3's
        // code says so on any request; a bodiless 404 says so only for the bucket's own HEAD.
        case (404, "NoSuchBucket"):
            return .noSuchBucket("the bucket \(location.bucket) does not exist at \(config.endpoint); create it or check the address")
        case (404, nil) where what == "bucket":
            return .noSuchBucket("the bucket \(location.bucket) does not exist at \(config.endpoint); create it or check the address")
        case (403, _), (401, _):
            return .credentials(
                "S3 refused the credentials (HTTP \(a.status)\(code.map { " \($0)" } ?? "")): check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION (\(config.region))"
            )
        default:
            return .http(status: a.status, code: code, message: "\(what): \(message)")
        }
    }

    /// PUT an object with its SHA-256 (hex) as payload hash, `x-amz-checksum-sha256` and
    /// `x-amz-meta-sha256`; then `prove` checks what was stored. Returns the stored object's facts.
    @discardableResult
    package func put(_ key: String, _ body: UploadBody, sha256Hex: String, contentType: String) async throws -> S3ObjectInfo {
        let a = try await send(
            "PUT", key,
            headers: [
                "Content-Type: \(contentType)", "x-amz-checksum-sha256: \(Self.base64(hex: sha256Hex))",
                "x-amz-meta-sha256: \(sha256Hex)",
            ],
            upload: body, payloadSHA256: sha256Hex)
        guard (200..<300).contains(a.status) else { throw failure(a, "PUT \(key)") }
        guard let info = try await head(key) else { throw S3Error.mismatch("\(key) is not there after its upload") }
        try await prove(key, info, size: body.length, sha256Hex: sha256Hex, md5Hex: { try await Self.md5Hex(of: body) })
        return info
    }

    /// How the store showed that it holds the bytes meant.
    package enum Proof: String, Sendable, Equatable {
        /// Its own `x-amz-checksum-sha256`, computed when it stored them.
        case checksum
        /// A single-part ETag that is the MD5 of the bytes.
        case md5ETag = "md5_etag"
        /// The multipart ETag, recomputed from the parts sent.
        case multipartETag = "multipart_etag"
        /// The object read back and hashed.
        case readBack = "read_back"
    }

    /// Whether `info` (a HEAD just made) proves that the object holds exactly the bytes whose
    /// SHA-256 is `sha256Hex`: by what the store computed (its checksum; an ETag that is the
    /// MD5 of the bytes), else by reading the object back. User metadata (`x-amz-meta-*`) is
    /// set by whoever writes the object and is never proof. Throws `mismatch` when the store
    /// holds other bytes.
    @discardableResult
    package func prove(
        _ key: String, _ info: S3ObjectInfo, size: Int64, sha256Hex: String, md5Hex: () async throws -> String
    ) async throws -> Proof {
        guard info.size == size else { throw S3Error.mismatch("\(key): the store holds \(info.size) bytes, \(size) were sent") }
        if let c = info.checksumSHA256 {
            guard c == Self.base64(hex: sha256Hex) else { throw S3Error.mismatch("\(key): the store's SHA-256 differs from the file's") }
            return .checksum
        }
        if let e = info.plainETag, !e.contains("-"), e == (try await md5Hex()) { return .md5ETag }
        let got = try await readBack(key, size: size, partSize: nil)
        guard got.sha256 == sha256Hex else { throw S3Error.mismatch("\(key): read back, the object's SHA-256 differs from the file's") }
        return .readBack
    }

    /// The MD5 (hex) of an upload's body; a file's is read on the blocking queue.
    static func md5Hex(of body: UploadBody) async throws -> String {
        switch body {
        case .bytes(let b): return Hex.string(Array(Insecure.MD5.hash(data: b)))
        case let .file(path, offset, length):
            return try await BlockingIO.run { try Self.md5Hex(file: path, offset: offset, length: length) }
        }
    }

    static func md5Hex(file path: String, offset: Int64, length: Int64) throws -> String {
        let fd = try AtomicFile.openRegular(path)
        defer { close(fd) }
        var md5 = Insecure.MD5()
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        var at = offset
        let end = offset + length
        while at < end {
            let want = Int(min(Int64(buf.count), end - at))
            let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(at)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw S3Error.mismatch("\(path) ended before the \(length) bytes uploaded") }
            md5.update(data: buf[0..<n])
            at += Int64(n)
        }
        return Hex.string(Array(md5.finalize()))
    }

    /// Reads the object back: its SHA-256 and, with `partSize`, its multipart ETag as this many
    /// bytes a part would give. Refuses a body longer than `size`.
    func readBack(_ key: String, size: Int64, partSize: Int?) async throws -> ReadBackSink.Digest {
        let sink = ReadBackSink(limit: size, partSize: partSize)
        let status = try await get(key, into: sink)
        guard (200..<300).contains(status) else { throw S3Error.mismatch("\(key): cannot read it back (HTTP \(status))") }
        guard let d = sink.finish(), d.bytes == size else { throw S3Error.mismatch("\(key): read back, the object is not \(size) bytes") }
        return d
    }

    /// HEAD: nil when there is no such key.
    package func head(_ key: String) async throws -> S3ObjectInfo? {
        let a = try await send("HEAD", key, headers: ["x-amz-checksum-mode: ENABLED"], headOnly: true)
        if a.status == 404 {
            // HEAD has no body to say which: ask the bucket itself.
            if try await !bucketExists() {
                throw failure(Answer(status: 404, head: nil, body: Array("<Code>NoSuchBucket</Code>".utf8)), "bucket")
            }
            return nil
        }
        guard (200..<300).contains(a.status), let h = a.head else { throw failure(a, "HEAD \(key)") }
        return S3ObjectInfo(
            size: Int64(h.header("Content-Length") ?? "") ?? -1, etag: h.header("ETag"),
            checksumSHA256: h.header("x-amz-checksum-sha256"), metaSHA256: h.header("x-amz-meta-sha256"))
    }

    package func bucketExists() async throws -> Bool {
        let a = try await send("HEAD", "", headOnly: true)
        if a.status == 404 { return false }
        guard (200..<300).contains(a.status) else { throw failure(a, "HEAD bucket") }
        return true
    }

    /// GET an object into `sink` (streamed; nothing held in memory here).
    package func get(_ key: String, into sink: HTTPResponseSink) async throws -> Int {
        try await send("GET", key, sink: sink).status
    }

    /// Creates `key` only if it is absent (`If-None-Match: *`): false when it exists (412).
    package func putIfAbsent(_ key: String, _ bytes: [UInt8], contentType: String = "application/json") async throws -> Bool {
        let sha = sha256Hex(bytes)
        let a = try await send(
            "PUT", key, headers: ["Content-Type: \(contentType)", "If-None-Match: *"], upload: .bytes(bytes), payloadSHA256: sha)
        if a.status == 412 || a.status == 409 { return false }
        guard (200..<300).contains(a.status) else { throw failure(a, "PUT \(key) (If-None-Match)") }
        return true
    }

    package func delete(_ key: String) async throws {
        let a = try await send("DELETE", key)
        guard (200..<300).contains(a.status) || a.status == 404 else { throw failure(a, "DELETE \(key)") }
    }

    /// Creates the bucket (tests; the tool never creates buckets for a user).
    package func createBucket() async throws {
        let a = try await send("PUT", "", upload: .bytes([]))
        guard (200..<300).contains(a.status) || a.status == 409 else { throw failure(a, "PUT bucket") }
    }

    static func base64(hex: String) -> String {
        var bytes: [UInt8] = []
        var it = hex.utf8.makeIterator()
        while let a = it.next(), let b = it.next() {
            guard let hi = hexValue(a), let lo = hexValue(b) else { return "" }
            bytes.append(hi << 4 | lo)
        }
        return Data(bytes).base64EncodedString()
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
