import Foundation

/// A counting semaphore for tasks, handing free slots to the waiter with the smallest key
/// (ties in arrival order). Downloads use the link's expiry as the key, so the links that die
/// first are fetched first; polls use arrival order. Cancelling a waiting task ends its wait
/// with CancellationError, so a stopped batch never hangs here.
actor Slots {
    private var free: Int
    private var waiters: [(ticket: Int, key: Double, c: CheckedContinuation<Void, Error>)] = []
    private var cancelledEarly = Set<Int>()
    private var nextTicket = 0

    init(_ count: Int) { free = max(1, count) }

    private func ticket() -> Int {
        nextTicket += 1
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
        if cancelledEarly.remove(ticket) != nil { throw CancellationError() }
        if free > 0 && waiters.isEmpty {
            free -= 1
            return
        }
        try await withCheckedThrowingContinuation { c in
            waiters.append((ticket, key, c))
        }
    }

    private func cancel(ticket: Int) {
        if let i = waiters.firstIndex(where: { $0.ticket == ticket }) {
            waiters.remove(at: i).c.resume(throwing: CancellationError())
        } else {
            cancelledEarly.insert(ticket)  // not waiting yet (or done): stop it at the door
        }
    }

    /// How many tasks wait (for tests and logs).
    var waiting: Int { waiters.count }

    func release() {
        guard let i = waiters.indices.min(by: { (waiters[$0].key, waiters[$0].ticket) < (waiters[$1].key, waiters[$1].ticket) }) else {
            free += 1
            return
        }
        waiters.remove(at: i).c.resume()
    }
}
