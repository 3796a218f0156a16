import Foundation

/// Exponential backoff with jitter, so hundreds of unattended downloads that failed together do
/// not retry together. Pure: the random source is injected so tests can pin it.
public struct Backoff: Sendable {
    public var initial: Double
    public var cap: Double
    public var factor: Double
    /// The fraction of each delay that is random: 0.2 gives delays in [0.8 d, 1.2 d].
    public var jitter: Double

    public init(initial: Double, cap: Double, factor: Double = 2, jitter: Double = 0.2) {
        self.initial = initial
        self.cap = cap
        self.factor = factor
        self.jitter = jitter
    }

    /// The delay before retry number `attempt` (0-based). `random` yields a value in [0, 1).
    public func delay(attempt: Int, random: Double) -> Double {
        let base = min(cap, initial * pow(factor, Double(min(attempt, 60))))
        let spread = base * jitter
        return max(0, min(cap, base - spread + 2 * spread * random))
    }
}

/// `Retry-After` is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3). The result is
/// clamped to [0, limit] so a hostile or broken server cannot park a batch for a day.
public enum RetryAfter {
    public static func parse(_ value: String?, now: Date, limit: Double = 300) -> Double? {
        guard let v = value?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
        if let secs = Double(v), secs.isFinite {
            return min(max(0, secs), limit)
        }
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = TimeZone(identifier: "GMT")
            f.dateFormat = format
            if let d = f.date(from: v) {
                return min(max(0, d.timeIntervalSince(now)), limit)
            }
        }
        return nil
    }
}
