/// What went wrong talking to the API, in a form the poller can decide on and a person can
/// act on. Messages name the host, never a signed query, never the key.
public enum APIError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server answered with an HTTP error and (maybe) the API's JSON error body.
    case http(status: Int, code: String?, message: String?, retryAfter: Double?)
    /// The answer was not the JSON we expect (an HTML page from a proxy, a truncated body).
    case malformed(String)
    /// The answer was larger than we are willing to hold in memory.
    case tooLarge(limit: Int)
    /// DNS, connect, TLS, reset, timeout: nothing usable came back.
    case transport(String, isTimeout: Bool)
    /// The host was never reached (its name did not resolve, nothing listened, TLS failed):
    /// every request fails alike, so the run waits for it as a whole (`APIHealth`).
    case unreachable(String)
    /// The URL or a redirect was refused by URLPolicy, or redirects looped.
    case refused(String)

    public var summary: String {
        switch self {
        case let .http(status, code, message, _):
            let what = [code, message].compactMap { $0 }.joined(separator: ": ")
            return what.isEmpty ? "HTTP \(status)" : "HTTP \(status) \(what)"
        case .malformed(let s): return "unexpected answer: \(s)"
        case .tooLarge(let limit): return "the answer is larger than \(limit / (1024 * 1024)) MiB; refusing it"
        case .transport(let s, _): return s
        case .unreachable(let s): return s
        case .refused(let s): return s
        }
    }

    /// What "\(error)" shows a person: the summary, never Swift's spelling of the enum.
    public var description: String { summary }
}
