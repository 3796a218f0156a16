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
