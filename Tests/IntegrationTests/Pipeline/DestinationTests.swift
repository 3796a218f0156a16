import Foundation
import LumenfallSandbox
import Testing

@testable import LumenfallCore

/// The Fetcher against a test double of `Destination` (issue 18): what it asks of a destination
/// and what it makes of the answers, with no real store.
@Suite(.removesTempDirs) struct DestinationTests {
    /// Holds some ids already, lets another worker hold some, and takes the rest in memory.
    /// `@unchecked Sendable` is sound: `state` only under `lock`.
    final class MemoryDestination: Destination, @unchecked Sendable {
        struct State {
            var stored: [String: String] = [:]
            var heldElsewhere: Set<String> = []
            var claimed: Set<String> = []
            var released: [String] = []
            var failStore: Set<String> = []
        }
        let lock = NSLock()
        var state = State()
        var description: String { "memory://test/" }
        func place(of file: String) -> String { "memory://test/\(file)" }

        func storedVideo(_ id: String) async throws -> String? { lock.withLock { state.stored[id] } }
        func claim(_ id: String) async throws -> DestinationClaim {
            lock.withLock {
                if state.heldElsewhere.contains(id) { return .heldBy("worker-2") }
                state.claimed.insert(id)
                return .ours
            }
        }
        func store(_ id: String, directory: String) async throws -> StoreResult {
            let item = try ArchiveItem.load(directory: directory, id: id)
            try lock.withLock {
                if state.failStore.contains(id) { throw POSIXError(.EIO) }
                state.stored[id] = item.videoFile
            }
            for f in [item.videoFile, item.sidecarFile] + item.assets.map(\.file) { unlink("\(directory)/\(f)") }
            await release(id)
            return .moved
        }
        func release(_ id: String) async { lock.withLock { if state.claimed.remove(id) != nil { state.released.append(id) } } }
    }

    @Test func theFetcherAsksTheDestinationAndActsOnItsAnswers() async throws {
        try await withSandbox { server in
            let ids = (0..<4).map { _ in server.createJob(spec(bytes: 20_000)) }
            let dest = MemoryDestination()
            dest.state.stored[ids[0]] = "\(ids[0]).mp4"
            dest.state.heldElsewhere = [ids[1]]
            dest.state.failStore = [ids[3]]
            let work = makeTempDir()
            let report = await fetch(server, ids, dir: work) { $0.destination = dest }
            let outcomes = Dictionary(uniqueKeysWithValues: report.outcomes.map { ($0.id, $0.outcome) })
            #expect(outcomes[ids[0]] == .alreadySaved(file: "\(ids[0]).mp4"))
            #expect(outcomes[ids[1]] == .elsewhere(holder: "worker-2"))
            guard case .saved = outcomes[ids[2]] else {
                Issue.record("\(String(describing: outcomes[ids[2]]))")
                return
            }
            guard case .failed(let f) = outcomes[ids[3]] else {
                Issue.record("a failed store must fail the id")
                return
            }
            #expect(f.kind == .storage && f.message.contains("memory://test/") && f.message.contains("stay in"), "\(f.message)")
            // Moved out of the work folder; the one whose store failed stays for the next run.
            #expect(!FileManager.default.fileExists(atPath: "\(work)/\(ids[2]).mp4"))
            #expect(FileManager.default.fileExists(atPath: "\(work)/\(ids[3]).mp4"))
            // Every claim taken was given back, stored or failed; none was asked of the API for
            // the ids the destination already had or another worker held.
            #expect(dest.state.claimed.isEmpty && Set(dest.state.released) == [ids[2], ids[3]])
            #expect(apiRequests(server, ids[0]).isEmpty && apiRequests(server, ids[1]).isEmpty)
            // The next run stores what the last one left in the work folder, with no download.
            dest.state.failStore = []
            let media = mediaRequests(server, ids[3]).count
            let again = await fetch(server, [ids[3]], dir: work) { $0.destination = dest }
            guard case .saved = again.outcomes.first?.outcome else {
                Issue.record("\(String(describing: again.outcomes.first?.outcome))")
                return
            }
            #expect(mediaRequests(server, ids[3]).count == media)
        }
    }
}
