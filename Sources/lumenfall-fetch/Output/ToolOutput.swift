import ArgumentParser
import Foundation
import LumenfallCore
import Synchronization

/// How `archive` and `verify` speak, as `fetch` does: `-q`, `--json`, `--progress`.
struct ToolOutputOptions: ParsableArguments {
    @Flag(name: [.short, .long], help: "Print only errors (and with --json, the events).")
    var quiet = false

    @Flag(help: "Write one JSON object per line on stdout (docs/reference.md lists them); human lines stay on stderr.")
    var json = false

    @Option(
        help: ArgumentHelp(
            "How progress shows on stderr: auto (one line redrawn on a terminal, plain otherwise), live, plain (a line every 10 %), none.",
            valueName: "MODE"))
    var progress: ProgressMode = .auto
}

/// One line of progress for a long pass over bytes (an archive written or checked): redrawn in
/// place on a terminal at most 10 times a second, a plain line at each 10 % elsewhere. `finish`
/// erases the live line so the lines that follow start clean. One `Mutex` around its state.
final class ProgressLine: Sendable {
    private struct State {
        var label = ""
        var done: Int64 = 0
        var total: Int64?
        var lastDraw: UInt64 = 0
        var lastStep = -1
        var drawn = false
        var started = DispatchTime.now().uptimeNanoseconds
    }
    private let state = Mutex(State())
    let mode: ProgressMode

    init(_ options: ToolOutputOptions) {
        let m = options.progress.resolved(
            stderrIsTerminal: isatty(STDERR_FILENO) == 1, term: ProcessInfo.processInfo.environment["TERM"])
        // With --log-format json every line on stderr is an object: no line redrawn in place.
        mode = options.quiet ? .none : m == .live && Diagnostics.format == .json ? .plain : m
    }

    /// A new pass: what it is and how many bytes it will cover (nil: unknown).
    func begin(_ label: String, total: Int64?) {
        state.withLock { s in
            s.label = label
            s.done = 0
            s.total = total
            s.lastStep = -1
            s.started = DispatchTime.now().uptimeNanoseconds
        }
    }

    func add(_ n: Int64) {
        guard mode == .live || mode == .plain else { return }
        state.withLock { s in
            s.done += n
            let now = DispatchTime.now().uptimeNanoseconds
            // Called per chunk: the line is composed only when it is drawn.
            func text() -> String {
                let seconds = Double(now - s.started) / 1e9
                let rate = seconds > 0 ? Double(s.done) / seconds : 0
                let of = s.total.map { t in " of \(formatBytes(t)) (\(t > 0 ? Int(Double(s.done) * 100 / Double(t)) : 100)%)" } ?? ""
                return "\(s.label): \(formatBytes(s.done))\(of), \(formatBytes(Int64(min(rate, 1e15))))/s"
            }
            if mode == .live {
                guard now - s.lastDraw >= 100_000_000 else { return }
                s.lastDraw = now
                s.drawn = true
                Console.err("\r\u{1b}[K" + LiveDisplay.fit(TerminalText.safe(text()), width: 79))
            } else if let t = s.total, t > 0 {
                let step = Int(Double(s.done) * 10 / Double(t))
                guard step > s.lastStep else { return }
                s.lastStep = step
                Diagnostics.line(TerminalText.safe(text()))
            }
        }
    }

    /// Erases the live line, if one is drawn.
    func finish() {
        state.withLock { s in
            if s.drawn { Console.err("\r\u{1b}[K") }
            s.drawn = false
        }
    }
}

/// `--json` for `archive` and `verify`: one object per line on stdout, in the shape fetch's
/// events have (`schema`, `event`, `time`, then the fields).
enum ToolJSON {
    static func emit(_ event: String, _ fields: [(String, Any?)]) {
        let all: [(String, Any?)] = [("schema", JSONEvents.schema), ("event", event), ("time", JSONEvents.now())] + fields
        Console.out(TerminalText.safeJSON(JSONEvents.encode(JSONEvents.JSONObject(all))) + "\n")
    }
}
