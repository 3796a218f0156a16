import Foundation
import LumenfallSandbox
import Testing

@testable import LumenfallCore
@testable import LumenfallWatch

/// The sweep lists every completed video again and again; an id that cannot be fetched must
/// not be queued each time only to fail for good each time (issue 19, finding 8).
@Suite(.removesTempDirs) struct WatchSweepTests {
    func watcher(_ sandbox: SandboxServer) throws -> Watcher {
        var settings = Watcher.Settings(directory: makeTempDir())
        settings.sweepInterval = nil
        return try Watcher(settings: settings, api: APIClient(baseURL: sandbox.baseURL, key: APIKey(sandbox.apiKey)!), log: { _, _, _ in })
    }

    @Test func aVideoWhoseLinkHasExpiredIsNotQueued() async throws {
        try await withSandbox { sandbox in
            let w = try watcher(sandbox)
            let expired = sandbox.createJob(
                spec(bytes: 1000) {
                    $0.queuedPolls = 0
                    $0.urlTTL = -60  // completed, and its link died a minute ago
                })
            let fresh = sandbox.createJob(spec(bytes: 1000) { $0.queuedPolls = 0 })
            #expect(await w.sweep() == 1)
            #expect(w.journal.isPending(fresh))
            #expect(!w.journal.isPending(expired))
        }
    }

    @Test func anIdThatFailedForGoodIsNotQueuedByTheNextSweep() async throws {
        try await withSandbox { sandbox in
            let w = try watcher(sandbox)
            let id = sandbox.createJob(spec(bytes: 1000) { $0.queuedPolls = 0 })
            #expect(await w.sweep() == 1)
            w.observe(.failed(id: id, FetchFailure(kind: .refused, message: "the API refused the request (HTTP 400)")))
            #expect(!w.journal.isPending(id))
            #expect(await w.sweep() == 0, "said once, not on every sweep")
        }
    }
}
