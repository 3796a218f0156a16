import CCurl

/// The libcurl this process runs with and its TLS and HTTP/2 libraries, e.g.
/// "libcurl/7.88.1 OpenSSL/3.0.19 nghttp2/1.52.0" (curl_version() names more: only these matter
/// to a download).
public let libcurlVersion: String = {
    let all = String(cString: curl_version()).split(separator: " ")
    let kept = all.filter { part in
        ["libcurl/", "OpenSSL/", "GnuTLS/", "nghttp2/", "ngtcp2/", "quiche/", "zlib/"].contains { part.hasPrefix($0) }
    }
    return kept.joined(separator: " ")
}()

/// What the libcurl in use can do that a download depends on.
public struct LibcurlFeatures: Sendable {
    public var http2: Bool
    /// The TLS library, e.g. "OpenSSL/3.0.19"; nil: built without TLS.
    public var tls: String?

    /// Asked for as the tenth layout (libcurl 7.72 on), which has every field read here.
    public static var current: LibcurlFeatures {
        guard let info = curl_version_info(CURLVERSION_TENTH) else { return LibcurlFeatures(http2: false, tls: nil) }
        let features = info.pointee.features
        return LibcurlFeatures(
            http2: features & CURL_VERSION_HTTP2 != 0,
            tls: info.pointee.ssl_version.map { String(cString: $0) })
    }
}
