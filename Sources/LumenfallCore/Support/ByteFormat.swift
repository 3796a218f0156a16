import Foundation

/// Sizes for people, in binary units: "512 B", "5.7 MiB". Shared by the CLI's lines and the
/// gallery page.
package func formatBytes(_ n: Int64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var v = Double(n)
    var i = 0
    while v >= 1024, i < units.count - 1 {
        v /= 1024
        i += 1
    }
    return i == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[i])
}

/// Durations for people: "0.4 s", "45 s", "12 min", "2 h 5 min", "3 d".
package func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    if seconds < 10 { return seconds == seconds.rounded() ? "\(Int(seconds)) s" : String(format: "%.1f s", seconds) }
    let s = Int(seconds.rounded())
    if s < 120 { return "\(s) s" }
    if s < 7200 { return "\(s / 60) min" }
    if s < 3 * 86400 { return s % 3600 >= 60 ? "\(s / 3600) h \(s % 3600 / 60) min" : "\(s / 3600) h" }
    return "\(s / 86400) d"
}
