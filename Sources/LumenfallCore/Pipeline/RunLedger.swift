import Foundation
import Synchronization

extension Fetcher {
    /// What a run has learnt so far, shared by its tasks: the tally, the outcomes (with
    /// `keepOutcomes`), the ids in flight. `@unchecked Sendable` is sound: all of it is
    /// touched under `lock`.
    final class Ledger: @unchecked Sendable {
        private let lock = NSLock()
        private let keepOutcomes: Bool
        private var inFlight = Set<String>()
        private var order: [String] = []
        private var results: [IDOutcome?] = []
        private var tally: BatchTally
        private var authFailure: String?

        init(keepOutcomes: Bool, keepSavedIDs: Bool) {
            self.keepOutcomes = keepOutcomes
            tally = BatchTally(keepSavedIDs: keepSavedIDs)
        }

        func isInFlight(_ id: String) -> Bool { lock.withLock { inFlight.contains(id) } }

        /// The id's index among the outcomes (0 when they are not kept).
        func start(_ id: String) -> Int {
            lock.withLock {
                inFlight.insert(id)
                guard keepOutcomes else { return 0 }
                order.append(id)
                results.append(nil)
                return order.count - 1
            }
        }

        /// Records an id's end; true when it was the API rejecting the key (the run stops).
        func finish(_ i: Int, _ id: String, _ finished: Finished) -> Bool {
            lock.withLock {
                let outcome = finished.outcome
                inFlight.remove(id)
                if keepOutcomes { results[i] = outcome }
                tally.add(id: id, outcome: outcome, saved: finished.saved)
                if case .failed(let f) = outcome, f.kind == .authentication {
                    if authFailure == nil { authFailure = f.message }
                    return true
                }
                return false
            }
        }

        func keyRejected(_ message: String) { lock.withLock { if authFailure == nil { authFailure = message } } }

        func report(sourceFailure: Error?) -> FetchReport {
            lock.withLock {
                let stopped = FetchFailure(
                    kind: .stopped,
                    message: authFailure != nil
                        ? "not finished: the run stopped because the API key was rejected"
                        : "not finished: the run was interrupted")
                return FetchReport(
                    outcomes: order.enumerated().map { ($0.element, results[$0.offset] ?? .failed(stopped)) },
                    tally: tally, authenticationFailure: authFailure, sourceFailure: sourceFailure)
            }
        }
    }

    /// What the ids of one run share.
    struct RunContext: Sendable {
        let polls: Slots
        let meter = ThroughputMeter()
        let folderSync: DirectorySync
        /// Set the moment the API rejects the key, before the failing id gives up its slot,
        /// so no waiting id sends another request with it.
        let keyRejected = Flag()
    }

    final class Flag: Sendable {
        private let value = Mutex(false)
        var isSet: Bool { value.withLock { $0 } }
        func set() { value.withLock { $0 = true } }
    }
}

extension Fetcher.RunContext {
    /// Runs one stage while holding a slot: refuses to start once the key was rejected, and
    /// raises the flag itself when this stage is the one that finds out.
    func guarded<T: Sendable>(_ work: () async throws -> T) async -> Result<T, Error> {
        if keyRejected.isSet {
            return .failure(FetchFailure(kind: .stopped, message: "not finished: the run stopped because the API key was rejected"))
        }
        do {
            return .success(try await work())
        } catch {
            if let f = error as? FetchFailure, f.kind == .authentication { keyRejected.set() }
            if case DownloadError.authenticationFailed = error { keyRejected.set() }
            return .failure(error)
        }
    }
}
