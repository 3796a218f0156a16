import Dispatch

/// Where blocking file work runs (fsync, rename, reading a `.part` back to hash it): a
/// dispatch queue of its own, so it holds neither libcurl's loop thread nor one of the
/// cooperative pool's few threads, and one slow disk never stalls every other id's polling.
enum BlockingIO {
    private static let queue = DispatchQueue(label: "lumenfall.io", attributes: .concurrent)

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { c in
            queue.async { c.resume(with: Result { try body() }) }
        }
    }
}
