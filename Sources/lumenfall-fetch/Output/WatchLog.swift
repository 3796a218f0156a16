import Foundation
import Logging
import LumenfallCore
import LumenfallWatch

/// `watch`'s log lines on stderr: `lumenfall-fetch watch: MESSAGE key=value ...`, or one JSON
/// object a line with `--log-format json` (`time`, `level`, `msg`, then the fields). The API key
/// is redacted from every line; secrets never reach here.
struct WatchLog: Sendable {
    let json: Bool
    let quiet: Bool
    let redact: @Sendable (String) -> String

    func info(_ m: String, _ f: [(String, String)]) { line(.info, m, f) }
    func warning(_ m: String, _ f: [(String, String)]) { line(.warning, m, f) }

    func line(_ level: Watcher.Level, _ message: String, _ fields: [(String, String)]) {
        if quiet && level == .info { return }
        var text: String
        if json {
            var parts = [("time", utcMillis(Date())), ("level", level.rawValue), ("msg", message)] + fields
            parts = parts.map { ($0.0, redact($0.1)) }
            // JSON escapes C0 controls; DEL, C1 and bidi controls are escaped as for list --json.
            text = TerminalText.safeJSON("{" + parts.map { "\(Self.quote($0.0)):\(Self.quote($0.1))" }.joined(separator: ",") + "}")
        } else {
            text = "lumenfall-fetch watch: \(level == .info ? "" : "\(level.rawValue): ")\(message)"
            for (k, v) in fields { text += " \(k)=\(v.contains(" ") ? Self.quote(v) : v)" }
            text = TerminalText.safe(redact(text))
        }
        Console.err((text + "\n"))
    }

    static func quote(_ s: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }

    func utcMillis(_ d: Date) -> String {
        let s = utcString(d)
        let ms = Int((d.timeIntervalSince1970 * 1000).truncatingRemainder(dividingBy: 1000))
        return s.dropLast() + String(format: ".%03dZ", ms)
    }
}

/// swift-log's way into `WatchLog`: what the libraries log through a `Logger` (the fetch
/// pipeline, swift-service-lifecycle's group) comes out in the same format as watch's own lines,
/// JSON with `--log-format json`, redacted the same way. watch's own lines keep calling
/// `WatchLog` directly: their fields are in a fixed order (`msg` first, then what matters most),
/// which swift-log's metadata, a dictionary, would not keep; here fields are sorted by name.
struct WatchLogHandler: LogHandler {
    let log: WatchLog
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        guard event.level >= logLevel else { return }
        var all = metadata
        if let m = event.metadata { all.merge(m) { $1 } }
        let fields = all.sorted { $0.key < $1.key }.map { ($0.key, "\($0.value)") }
        log.line(event.level >= .warning ? .warning : .info, "\(event.message)", fields)
    }
}
