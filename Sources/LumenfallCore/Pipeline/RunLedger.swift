import Foundation
import Synchronization

extension Fetcher {
    /// What a run has learnt so far, shared by its tasks: the tally, the outcomes (with
    /// `keepOutcomes`), the ids in flight. One `Mutex` around the state value.
    final class Ledger: Sendable {
        private struct State {
            var inFlight = Set<String>()
            var order: [String] = []
            var results: [IDOutcome?] = []
            var tally: BatchTally
            var authFailure: String?
            var apiFailure: String?
        }
        private let keepOutcomes: Bool
        private let state: Mutex<State>

        init(keepOutcomes: Bool, keepSavedIDs: Bool) {
            self.keepOutcomes = keepOutcomes
            state = Mutex(State(tally: BatchTally(keepSavedIDs: keepSavedIDs)))
        }

        func isInFlight(_ id: String) -> Bool { state.withLock { $0.inFlight.contains(id) } }

        /// The id's index among the outcomes (0 when they are not kept).
        func start(_ id: String) -> Int {
            state.withLock { s in
                s.inFlight.insert(id)
                guard keepOutcomes else { return 0 }
                s.order.append(id)
                s.results.append(nil)
                return s.order.count - 1
            }
        }

        /// Records an id's end; true when it ends the run (the key was rejected, or the API
        /// could not be reached for longer than the run waits).
        func finish(_ i: Int, _ id: String, _ finished: Finished) -> Bool {
            state.withLock { s in
                let outcome = finished.outcome
                s.inFlight.remove(id)
                if keepOutcomes { s.results[i] = outcome }
                s.tally.add(id: id, outcome: outcome, saved: finished.saved)
                if case .failed(let f) = outcome, f.kind == .authentication {
                    if s.authFailure == nil { s.authFailure = f.message }
                    return true
                }
                if case .failed(let f) = outcome, f.kind == .apiUnreachable {
                    if s.apiFailure == nil { s.apiFailure = f.message }
                    return true
                }
                return false
            }
        }

        func keyRejected(_ message: String) { state.withLock { s in if s.authFailure == nil { s.authFailure = message } } }

        func report(sourceFailure: Error?) -> FetchReport {
            state.withLock { s in
                let why =
                    s.authFailure != nil
                    ? "the run stopped because the API key was rejected"
                    : s.apiFailure != nil ? "the run stopped because the API could not be reached" : "the run was interrupted"
                let stopped = FetchFailure(kind: .stopped, message: "not finished: \(why)")
                return FetchReport(
                    outcomes: s.order.enumerated().map { ($0.element, s.results[$0.offset] ?? .failed(stopped)) },
                    tally: s.tally, authenticationFailure: s.authFailure, apiUnreachable: s.apiFailure,
                    sourceFailure: sourceFailure)
            }
        }
    }

    /// What the ids of one run share.
    struct RunContext: Sendable {
        let polls: Slots
        /// Ids handed to the destination at once (`jobs`): for a store, an upload each.
        let stores: Slots
        /// What the output folder held when the run began (nil: not indexed, look for files).
        let folder: FolderIndex?
        let meter = ThroughputMeter()
        /// The API's reachability, shared by every poller.
        let health: APIHealth
        /// Set the moment the API rejects the key (or is given up on), before the failing id
        /// gives up its slot, so no waiting id sends another request.
        let keyRejected = Flag()
        let apiGivenUp = Flag()
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
        if apiGivenUp.isSet {
            return .failure(FetchFailure(kind: .stopped, message: "not finished: the run stopped because the API could not be reached"))
        }
        do {
            return .success(try await work())
        } catch {
            if let f = error as? FetchFailure, f.kind == .authentication { keyRejected.set() }
            if let f = error as? FetchFailure, f.kind == .apiUnreachable { apiGivenUp.set() }
            if case DownloadError.authenticationFailed = error { keyRejected.set() }
            return .failure(error)
        }
    }
}
