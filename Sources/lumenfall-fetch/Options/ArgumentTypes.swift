import ArgumentParser
import Foundation
import LumenfallCore

/// `--since`: 2026-11-01, 2026-11-01T08:00:00Z, or an age such as 90m, 36h, 7d, 2w; parsed once,
/// against the clock at start.
struct Since: ExpressibleByArgument, Sendable {
    let date: Date
    init?(argument: String) {
        guard let d = parseSince(argument) else { return nil }
        date = d
    }
}

/// A size or a rate in bytes: 1024, 500K, 2G, 1.5T (binary units).
struct ByteCount: ExpressibleByArgument, Sendable {
    let bytes: Int64
    init(bytes: Int64) { self.bytes = bytes }
    init?(argument: String) {
        guard let b = parseSize(argument) else { return nil }
        bytes = b
    }
    /// In the largest binary unit that divides it: 8388608 shows as `8M`.
    var defaultValueDescription: String {
        for (unit, size) in [("T", Int64(1) << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)] where bytes >= size && bytes % size == 0
        {
            return "\(bytes / size)\(unit)"
        }
        return "\(bytes)"
    }
}

/// A duration in seconds, decimals allowed, at most a year: a value like 1e300, nan or inf is
/// refused here, as bad usage, rather than trap a conversion later.
struct Seconds: ExpressibleByArgument, Sendable {
    static let max = 366.0 * 86400
    let value: Double
    init(_ value: Double) { self.value = value }
    init?(argument: String) {
        guard let v = Double(argument), v.isFinite, v >= 0, v <= Self.max else { return nil }
        value = v
    }
    var defaultValueDescription: String { String(format: "%g", value) }
}

/// `list --status`: one of the statuses the API documents; anything else is a usage error that
/// lists these.
enum StatusFilter: String, ExpressibleByArgument, CaseIterable, Sendable {
    case queued, inProgress = "in_progress", completed, failed, cancelled
}

/// Seconds, or `30s`, `10m`, `2h`, `1d`; `off` (or 0) is nil: watch's --sweep, --archive-every,
/// fetch's --claim-ttl.
struct Interval: ExpressibleByArgument, Sendable {
    let seconds: Double?
    init(_ s: Double?) { seconds = s }
    init?(argument: String) {
        if argument == "off" || argument == "0" {
            seconds = nil
            return
        }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        var text = argument
        var unit = 1.0
        if let last = text.last, let u = units[last] {
            unit = u
            text.removeLast()
        }
        guard let v = Double(text), v.isFinite, v > 0, v * unit <= 366 * 86_400 else { return nil }
        seconds = v * unit
    }
    /// In the largest unit that divides it: 3600 shows as `1h`, 1800 as `30m`.
    var defaultValueDescription: String {
        guard let s = seconds else { return "off" }
        for (unit, size) in [("d", 86_400.0), ("h", 3600), ("m", 60)] where s >= size && s.truncatingRemainder(dividingBy: size) == 0 {
            return String(format: "%g%@", s / size, unit)
        }
        return String(format: "%gs", s)
    }
}
