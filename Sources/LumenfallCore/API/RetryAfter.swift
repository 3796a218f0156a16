import Foundation

/// `Retry-After` is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3). The result is
/// clamped to [0, limit] so a hostile or broken server cannot park a batch for a day.
enum RetryAfter {
    static func parse(_ value: String?, now: Date, limit: Double = 300) -> Double? {
        guard let v = value?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
        if let secs = Double(v), secs.isFinite {
            return min(max(0, secs), limit)
        }
        if let d = DateFormats.shared.parseHTTPDate(v) {
            return min(max(0, d.timeIntervalSince(now)), limit)
        }
        return nil
    }
}
