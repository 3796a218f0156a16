import Foundation

/// `Retry-After` is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3). The result is
/// clamped to [0, limit] so a hostile or broken server cannot park a batch for a day.
enum RetryAfter {
    static func parse(_ value: String?, now: Date, limit: Double = 300) -> Double? {
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
