import Foundation
import LumenfallCore
import Synchronization

/// `--progress live`: on a terminal, a block of rows at the bottom of stderr, redrawn at most 10
/// times a second: one row per id being worked on (queued; generating with its %; downloading
/// with bytes, speed, ETA and the time its link has left), then a footer with the run's totals.
/// Finished ids and messages scroll above the block as one line each. Rows are cut to the
/// terminal's width (read again on SIGWINCH); with more ids than room, the most urgent are shown
/// and a "+N more" row. `stop()` erases the block, so no half-drawn line is left behind.
///
/// One `Mutex` around the screen's state; the timer and the SIGWINCH source only call methods
/// that take it.
final class LiveDisplay: Sendable {
    /// What is on screen and what the next redraw shows.
    struct Screen {
        let color: Bool
        /// The API key's redaction: rows hold server text (statuses, reasons) too.
        let redact: @Sendable (String) -> String
        var rows: [String: Row] = [:]
        var order = 0
        var drawn = 0  // lines of the block now on screen
        var width = 80
        var height = 24
        var stopped = false
        var dirty = true
        let started = DispatchTime.now()
        // Totals for the footer.
        var done = 0
        var failed = 0
        var queuedTotal = 0
        /// Set when the input has been read to its end: the footer's "of N" is then final.
        var inputEnded = false
        var bytes: Int64 = 0
        var cost: [String: Double] = [:]
        var rate = RateWindow()

        mutating func handle(_ e: FetchEvent) {
            switch e {
            case .queued(let id):
                queuedTotal += 1
                order += 1
                rows[id] = Row(id: id, seq: order)
            case .inputEnded:
                inputEnded = true
            case let .status(id, status, progress):
                // Completed and polled: it waits in the queue for a download worker.
                rows[id]?.phase =
                    status == .inProgress ? "generating" : status == .completed ? "ready, waiting for a download slot" : status.text
                rows[id]?.progress = progress
            case let .pollRetry(id, reason, delay):
                rows[id]?.note = "retry in \(Int(delay.rounded(.up))) s: \(reason)"
            case .download(let id, let d):
                update(id, d)
            case let .saved(id, _, n, _, c, currency):
                rows[id] = nil
                done += 1
                bytes += n
                if let c, let currency { cost[currency, default: 0] += c }
            case .alreadySaved(let id, _), .claimedElsewhere(let id, _):
                rows[id] = nil
                done += 1
            case .failed(let id, _):
                rows[id] = nil
                failed += 1
            case .expiryAtRisk(let id, let at, _, _), .linkExpiry(let id, let at):
                rows[id]?.expiresAt = at
            case let .assetSaved(id, name, _, _):
                rows[id]?.note = "\(name) saved"
            case let .assetUnavailable(id, name, _):
                rows[id]?.note = "no \(name) on the server"
            case .apiUnreachable, .apiReachable:
                break  // one plain line above the block says it
            }
            dirty = true
        }

        mutating func update(_ id: String, _ d: DownloadEvent) {
            guard var row = rows[id] else { return }
            defer { rows[id] = row }  // one write: no access to `rows` overlaps another
            let now = DispatchTime.now().uptimeNanoseconds
            switch d {
            case let .started(_, offset, total):
                row.phase = "downloading"
                row.bytes = offset
                row.total = total ?? row.total
                row.note = nil
                row.lastBytes = (offset, now)
            case let .receiving(offset, total):
                row.bytes = offset
                row.total = total
            case let .progress(n, total):
                if let (b, t) = row.lastBytes, now > t, n >= b {
                    row.speed = Double(n - b) / (Double(now - t) / 1e9)
                    rate.add(n - b, at: now)
                }
                row.lastBytes = (n, now)
                row.bytes = n
                row.total = total ?? row.total
            case let .retrying(reason, delay, _):
                row.note = "retry in \(Int(delay.rounded(.up))) s: \(reason)"
            case .refreshingURL:
                row.note = "asking for a fresh link"
            case .restarting(let reason):
                row.note = reason
            case .stateSetAside(_, let reason):
                row.note = "resume record set aside: \(reason)"
            case .segmented(let n):
                row.note = "\(n) connections"
            }
        }

        // MARK: - Drawing

        mutating func readSize() {
            var ws = winsize()
            if ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0 {
                width = Int(ws.ws_col)
                height = max(4, Int(ws.ws_row))
            }
        }

        /// Moves to the block's first line and clears to the end of the screen.
        mutating func erase() -> String {
            defer { drawn = 0 }
            guard drawn > 0 else { return "" }
            return "\r\u{1b}[\(drawn)A\u{1b}[J"
        }

        mutating func block() -> String {
            let now = Date()
            // The most urgent first: downloading, then by the link that dies first, then arrival.
            let sorted = rows.values.sorted { a, b in
                let da = a.phase == "downloading", db = b.phase == "downloading"
                if da != db { return da }
                let ea = a.expiresAt?.timeIntervalSince1970 ?? .infinity
                let eb = b.expiresAt?.timeIntervalSince1970 ?? .infinity
                if ea != eb { return ea < eb }
                return a.seq < b.seq
            }
            let room = max(1, min(height / 2, height - 3))
            var lines: [String] = []
            let shown = sorted.count > room ? Array(sorted.prefix(room - 1)) : sorted
            for r in shown { lines.append(render(r, now: now)) }
            if sorted.count > shown.count { lines.append("  +\(sorted.count - shown.count) more") }
            lines.append(footer())
            drawn = lines.count
            return lines.map { LiveDisplay.fit(redact($0), width: width - 1) + "\n" }.joined()
        }

        /// One row: the id (its tail: ids share their start, `video_`), then what it is doing,
        /// most telling first, as much as the width holds: the percentage, a bar on a wide
        /// terminal, bytes, speed, ETA, the link's time left. A retry's reason takes the place
        /// of speed and ETA (stale while it waits), so it is what gets the room.
        func render(_ r: Row, now: Date) -> String {
            let idWidth = min(30, max(12, width / 4))
            let id = LiveDisplay.tail(TerminalText.safe(r.id), idWidth).padding(toLength: idWidth, withPad: " ", startingAt: 0)
            let room = max(10, width - 1 - 2 - idWidth - 1)
            var parts: [String] = []
            switch r.phase {
            case "generating":
                parts.append("generating\(r.progress.map { " \(Int($0))%" } ?? "")")
            case "downloading":
                if let total = r.total, total > 0 {
                    let fraction = min(1, max(0, Double(r.bytes) / Double(total)))
                    parts.append(String(format: "%3d%%", Int(fraction * 100)))
                    if room >= 70 {
                        let cells = 12
                        let full = Int(fraction * Double(cells))
                        parts.append("[" + String(repeating: "#", count: full) + String(repeating: "-", count: cells - full) + "]")
                    }
                    parts.append("\(formatBytes(r.bytes))/\(formatBytes(total))")
                } else {
                    parts.append(formatBytes(r.bytes))
                }
                if r.note == nil {
                    if let v = r.speed { parts.append("\(formatBytes(Int64(min(v, 1e15))))/s") }
                    if let v = r.speed, v > 0, let total = r.total {
                        parts.append("ETA \(LiveDisplay.duration((Double(total) - Double(r.bytes)) / v))")
                    }
                }
                if let exp = r.expiresAt {
                    let left = exp.timeIntervalSince(now)
                    let eta = r.speed.flatMap { v in v > 0 ? r.total.map { (Double($0) - Double(r.bytes)) / v } : nil }
                    let late = eta.map { now.addingTimeInterval($0) > exp } ?? false
                    let text = left > 0 ? "link \(LiveDisplay.duration(left))" : "link expired"
                    parts.append(late && color ? "\u{1b}[31m\(text)\u{1b}[0m" : late ? "\(text)!" : text)
                }
            default:
                parts.append(TerminalText.safe(r.phase))  // an unknown status is the server's word
            }
            var line = parts.joined(separator: "  ")
            if let n = r.note {
                // The reason is what a person looks for: the rest gives way to it.
                let note = TerminalText.safe(n)
                let keep = max(0, room - note.count - 2)
                line = line.count <= keep ? "\(line)  \(note)" : LiveDisplay.fit(line, width: keep) + "  " + note
            }
            return "  \(id) \(line)"
        }

        /// The run's totals: ids done, failed and active (of how many, "so far" until the input
        /// has ended), bytes saved and in flight, the speed over the last seconds, cost, time.
        func footer() -> String {
            let now = DispatchTime.now().uptimeNanoseconds
            let elapsed = Double(now - started.uptimeNanoseconds) / 1e9
            let costText =
                cost.isEmpty
                ? ""
                : "  " + cost.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.2f", $0.value))" }.joined(separator: ", ")
            let inFlight = rows.values.reduce(Int64(0)) { $0 + ($1.phase == "downloading" ? $1.bytes : 0) }
            let of = inputEnded ? "of \(queuedTotal)" : "of \(queuedTotal) so far"
            let speed = formatBytes(Int64(min(rate.perSecond(now: now), 1e15)))
            let body =
                "\(done) done, \(failed) failed, \(rows.count) active \(of)  \(formatBytes(bytes + inFlight))  \(speed)/s\(costText)  \(LiveDisplay.duration(elapsed))"
            return color ? "\u{1b}[1m\(body)\u{1b}[0m" : body
        }
    }

    struct Row {
        var id: String
        var seq: Int
        var phase = "queued"
        var progress: Double?
        var bytes: Int64 = 0
        var total: Int64?
        var speed: Double?
        var expiresAt: Date?
        var note: String?
        var lastBytes: (Int64, UInt64)?
    }

    /// Bytes per second over the last few seconds, for the footer.
    struct RateWindow {
        var samples: [(UInt64, Int64)] = []
        mutating func add(_ n: Int64, at t: UInt64) {
            samples.append((t, n))
            samples.removeAll { $0.0 + 3_000_000_000 < t }
        }
        func perSecond(now: UInt64) -> Double {
            guard let first = samples.first else { return 0 }
            let span = max(0.5, Double(now > first.0 ? now - first.0 : 0) / 1e9)
            return Double(samples.reduce(0) { $0 + $1.1 }) / span
        }
    }

    private let screen: Mutex<Screen>
    private struct Sources {
        var timer: DispatchSourceTimer?
        var winch: DispatchSourceSignal?
    }
    private let sources = Mutex(Sources())

    init(color: Bool, redact: @escaping @Sendable (String) -> String) {
        var s = Screen(color: color, redact: redact)
        s.readSize()
        screen = Mutex(s)
    }

    func start() {
        signal(SIGWINCH, SIG_IGN)
        // Made inside the lock so the sources go straight into its keeping.
        sources.withLock { held in
            let t = DispatchSource.makeTimerSource(queue: .global())
            t.schedule(deadline: .now() + 0.1, repeating: 0.1)
            // Strong captures: `stop()` cancels both sources, which lets their handlers go.
            t.setEventHandler { [self] in redrawIfDirty() }
            t.resume()
            let w = DispatchSource.makeSignalSource(signal: SIGWINCH, queue: .global())
            w.setEventHandler { [self] in
                screen.withLock { s in
                    s.readSize()
                    s.dirty = true
                }
            }
            w.resume()
            held.timer = t
            held.winch = w
        }
    }

    /// Erases the block and stops drawing; lines printed afterwards go straight to stderr.
    func stop() {
        sources.withLock { held in
            held.timer?.cancel()
            held.winch?.cancel()
        }
        screen.withLock { s in
            guard !s.stopped else { return }
            s.stopped = true
            Self.write(s.erase())
        }
    }

    /// The terminal's width now, for lines that must not wrap.
    var width: Int { screen.withLock { $0.width } }

    /// A `--json` line bound for stdout when stdout is this terminal too: written above the
    /// block like any other line, never into it.
    func scrollOut(_ line: String) {
        screen.withLock { s in
            if s.stopped {
                Console.out(line)
                return
            }
            Self.write(s.erase())
            Console.out(line)
            Self.write(s.block())
        }
    }

    /// A line that stays: printed above the block, which is drawn again under it.
    func scroll(_ line: String) {
        screen.withLock { s in
            if s.stopped {
                Self.write(line + "\n")
                return
            }
            Self.write(s.erase() + line + "\n" + s.block())
        }
    }

    func handle(_ e: FetchEvent) {
        screen.withLock { $0.handle(e) }
    }

    private func redrawIfDirty() {
        screen.withLock { s in
            guard !s.stopped, s.dirty else { return }
            s.dirty = false
            Self.write(s.erase() + s.block())
        }
    }

    private static func write(_ s: String) {
        guard !s.isEmpty else { return }
        Console.err(s)
    }

    // MARK: - Text helpers

    /// `…xyz`: the end of an id, which is where ids differ (they share `video_` and often
    /// a few characters more at the start).
    static func tail(_ s: String, _ n: Int) -> String {
        guard s.count > n, n > 1 else { return s }
        return "…\(s.suffix(n - 1))"
    }

    /// A line broken at spaces into lines of at most `width` visible characters, the later ones
    /// indented; a word longer than a line is cut into pieces.
    static func wrap(_ s: String, width: Int, indent: String = "    ") -> [String] {
        let width = max(indent.count + 8, width)
        guard s.count > width else { return [s] }
        var lines: [String] = []
        var current = ""
        for word in s.split(separator: " ", omittingEmptySubsequences: false).map(String.init) {
            var w = word
            while !w.isEmpty {
                let prefix = current.isEmpty ? (lines.isEmpty ? "" : indent) : current + " "
                if prefix.count + w.count <= width {
                    current = prefix + w
                    w = ""
                } else if current.isEmpty || current == indent {
                    // A word longer than a whole line: as much as fits, the rest on the next.
                    let room = width - prefix.count
                    lines.append(prefix + w.prefix(room))
                    w = String(w.dropFirst(room))
                    current = ""
                } else {
                    lines.append(current)
                    current = ""
                }
            }
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }

    /// `/home/u/vid…/video_abc.mp4`: a line cut in its middle to `width`, for a path.
    static func middle(_ s: String, _ n: Int) -> String {
        guard s.count > n, n > 3 else { return s }
        let head = (n - 1) / 2
        return "\(s.prefix(head))…\(s.suffix(n - 1 - head))"
    }

    /// Cuts a line to `width` visible characters, skipping escape sequences when counting.
    static func fit(_ s: String, width: Int) -> String {
        var out = ""
        var visible = 0
        var inEscape = false
        for ch in s {
            if ch == "\u{1b}" { inEscape = true }
            if inEscape {
                out.append(ch)
                if ch.isLetter && ch != "[" { inEscape = false }
                continue
            }
            if visible >= width { continue }
            out.append(ch)
            visible += 1
        }
        return out.contains("\u{1b}[") && !out.hasSuffix("\u{1b}[0m") ? out + "\u{1b}[0m" : out
    }

    static func duration(_ s: Double) -> String {
        // A hostile total (2^63 bytes) at a crawl makes an ETA no Int holds.
        guard s.isFinite, s >= 0, s < 1e8 else { return "?" }
        let t = Int(s)
        if t < 60 { return "\(t)s" }
        if t < 600 { return "\(t / 60)m\(String(format: "%02d", t % 60))s" }
        if t < 3600 { return "\(t / 60)m" }
        return "\(t / 3600)h\(String(format: "%02d", t / 60 % 60))m"
    }
}
