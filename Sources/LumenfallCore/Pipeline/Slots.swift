import Foundation
import HeapModule

/// A counting semaphore for tasks, handing free slots to the waiter with the smallest key
/// (ties in arrival order). Downloads use the link's expiry as the key, so the links that die
/// first are fetched first; polls use arrival order. Cancelling a waiting task ends its wait
/// with CancellationError, so a stopped batch never hangs here.
///
/// Each step is O(log n): waiters sit in a heap ordered by (key, ticket); a cancelled waiter is
/// resumed at once and its heap entry skipped when it surfaces. Memory is bounded by the tasks
/// in flight.
actor Slots {
    private var free: Int
    private var queue = Heap<Ranked<Void>>()
    private var waiters: [Int: CheckedContinuation<Void, Error>] = [:]
    /// Tickets handed out whose task has not reached `wait` yet, and those of them cancelled.
    private var pending = Set<Int>()
    private var cancelledEarly = Set<Int>()
    private var nextTicket = 0

    init(_ count: Int) { free = max(1, count) }

    private func ticket() -> Int {
        nextTicket += 1
        pending.insert(nextTicket)
        return nextTicket
    }

    /// Waits for a slot; the caller must `release()` it.
    nonisolated func acquire(key: Double = 0) async throws {
        let t = await ticket()
        try await withTaskCancellationHandler {
            try await wait(ticket: t, key: key)
        } onCancel: {
            Task { await self.cancel(ticket: t) }
        }
    }

    private func wait(ticket: Int, key: Double) async throws {
        pending.remove(ticket)
        if cancelledEarly.remove(ticket) != nil { throw CancellationError() }
        if free > 0 && waiters.isEmpty {
            free -= 1
            return
        }
        try await withCheckedThrowingContinuation { c in
            waiters[ticket] = c
            queue.insert(Ranked(key: key, order: ticket, ()))
        }
    }

    private func cancel(ticket: Int) {
        if let c = waiters.removeValue(forKey: ticket) {
            c.resume(throwing: CancellationError())
        } else if pending.contains(ticket) {
            cancelledEarly.insert(ticket)  // not waiting yet: stop it at the door
        }
        // Otherwise it already has its slot or gave up: nothing to do, nothing kept.
    }

    /// How many tasks wait (for tests and logs).
    var waiting: Int { waiters.count }

    func release() {
        while let next = queue.popMin() {
            if let c = waiters.removeValue(forKey: next.order) {
                c.resume()
                return
            }
        }
        free += 1
    }
}
