import Foundation

/// Formats instants the way every message of this tool shows them: UTC, ISO 8601.
public func utcString(_ date: Date) -> String { DateFormats.shared.utc(date) }

/// The date formatters this tool needs, made once: a formatter is costly to build, and neither
/// Foundation's ISO8601DateFormatter nor DateFormatter is Sendable, so every use holds `lock`
/// (which is what makes the `@unchecked Sendable` sound).
final class DateFormats: @unchecked Sendable {
    static let shared = DateFormats()

    private let lock = NSLock()
    private let iso = ISO8601DateFormatter()
    private let isoDay = ISO8601DateFormatter()
    /// RFC 9110 §5.6.7: IMF-fixdate, then the obsolete RFC 850 and asctime forms.
    private let http: [DateFormatter]

    private init() {
        iso.timeZone = TimeZone(identifier: "UTC")
        iso.formatOptions = [.withInternetDateTime]
        isoDay.formatOptions = [.withFullDate]
        http = ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"].map { format in
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = TimeZone(identifier: "GMT")
            f.dateFormat = format
            return f
        }
    }

    func utc(_ date: Date) -> String { lock.withLock { iso.string(from: date) } }

    /// `2026-11-01T08:00:00Z`, else a bare day `2026-11-01`.
    func parseISO(_ text: String) -> Date? {
        lock.withLock { iso.date(from: text) ?? isoDay.date(from: text) }
    }

    func parseHTTPDate(_ text: String) -> Date? {
        lock.withLock { http.lazy.compactMap { $0.date(from: text) }.first }
    }
}
