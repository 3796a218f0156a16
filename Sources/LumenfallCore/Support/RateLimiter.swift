import Foundation
import Synchronization

/// `--limit-rate`: one token bucket shared by every download of a run, so the total rate stays
/// under the cap however many transfers run (as curl's and aria2c's options do). A chunk is
/// taken whole while the bucket holds anything (it may go into debt); otherwise the caller
/// learns how long to wait, pauses its transfer (CURL_WRITEFUNC_PAUSE) and asks again after.
public final class RateLimiter: Sendable {
    public let bytesPerSecond: Double
    private let capacity: Double
    private let bucket: Mutex<(tokens: Double, last: Date)>

    public init(bytesPerSecond: Int64, now: Date = Date()) {
        self.bytesPerSecond = Double(max(1, bytesPerSecond))
        // A quarter of a second of burst, at least one libcurl buffer's worth.
        capacity = max(self.bytesPerSecond / 4, 16 * 1024)
        bucket = Mutex((capacity, now))
    }

    /// nil: take `count` bytes now. Otherwise the seconds to wait before asking again.
    func take(_ count: Int, now: Date = Date()) -> Double? {
        bucket.withLock { b in
            b.tokens = min(capacity, b.tokens + max(0, now.timeIntervalSince(b.last)) * bytesPerSecond)
            b.last = now
            guard b.tokens > 0 else { return (1 - b.tokens) / bytesPerSecond }
            b.tokens -= Double(count)
            return nil
        }
    }
}
