import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

@Suite(.removesTempDirs) struct HTTP2Tests {
    /// Over TLS the host offers h2: the API requests take it and share one connection, while
    /// the media keeps HTTP/1.1 (a connection per transfer, as --segments needs).
    @Test func apiRequestsUseHTTP2WhereOffered() async throws {
        let pki = try TestPKI.make()
        let server = try await SandboxServer.start(tls: SandboxTLS(certificateFile: pki.certFile, keyFile: pki.keyFile))
        defer { Task { try? await server.shutdown() } }
        let ids = (0..<10).map { _ in server.createJob(spec(bytes: 64 * 1024) { $0.queuedPolls = 1 }) }
        let dir = makeTempDir()
        let before = server.connectionsAccepted
        let r = try await server.runCLI(
            ids + ["-o", dir, "--cacert", pki.caFile, "--poll-interval", "0.05", "--jobs", "2"],
            env: ["LUMENFALL_API_KEY": server.apiKey])
        #expect(r.status == 0, "\(r.stderr)")
        for id in ids { try expectSaved(server, id, dir: dir) }
        let api = server.requests().filter { $0.path.hasPrefix("/openai/v1/videos/") }
        let media = server.requests().filter { $0.path.hasPrefix("/media/") }
        #expect(api.count >= 20)
        // The sandbox serves API and media from one origin, and libcurl may send an API request
        // over an idle HTTP/1.1 connection a download opened there; on one host of each (the
        // real set-up) that cannot happen. The API's own connection is HTTP/2.
        #expect(api.first?.httpVersion == "2", "\(api.map(\.httpVersion))")
        #expect(api.filter { $0.httpVersion == "2" }.count * 2 >= api.count, "\(api.map(\.httpVersion))")
        #expect(media.allSatisfy { $0.httpVersion == "1.1" }, "\(media.map(\.httpVersion))")
        // One h2 connection for the polls, and a few HTTP/1.1 ones for the downloads.
        #expect(server.connectionsAccepted - before <= 6, "\(server.connectionsAccepted - before) connections")
    }
}
