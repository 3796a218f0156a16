import DequeModule
import HeapModule

/// Polled ids waiting for a download worker, the link that dies first on top (ties in arrival
/// order). Entries are data, an id and its video object, not suspended tasks: about 2 KB each
/// where a waiting task held about 11 KB of frames (heaptrack), so the look-ahead window costs
/// little. Each step is O(log n).
///
/// Producers (the poll tasks) are counted: `pop` answers nil once the source is closed, no
/// producer is left and the heap is empty, so the workers end exactly when the work does.
/// Cancelling a waiting `pop` answers nil at once.
actor DownloadQueue {
    struct Entry: Sendable {
        let id: String
        /// The id's index among the run's outcomes.
        let index: Int
        let video: VideoObject
    }

    private var heap = Heap<Ranked<Entry>>()
    private var seq = 0
    private var producers = 0
    private var closed = false
    private var waiters: [Int: CheckedContinuation<Entry?, Never>] = [:]
    private var waitOrder = Deque<Int>()
    private var nextTicket = 0
    private var cancelledEarly = Set<Int>()

    /// Before a producer starts: the queue cannot end while it runs.
    func producerStarted() { producers += 1 }

    /// A producer ends without an entry (the id failed, or was already saved).
    func producerEnded() {
        producers -= 1
        wakeIfDone()
    }

    /// A producer ends with an entry: `key` orders it (the link's expiry, seconds since 1970).
    func push(_ entry: Entry, key: Double) {
        producers -= 1
        seq += 1
        heap.insert(Ranked(key: key, order: seq, entry))
        handOut()
    }

    /// No more producers will start.
    func close() {
        closed = true
        wakeIfDone()
    }

    var waiting: Int { heap.count }

    /// The next entry, waiting for one; nil when the work is over or the caller is cancelled.
    nonisolated func pop() async -> Entry? {
        let t = await ticket()
        return await withTaskCancellationHandler {
            await wait(ticket: t)
        } onCancel: {
            Task { await self.cancel(ticket: t) }
        }
    }

    private func ticket() -> Int {
        nextTicket += 1
        return nextTicket
    }

    private func wait(ticket: Int) async -> Entry? {
        if cancelledEarly.remove(ticket) != nil || Task.isCancelled { return nil }
        if waiters.isEmpty, let top = heap.popMin() { return top.payload }
        if closed && producers == 0 && heap.isEmpty { return nil }
        return await withCheckedContinuation { c in
            waiters[ticket] = c
            waitOrder.append(ticket)
        }
    }

    private func cancel(ticket: Int) {
        if let c = waiters.removeValue(forKey: ticket) {
            c.resume(returning: nil)
        } else {
            cancelledEarly.insert(ticket)  // not waiting yet: it ends at the door
        }
    }

    private func handOut() {
        while !heap.isEmpty, let t = nextWaiter() {
            if let c = waiters.removeValue(forKey: t), let top = heap.popMin() { c.resume(returning: top.payload) }
        }
        wakeIfDone()
    }

    private func nextWaiter() -> Int? {
        while !waitOrder.isEmpty {
            let t = waitOrder.removeFirst()
            if waiters[t] != nil { return t }
        }
        return nil
    }

    private func wakeIfDone() {
        guard closed, producers == 0, heap.isEmpty else { return }
        for (_, c) in waiters { c.resume(returning: nil) }
        waiters.removeAll()
        waitOrder.removeAll()
    }
}
