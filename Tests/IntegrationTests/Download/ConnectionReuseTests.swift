import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

@Suite(.removesTempDirs) struct ConnectionReuseTests {
    /// 30 ids make at least 60 requests (a poll and a download each); kept-alive connections
    /// carry them, so no more are opened than requests ever run at once (8 polls, 1 download).
    @Test func requestsShareConnections() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let ids = (0..<30).map { _ in server.createJob(spec(bytes: 64 * 1024) { $0.queuedPolls = 0 }) }
            let before = server.connectionsAccepted
            let r = try await server.runCLI(
                ids + ["-o", dir, "--jobs", "1"], env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(r.status == 0, "\(r.stderr)")
            let requests = server.requests().filter { $0.path.contains("video_") }.count
            let opened = server.connectionsAccepted - before
            #expect(requests >= 60)
            #expect(opened <= 11, "\(opened) connections for \(requests) requests")
        }
    }
}
