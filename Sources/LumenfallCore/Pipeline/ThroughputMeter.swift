import Foundation
import Synchronization

/// Observed download speed, per transfer, to warn about links that will expire first.
final class ThroughputMeter: Sendable {
    private let sums = Mutex((bytes: 0.0, seconds: 0.0))

    func record(bytes b: Int64, seconds s: Double) {
        guard b > 0, s > 0 else { return }
        sums.withLock {
            $0.bytes += Double(b)
            $0.seconds += s
        }
    }

    /// Bytes per second of one transfer, once at least one transfer finished.
    var rate: Double? {
        sums.withLock { $0.seconds > 0 ? $0.bytes / $0.seconds : nil }
    }
}
