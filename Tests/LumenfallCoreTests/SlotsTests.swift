import Foundation
import Testing

@testable import LumenfallCore

@Suite struct SlotsTests {
    /// `@unchecked Sendable` is sound: its list is only touched under its lock.
    final class Order: @unchecked Sendable {
        private var items: [Int] = []
        private let lock = NSLockLike()
        func add(_ i: Int) { lock.run { items.append(i) } }
        var all: [Int] { lock.run { items } }
    }

    @Test func freedSlotsGoToTheSmallestKeyFirst() async throws {
        let slots = Slots(1)
        try await slots.acquire()
        let order = Order()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for key in [30, 10, 20] {
                group.addTask {
                    try await slots.acquire(key: Double(key))
                    order.add(key)
                    await slots.release()
                }
                while await slots.waiting < [30, 10, 20].firstIndex(of: key)! + 1 { await Task.yield() }
            }
            await slots.release()
            try await group.waitForAll()
        }
        #expect(order.all == [10, 20, 30])
    }

    @Test func aCancelledWaiterLeavesTheQueue() async throws {
        let slots = Slots(1)
        try await slots.acquire()
        let waiter = Task { try await slots.acquire(key: 1) }
        while await slots.waiting < 1 { await Task.yield() }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(await slots.waiting == 0)
        await slots.release()
        try await slots.acquire()  // the slot came back
    }
}

struct NSLockLike {
    let lock = NSLock()
    func run<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }
}
