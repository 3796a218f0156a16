import CCurl

/// Any failure of the transport, from an easy handle or the multi handle: what callers catch.
public protocol CurlFailure: Error, Sendable {
    var message: String { get }
    var isTimeout: Bool { get }
}

/// A failure of the multi handle itself (out of memory, a bad socket in curl_multi_poll):
/// every transfer in flight ends with it.
public struct CurlMultiError: CurlFailure, CustomStringConvertible {
    public let code: Int
    public let message: String
    public var isTimeout: Bool { false }

    init(_ code: CURLMcode, during what: String) {
        self.code = Int(code.rawValue)
        message = "\(what): \(String(cString: curl_multi_strerror(code)))"
    }

    public var description: String { "\(message) (curl multi error \(code))" }
}

/// A transport failure from libcurl, with `curl_easy_strerror`'s text and the extra detail of
/// CURLOPT_ERRORBUFFER. Never carries request headers, so it can never carry the API key.
public struct CurlError: CurlFailure, CustomStringConvertible {
    public let code: Int
    public let message: String

    public init(code: Int, message: String) {
        self.code = code
        self.message = message
    }

    init(_ code: CURLcode, detail: String = "") {
        self.code = Int(code.rawValue)
        let base = String(cString: curl_easy_strerror(code))
        // The error buffer usually ends with strerror's words already ("Failed to connect to
        // host port 1 after 0 ms: Couldn't connect to server"): say them once.
        if detail.isEmpty || detail == base {
            message = base
        } else if detail.contains(base) {
            message = detail
        } else {
            message = "\(base): \(detail)"
        }
    }

    /// Slower than CURLOPT_LOW_SPEED_LIMIT for CURLOPT_LOW_SPEED_TIME, or the total timeout hit.
    public var isTimeout: Bool { code == Int(CURLE_OPERATION_TIMEDOUT.rawValue) }

    /// The host was never reached: its name did not resolve, nothing listened, or TLS failed
    /// before a byte of HTTP. Every request to that host fails alike until it comes back.
    public var isUnreachable: Bool {
        [CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT, CURLE_SSL_CONNECT_ERROR]
            .contains { Int($0.rawValue) == code }
    }

    public var description: String { "\(message) (curl error \(code))" }
}
