import Foundation

/// Runs blocking work (sockets, a child process, libarchive) on a thread of its own, never on the
/// cooperative pool: two such waits would take both threads of a 2-core machine from every
/// other test, and the tests that watch a child for a moment (the segmented kill tests) miss it.
func offPool<T>(_ body: @escaping () throws -> T) async throws -> T {
    let box = UncheckedBox(body)
    let result = try await withCheckedThrowingContinuation { (c: CheckedContinuation<UncheckedBox<T>, Error>) in
        Thread { c.resume(with: Result { UncheckedBox(try box.value()) }) }.start()
    }
    return result.value
}

/// Carries a value that is used by one thread at a time (handed to a thread, then back).
/// `@unchecked Sendable` is sound for that hand-over: never two users at once.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Waits for an event seen through `condition` (a log entry, a file, a count), polling every
/// 20 ms; `timeout` is a hang's bound, never what the test relies on. Throws when it passes.
func waitUntil(_ what: String, timeout: Double = 60, _ condition: () -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while !condition() {
        guard Date() < deadline else { throw WaitTimedOut(what: what, seconds: timeout) }
        try await Task.sleep(nanoseconds: 20_000_000)
    }
}

struct WaitTimedOut: Error, CustomStringConvertible {
    let what: String
    let seconds: Double
    var description: String { "waited \(seconds) s for \(what)" }
}
