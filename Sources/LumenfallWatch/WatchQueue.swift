import DequeModule
import Foundation
import LumenfallCore
import Synchronization

/// The ids `watch` hands to the fetch pipeline: fed by webhooks, the sweep and the journal's
/// replay; pulled by `Fetcher.run(source:)`, which waits here while nothing is due. An id is
/// queued at most once at a time. `close()` ends the source (SIGTERM).
/// One `Mutex` around the queue's state; shared by the webhook handlers, the sweep and the run loop.
package final class WatchQueue: IDSource, Sendable {
    private struct State {
        var ids = Deque<String>()
        var queued = Set<String>()
        var waiter: CheckedContinuation<String?, Never>?
        var closed = false
    }
    private let state = Mutex(State())

    package init() {}

    /// Queues an id unless it is already waiting; false when it was.
    @discardableResult
    package func offer(_ id: String) -> Bool {
        enum Step { case refused, queued, handoff(CheckedContinuation<String?, Never>) }
        let step: Step = state.withLock { s in
            guard !s.closed, !s.queued.contains(id) else { return .refused }
            if let w = s.waiter {
                s.waiter = nil
                return .handoff(w)
            }
            s.queued.insert(id)
            s.ids.append(id)
            return .queued
        }
        switch step {
        case .refused: return false
        case .queued: return true
        case .handoff(let w):
            w.resume(returning: id)
            return true
        }
    }

    package var depth: Int { state.withLock { $0.queued.count } }

    package func next() async throws -> String? {
        await withCheckedContinuation { (c: CheckedContinuation<String?, Never>) in
            let ready: String?? = state.withLock { s in
                if let id = s.ids.popFirst() {
                    s.queued.remove(id)
                    return .some(id)
                }
                if s.closed { return .some(nil) }
                s.waiter = c
                return .none
            }
            if let ready { c.resume(returning: ready) }
        }
    }

    package func close() {
        let w: CheckedContinuation<String?, Never>? = state.withLock { s in
            s.closed = true
            defer { s.waiter = nil }
            return s.waiter
        }
        w?.resume(returning: nil)
    }
}
