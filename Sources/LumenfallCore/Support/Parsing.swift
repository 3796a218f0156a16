import Foundation

/// `--since`: 2026-11-01, 2026-11-01T08:00:00Z, or an age such as 90m, 36h, 7d.
package func parseSince(_ text: String, now: Date = Date()) -> Date? {
    let t = text.trimmingCharacters(in: .whitespaces)
    if let unit = t.last, let n = Double(t.dropLast()), n.isFinite, n >= 0, n < 1e6,
        let seconds = ["m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0][String(unit)]
    {
        return now.addingTimeInterval(-n * seconds)
    }
    return DateFormats.shared.parseISO(t)
}

/// 500M, 2G, 1.5T, 1024 (bytes); K/M/G/T are powers of 1024. nil for anything else or 0.
package func parseSize(_ text: String) -> Int64? {
    var s = text.trimmingCharacters(in: .whitespaces).uppercased()
    for suffix in ["IB", "B"] where s.hasSuffix(suffix) && s.count > suffix.count { s.removeLast(suffix.count) }
    var factor: Double = 1
    if let unit = s.last, let power = ["K": 1, "M": 2, "G": 3, "T": 4][String(unit)] {
        factor = pow(1024, Double(power))
        s.removeLast()
    }
    guard let v = Double(s), v.isFinite, v > 0, v * factor < 9e18 else { return nil }
    return Int64(v * factor)
}
