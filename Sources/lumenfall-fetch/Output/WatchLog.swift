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
            // The same object as every subcommand's --log-format json (Diagnostics).
            text = Diagnostics.json(
                Diagnostics.Level(rawValue: level.rawValue) ?? .warning, redact(message), fields.map { ($0.0, redact($0.1)) })
        } else {
            text = "lumenfall-fetch watch: \(level == .info ? "" : "\(level.rawValue): ")\(message)"
            for (k, v) in fields { text += " \(k)=\(v.contains(" ") ? Diagnostics.quote(v) : v)" }
            text = TerminalText.safe(redact(text))
        }
        Console.err((text + "\n"))
    }
}
