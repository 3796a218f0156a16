import DequeModule
import Synchronization

/// Ids whose files are written and checked, waiting for their group's commit (GroupCommit).
/// The download workers push and go on to their next id; the one saver takes everything
/// queued at once, so while one group is made durable the next one gathers. `next` answers nil
/// once every worker has ended and nothing is left. Memory: one small entry per id between
/// its last byte and its commit, bounded by the run's window. One `Mutex` around the state.
final class SaveQueue: Sendable {
    private struct State {
        var items = Deque<Fetcher.Staged>()
        var workers: Int
        var waiter: (c: CheckedContinuation<[Fetcher.Staged]?, Never>, limit: Int)?

        /// The first `limit` items, taken out.
        mutating func take(_ limit: Int) -> [Fetcher.Staged] {
            let n = min(limit, items.count)
            defer { items.removeFirst(n) }  // O(n) taken, not O(queue): a Deque
            return Array(items.prefix(n))
        }
    }
    private let state: Mutex<State>

    /// `workers`: how many will push; each calls `workerEnded` once, however it ends.
    init(workers: Int) { state = Mutex(State(workers: workers)) }

    func push(_ item: Fetcher.Staged) {
        let wake = state.withLock { s -> (CheckedContinuation<[Fetcher.Staged]?, Never>, [Fetcher.Staged])? in
            s.items.append(item)
            guard let w = s.waiter else { return nil }
            s.waiter = nil
            return (w.c, s.take(w.limit))
        }
        if let (c, batch) = wake { c.resume(returning: batch) }
    }

    func workerEnded() {
        let wake = state.withLock { s -> CheckedContinuation<[Fetcher.Staged]?, Never>? in
            s.workers -= 1
            guard s.workers <= 0, s.items.isEmpty, let w = s.waiter else { return nil }
            s.waiter = nil
            return w.c
        }
        wake?.resume(returning: nil)
    }

    /// Everything queued (at most `limit`), waiting for the first; nil when the work is over.
    /// One caller at a time (the saver).
    func next(limit: Int) async -> [Fetcher.Staged]? {
        await withCheckedContinuation { c in
            let now = state.withLock { s -> [Fetcher.Staged]?? in
                if !s.items.isEmpty { return .some(s.take(limit)) }
                if s.workers <= 0 { return .some(nil) }
                s.waiter = (c, limit)
                return .none
            }
            if let now { c.resume(returning: now) }
        }
    }
}
