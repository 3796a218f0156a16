import Foundation

/// `--limit-rate`: one token bucket shared by every download of a run, so the total rate stays
/// under the cap however many transfers run (as curl's and aria2c's options do). A chunk is
/// taken whole while the bucket holds anything (it may go into debt); otherwise the caller
/// learns how long to wait, pauses its transfer (CURL_WRITEFUNC_PAUSE) and asks again after.
/// `@unchecked Sendable` is sound: the bucket is only touched under `lock`.
public final class RateLimiter: @unchecked Sendable {
    public let bytesPerSecond: Double
    private let capacity: Double
    private let lock = NSLock()
    private var tokens: Double
    private var last: Date

    public init(bytesPerSecond: Int64, now: Date = Date()) {
        self.bytesPerSecond = Double(max(1, bytesPerSecond))
        // A quarter of a second of burst, at least one libcurl buffer's worth.
        capacity = max(self.bytesPerSecond / 4, 16 * 1024)
        tokens = capacity
        last = now
    }

    /// nil: take `count` bytes now. Otherwise the seconds to wait before asking again.
    func take(_ count: Int, now: Date = Date()) -> Double? {
        lock.withLock {
            tokens = min(capacity, tokens + max(0, now.timeIntervalSince(last)) * bytesPerSecond)
            last = now
            guard tokens > 0 else { return (1 - tokens) / bytesPerSecond }
            tokens -= Double(count)
            return nil
        }
    }
}
