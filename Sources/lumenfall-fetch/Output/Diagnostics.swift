import ArgumentParser
import Foundation
import Logging
import LumenfallCore
import Synchronization

/// How lines on stderr are written: for a person, or one JSON object a line for a log collector
/// (journald, Kubernetes, Loki). Every subcommand takes it.
enum LogFormat: String, ExpressibleByArgument, CaseIterable, Sendable { case text, json }

struct LogOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Lines on stderr as text, or json: one object a line (time, level, msg, then fields) for a log collector.",
            valueName: "FORMAT"))
    var logFormat: LogFormat = .text
}

/// Every line this tool writes on stderr for a person goes out here, in the run's format.
/// Text: `lumenfall-fetch: MESSAGE`, as it always was. JSON: `{"time":...,"level":...,"msg":...}`
/// then the fields in their order; a message's leading `error: ` or `warning: ` becomes its
/// level. Callers hand over text already redacted and made safe for a terminal; JSON escapes
/// C0 controls and `TerminalText.safeJSON` the DEL, C1 and bidi controls, as for `--json`.
enum Diagnostics {
    private static let current = Mutex(LogFormat.text)
    static var format: LogFormat { current.withLock { $0 } }
    static func set(_ f: LogFormat) { current.withLock { $0 = f } }

    /// `--log-format` read from the arguments (the config file's defaults included) before they
    /// are parsed, so even a usage error comes out in the asked format. The parser then checks
    /// the value; a bad one is said in text.
    static func preset(from args: [String]) {
        var i = 0
        while i < args.count {
            let a = args[i]
            if a == "--" { return }
            if a == "--log-format", i + 1 < args.count, let f = LogFormat(rawValue: args[i + 1]) { set(f) }
            if a.hasPrefix("--log-format="), let f = LogFormat(rawValue: String(a.dropFirst("--log-format=".count))) { set(f) }
            i += 1
        }
    }

    enum Level: String, Sendable { case debug, info, warning, error }

    /// One line: `message` as a person reads it (it may start with `error: ` or `warning: `).
    static func line(_ message: String, fields: [(String, String)] = []) {
        Console.err(render(message, fields: fields) + "\n")
    }

    static func render(_ message: String, fields: [(String, String)] = [], timestamp: Bool = false) -> String {
        switch format {
        case .text:
            let stamp = timestamp ? utcString(Date()) + " " : ""
            return stamp + "lumenfall-fetch: " + message + fields.map { " \($0.0)=\($0.1)" }.joined()
        case .json:
            var level = Level.info
            var text = Substring(message)
            for l in [Level.error, .warning, .debug] where text.hasPrefix("\(l.rawValue): ") {
                level = l
                text = text.dropFirst(l.rawValue.count + 2)
            }
            return json(level, String(text), fields)
        }
    }

    /// The JSON object of one line: `time` (UTC, milliseconds), `level`, `msg`, then `fields`.
    static func json(_ level: Level, _ message: String, _ fields: [(String, String)]) -> String {
        let parts = [("time", utcMillis(Date())), ("level", level.rawValue), ("msg", message)] + fields
        return TerminalText.safeJSON("{" + parts.map { "\(quote($0.0)):\(quote($0.1))" }.joined(separator: ",") + "}")
    }

    static func quote(_ s: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }

    static func utcMillis(_ d: Date) -> String {
        let s = utcString(d)
        let ms = Int((d.timeIntervalSince1970 * 1000).truncatingRemainder(dividingBy: 1000))
        return s.dropLast() + String(format: ".%03dZ", ms)
    }
}

/// swift-log's way onto stderr for every subcommand: what the libraries log through a `Logger`
/// (the fetch pipeline with `--verbose`, swift-service-lifecycle's group in `watch`) is written
/// by `write` in the run's format, JSON with `--log-format json`. The tool's own lines call
/// `Diagnostics` (or `WatchLog`) directly: their fields are in a fixed order (`msg` first, then
/// what matters most), which swift-log's metadata, a dictionary, would not keep; a library's
/// fields are sorted by name.
struct StderrLogHandler: LogHandler {
    /// Writes one line (level, message, fields), redacted by the writer.
    let write: @Sendable (Diagnostics.Level, String, [(String, String)]) -> Void
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        // `Logger` has already compared the level with `logLevel`.
        var all = metadata
        if let m = event.metadata { all.merge(m) { $1 } }
        let fields = all.sorted { $0.key < $1.key }.map { ($0.key, "\($0.value)") }
        let level: Diagnostics.Level =
            switch event.level {
            case .trace, .debug: .debug
            case .info, .notice: .info
            case .warning: .warning
            case .error, .critical: .error
            }
        write(level, "\(event.message)", fields)
    }
}
