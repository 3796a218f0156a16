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

    /// 5000 waiters with shuffled keys come out in key order (ties by arrival): the heap, and a
    /// cancelled waiter in the middle is skipped, not handed a slot.
    @Test func manyWaitersComeOutInKeyOrder() async throws {
        let slots = Slots(1)
        try await slots.acquire()
        let order = Order()
        var keys = (0..<5000).map { Double($0 % 2500) }
        var rng = SystemRandomNumberGenerator()
        keys.shuffle(using: &rng)
        try await withThrowingTaskGroup(of: Void.self) { group in
            var cancelled: Task<Void, Error>?
            for (i, key) in keys.enumerated() {
                group.addTask {
                    try await slots.acquire(key: key)
                    order.add(Int(key))
                    await slots.release()
                }
                if i == 10 {
                    cancelled = Task { try await slots.acquire(key: -1) }
                }
            }
            while await slots.waiting < keys.count + 1 { await Task.yield() }
            cancelled?.cancel()
            while await slots.waiting > keys.count { await Task.yield() }
            await slots.release()
            try await group.waitForAll()
        }
        #expect(order.all == keys.map { Int($0) }.sorted())
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
