/// A value ordered by a key, ties broken by arrival order, for swift-collections' `Heap`: the
/// schedulers' queues put the link that expires first (or the oldest waiter) on top. Equality
/// is by rank alone, which is all the heap compares; `order` is unique per queue.
struct Ranked<Payload>: Comparable {
    let key: Double
    let order: Int
    let payload: Payload

    /// A NaN key (no expiry known) ranks last instead of breaking the order.
    init(key: Double, order: Int, _ payload: Payload) {
        self.key = key.isNaN ? .infinity : key
        self.order = order
        self.payload = payload
    }

    static func < (a: Self, b: Self) -> Bool { (a.key, a.order) < (b.key, b.order) }
    static func == (a: Self, b: Self) -> Bool { a.key == b.key && a.order == b.order }
}
