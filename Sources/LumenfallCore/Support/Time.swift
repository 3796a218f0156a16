import Foundation

/// Formats instants the way every message of this tool shows them: UTC, ISO 8601.
public func utcString(_ date: Date) -> String {
    let f = ISO8601DateFormatter()
    f.timeZone = TimeZone(identifier: "UTC")
    f.formatOptions = [.withInternetDateTime]
    return f.string(from: date)
}
