import Foundation

/// Observed download speed, per transfer, to warn about links that will expire first.
/// `@unchecked Sendable` is sound: the sums are only touched under `lock`.
final class ThroughputMeter: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes: Double = 0
    private var seconds: Double = 0

    func record(bytes b: Int64, seconds s: Double) {
        guard b > 0, s > 0 else { return }
        lock.lock()
        bytes += Double(b)
        seconds += s
        lock.unlock()
    }

    /// Bytes per second of one transfer, once at least one transfer finished.
    var rate: Double? {
        lock.lock()
        defer { lock.unlock() }
        return seconds > 0 ? bytes / seconds : nil
    }
}
