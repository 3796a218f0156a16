import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

@Suite(.removesTempDirs) struct HTTP2Tests {
    /// Over TLS the host offers h2: the API requests and the downloads take it and share one
    /// connection (issue 20: many small files cost no handshake each), while the ranges of a
    /// `--segments` download keep HTTP/1.1, a connection each.
    @Test func requestsUseHTTP2WhereOfferedExceptRanges() async throws {
        let pki = try TestPKI.make()
        let server = try await SandboxServer.start(tls: SandboxTLS(certificateFile: pki.certFile, keyFile: pki.keyFile))
        defer { Task { try? await server.shutdown() } }
        let ids = (0..<10).map { _ in server.createJob(spec(bytes: 64 * 1024) { $0.queuedPolls = 1 }) }
        let dir = makeTempDir()
        let before = server.connectionsAccepted
        let r = try await server.runCLI(
            ids + ["-o", dir, "--cacert", pki.caFile, "--poll-interval", "0.05", "--jobs", "4"],
            env: ["LUMENFALL_API_KEY": server.apiKey])
        #expect(r.status == 0, "\(r.stderr)")
        for id in ids { try expectSaved(server, id, dir: dir) }
        let api = server.requests().filter { $0.path.hasPrefix("/openai/v1/videos/") }
        let media = server.requests().filter { $0.path.hasPrefix("/media/") }
        #expect(api.count >= 20)
        #expect(api.allSatisfy { $0.httpVersion == "2" }, "\(api.map(\.httpVersion))")
        #expect(media.count == ids.count && media.allSatisfy { $0.httpVersion == "2" }, "\(media.map(\.httpVersion))")
        // Polls and downloads on one connection (two if a second was opened before the first
        // had proved to speak h2).
        #expect(server.connectionsAccepted - before <= 2, "\(server.connectionsAccepted - before) connections")

        let big = server.createJob(spec(bytes: 4 << 20) { $0.queuedPolls = 0 })
        let seg = try await server.runCLI(
            [big, "-o", dir, "--segments", "3", "--cacert", pki.caFile], env: ["LUMENFALL_API_KEY": server.apiKey])
        #expect(seg.status == 0, "\(seg.stderr)")
        try expectSaved(server, big, dir: dir)
        let ranged = server.requests().filter { $0.path.hasPrefix("/media/") && $0.path.contains(big) }
        #expect(ranged.count >= 3 && ranged.allSatisfy { $0.httpVersion == "1.1" }, "\(ranged.map(\.httpVersion))")
    }
}
