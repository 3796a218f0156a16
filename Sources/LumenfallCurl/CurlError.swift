import CCurl

/// A transport failure from libcurl, with `curl_easy_strerror`'s text and the extra detail of
/// CURLOPT_ERRORBUFFER. Never carries request headers, so it can never carry the API key.
public struct CurlError: Error, Sendable, CustomStringConvertible {
    public let code: Int
    public let message: String

    public init(code: Int, message: String) {
        self.code = code
        self.message = message
    }

    init(_ code: CURLcode, detail: String = "") {
        self.code = Int(code.rawValue)
        let base = String(cString: curl_easy_strerror(code))
        self.message = detail.isEmpty || detail == base ? base : "\(base): \(detail)"
    }

    /// No byte moved for the stall timeout (CURLOPT_LOW_SPEED_TIME) or the total timeout hit.
    public var isTimeout: Bool { code == Int(CURLE_OPERATION_TIMEDOUT.rawValue) }

    public var description: String { "\(message) (curl error \(code))" }
}
