import Foundation
import LumenfallCurl

/// The media request, built and sent in one place for every attempt (one connection, each
/// range of a segmented download, the probe): identity encoding, the range asked, `If-Range`
/// so a changed file is never stitched to an old `.part`, the transfer limits, the HTTP version,
/// and the API key only towards the API's own host.
extension Downloader {
    /// `from`..`through` (inclusive; open-ended when nil). `from` 0 with no end asks no range.
    /// `ownConnection`: HTTP/1.1 on a connection of its own (each range of a segmented
    /// download, whose point is a host's per-connection cap applying to each). Otherwise a
    /// host that offers HTTP/2 over TLS gets every download of the run multiplexed on one
    /// connection: many small files then cost no handshake each.
    func mediaRequest(
        _ source: MediaSource, from: Int64, through: Int64? = nil, ifRange: String?, totalTimeout: Double?,
        ownConnection: Bool = false
    ) -> HTTPRequest {
        var headers = ["Accept-Encoding: identity"]
        if from > 0 || through != nil {
            headers.append("Range: bytes=\(from)-\(through.map(String.init) ?? "")")
            if let ifRange { headers.append("If-Range: \(ifRange)") }
        }
        var request = HTTPRequest(
            url: source.url, headers: headers, connectTimeout: settings.connectTimeout,
            stallTimeout: settings.stallTimeout, minSpeed: settings.minSpeed,
            totalTimeout: totalTimeout, caFile: api.caFile)
        request.allowHTTP2 = !ownConnection
        return request
    }

    /// How an attempt's exchange ended, before its answer is judged: the transfer failed
    /// (`transport`, with whether it was a timeout) or an answer came (nil).
    struct TransportFailure: Sendable {
        var message: String
        var timedOut: Bool
    }

    /// Sends the request into `sink`. A transport failure is returned (the machine decides);
    /// a refusal by URL policy is thrown as the id's failure.
    func sendMedia(_ request: HTTPRequest, from source: MediaSource, into sink: HTTPResponseSink) async throws -> TransportFailure? {
        do {
            _ = try await api.http.send(
                request, credentials: source.usesAPIKey ? api.credentials : [],
                credentialOrigin: source.usesAPIKey ? api.baseURL : nil, sink: sink)
            return nil
        } catch let e as CurlFailure {
            return TransportFailure(message: "\(URLPolicy.host(of: source.url)): \(e.message)", timedOut: e.isTimeout)
        } catch let e as APIError {
            throw DownloadError.failed(.requestRefused(e.summary))
        }
    }
}
