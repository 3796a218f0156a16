import Foundation
import Synchronization

/// Formats instants the way every message of this tool shows them: UTC, ISO 8601
/// (`2026-11-26T09:30:00Z`). Built by hand from gmtime_r: a Foundation formatter loads ICU's
/// locale data, megabytes of resident memory a run would pay for one date per saved id.
package func utcString(_ date: Date) -> String {
    var t = time_t(date.timeIntervalSince1970.rounded(.down))
    var parts = tm()
    guard gmtime_r(&t, &parts) != nil else { return "\(date.timeIntervalSince1970)" }
    func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
    let year = Int(parts.tm_year) + 1900
    let y = year >= 0 && year < 1000 ? String(repeating: "0", count: 4 - "\(year)".count) + "\(year)" : "\(year)"
    return "\(y)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
}

/// The date parsers this tool needs, each made on first use (a formatter is costly to build
/// and pulls in ICU's data, so a run that parses no date never pays for it). Neither
/// Foundation's ISO8601DateFormatter nor DateFormatter is Sendable: they live in a `Mutex`
/// and are only used while it is held.
final class DateFormats: Sendable {
    static let shared = DateFormats()

    private struct Made {
        var iso: (ISO8601DateFormatter, ISO8601DateFormatter)?
        /// RFC 9110 §5.6.7: IMF-fixdate, then the obsolete RFC 850 and asctime forms.
        var http: [DateFormatter]?

        mutating func isoPair() -> (ISO8601DateFormatter, ISO8601DateFormatter) {
            if let f = iso { return f }
            let full = ISO8601DateFormatter()
            full.timeZone = TimeZone(identifier: "UTC")
            full.formatOptions = [.withInternetDateTime]
            let day = ISO8601DateFormatter()
            day.formatOptions = [.withFullDate]
            iso = (full, day)
            return (full, day)
        }

        mutating func httpForms() -> [DateFormatter] {
            if let f = http { return f }
            let made = ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"].map { format in
                let f = DateFormatter()
                f.locale = Locale(identifier: "en_US_POSIX")
                f.timeZone = TimeZone(identifier: "GMT")
                f.dateFormat = format
                return f
            }
            http = made
            return made
        }
    }

    private let made = Mutex(Made())

    /// `2026-11-01T08:00:00Z`, else a bare day `2026-11-01`.
    func parseISO(_ text: String) -> Date? {
        made.withLock {
            let (full, day) = $0.isoPair()
            return full.date(from: text) ?? day.date(from: text)
        }
    }

    func parseHTTPDate(_ text: String) -> Date? {
        made.withLock { $0.httpForms().lazy.compactMap { $0.date(from: text) }.first }
    }
}
