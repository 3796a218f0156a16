import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

@Suite(.removesTempDirs) struct SchedulingTests {
    @Test func downloadsStartWithTheLinkThatExpiresFirst() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            // The blocker finishes polling at once and holds the only download slot (a pause
            // the test ends, not a stall), while the others finish polling and queue up.
            let blocker = server.createJob(
                spec(bytes: 200_000) {
                    $0.queuedPolls = 0
                    $0.faults.stallAfterBytes = 100_000
                    $0.faults.stallSeconds = 30
                })
            let late = server.createJob(
                spec(bytes: 20_000) {
                    $0.queuedPolls = 2
                    $0.urlTTL = 3000
                })
            let soon = server.createJob(
                spec(bytes: 20_000) {
                    $0.queuedPolls = 2
                    $0.urlTTL = 1000
                })
            let middle = server.createJob(
                spec(bytes: 20_000) {
                    $0.queuedPolls = 2
                    $0.urlTTL = 2000
                })
            // The blocker's stall ends only once the other three wait in the download queue
            // (`linkExpiry` is sent when an id is in it): an order, not a race against a loaded
            // machine's clock.
            let log = EventLog()
            let others = [late, soon, middle]
            let release = Task {
                try await waitUntil("the other three queue for the slot", timeout: 60) {
                    log.all.filter { e in
                        if case .linkExpiry(let id, _) = e { return others.contains(id) }
                        return false
                    }.count >= others.count
                }
                server.releaseStalls()
            }
            let report = await fetch(server, [blocker, late, soon, middle], dir: dir, events: log) { $0.jobs = 1 }
            release.cancel()
            #expect(report.allSucceeded)
            let order = server.requests().filter { $0.path.hasPrefix("/media/") }.map { r in
                [blocker, late, soon, middle].first { r.path.contains($0) }!
            }
            #expect(order == [blocker, soon, middle, late])
        }
    }

    @Test func aLinkUnlikelyToLastIsWarnedAbout() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let (first, risky) = server.createExpiryAtRiskPair()
            let log = EventLog()
            let report = await fetch(server, [first, risky], dir: dir, events: log) { $0.jobs = 1 }
            #expect(report.allSucceeded)
            let warned = log.all.compactMap { e -> String? in
                if case .expiryAtRisk(let id, _, let remaining, let need) = e, remaining == 32_000_000, need > 45 { return id }
                return nil
            }
            #expect(warned == [risky])
        }
    }
}
