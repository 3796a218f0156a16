import Foundation

/// Which URLs this tool will ever send a request to: https anywhere, plain http only to the
/// local machine (the sandbox, a local proxy). Everything else, file:// and ftp:// included, is
/// refused before libcurl sees it, for the first request and for every redirect hop.
package enum URLPolicy {
    package static let maxRedirects = 10

    package enum Verdict: Equatable, Sendable {
        case allowed
        case refused(String)
    }

    package static func check(_ url: String) -> Verdict {
        guard let c = URLComponents(string: url), let scheme = c.scheme?.lowercased() else {
            return .refused("not a valid URL")
        }
        guard let host = c.host, !host.isEmpty else { return .refused("the URL has no host") }
        switch scheme {
        case "https": return .allowed
        case "http":
            return isLoopback(host) ? .allowed : .refused("plain http is allowed only to loopback hosts; use https")
        default:
            return .refused("the scheme \(scheme):// is not allowed; only https (and http to loopback)")
        }
    }

    /// 127.0.0.0/8, ::1 and localhost: the only places where an unencrypted hop cannot be read
    /// by anybody else on the path.
    package static func isLoopback(_ rawHost: String) -> Bool {
        let host = rawHost.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { UInt8($0) != nil }
    }

    /// The host (and port) of a URL, never its path or query: signed media URLs carry their
    /// signature in the query, and it must not reach logs, sidecars or messages.
    package static func host(of url: String) -> String {
        guard let c = URLComponents(string: url), let host = c.host else { return "(invalid URL)" }
        if let port = c.port { return "\(host):\(port)" }
        return host
    }

    /// Scheme, host and path without the query or fragment: safe to show a person.
    package static func redacted(_ url: String) -> String {
        guard var c = URLComponents(string: url) else { return "(invalid URL)" }
        c.query = nil
        c.fragment = nil
        c.user = nil
        c.password = nil
        return c.string ?? "(invalid URL)"
    }

    /// Whether two URLs name the same origin (scheme, host, port): the API key goes only to
    /// the API's own origin.
    package static func sameOrigin(_ a: String, _ b: String) -> Bool {
        guard let x = URLComponents(string: a), let y = URLComponents(string: b) else { return false }
        func port(_ c: URLComponents) -> Int? { c.port ?? (c.scheme?.lowercased() == "https" ? 443 : 80) }
        return x.scheme?.lowercased() == y.scheme?.lowercased()
            && x.host?.lowercased() == y.host?.lowercased() && port(x) == port(y)
    }
}
