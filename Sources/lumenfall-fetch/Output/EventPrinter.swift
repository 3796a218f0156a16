import Foundation
import Logging
import LumenfallCore
import Synchronization

/// Plain progress on stderr: one line per state change per id. Every line passes through the
/// key's redaction, so even a server that echoes the key cannot make us print it. stdout gets
/// the path of each video on disk as its id finishes (saved now or before), for scripts.
final class EventPrinter: Sendable {
    let quiet: Bool
    let key: APIKey
    /// Where a saved file is, as the destination names it.
    let place: @Sendable (String) -> String
    /// Held while a line is written, so lines from several threads never interleave.
    private let output = Mutex(())
    /// False with --json: stdout then carries the events, and nothing else.
    let pathsOnStdout: Bool
    /// `--progress live`: lines scroll above the live block, which shows the state changes.
    let live: LiveDisplay?
    /// `--progress plain`: a line per download every 10 % or 30 s.
    let plainProgress: Bool
    /// `--timestamps`: each plain line starts with the UTC time.
    let timestamps: Bool
    /// Per id: the last 10 % step and the time of the last progress line.
    private let milestones = Mutex<[String: (step: Int, at: UInt64)]>([:])

    init(
        quiet: Bool, key: APIKey, place: @escaping @Sendable (String) -> String = { $0 }, pathsOnStdout: Bool = true,
        live: LiveDisplay? = nil, plainProgress: Bool = false, timestamps: Bool = false
    ) {
        self.timestamps = timestamps
        self.quiet = quiet
        self.pathsOnStdout = pathsOnStdout
        self.key = key
        self.place = place
        self.live = live
        self.plainProgress = plainProgress
    }

    /// An id as a message shows it: valid ids are at most 128 characters, but an invalid one
    /// from an id file may be a whole megabyte, shortened here to its start and its length.
    static func shown(_ id: String) -> String {
        id.count <= 160 ? id : "\(id.prefix(80))… (\(id.count) characters)"
    }

    /// A saved video's path on stdout (the file name is ours: id + extension).
    private func path(_ file: String) {
        let p = place(file)
        output.withLock { _ in Swift.print(TerminalText.safe(p)) }
    }

    /// Every line this tool prints about a run comes here: the key is redacted and control
    /// characters from servers (ids, messages, hosts) are made visible, never obeyed.
    func line(_ s: String, fields: [(String, String)] = []) {
        let safe = TerminalText.safe(key.redact(s))
        let safeFields = fields.map { ($0.0, TerminalText.safe(key.redact($0.1))) }
        guard let live else {
            // `--log-format json`: the same line as an object (`--timestamps` is its `time`).
            let text = Diagnostics.render(safe, fields: safeFields, timestamp: timestamps)
            output.withLock { _ in Console.err("\(text)\n") }
            return
        }
        // On the terminal a long line is broken at spaces by us, indented, never by the
        // terminal's wrap (which the block's redraw cannot count).
        let text = "lumenfall-fetch: " + safe + safeFields.map { " \($0.0)=\($0.1)" }.joined()
        live.scroll(LiveDisplay.wrap(text, width: live.width - 1).joined(separator: "\n"))
    }

    func print(_ e: FetchEvent) {
        live?.handle(e)
        switch e {
        case .saved(let id, let file, _, _, _, _), .alreadySaved(let id, let file):
            milestones.withLock { _ = $0.removeValue(forKey: id) }  // bounded by the work in flight
            if pathsOnStdout { path(file) }
            if !quiet { line(live.map { compact(e, width: $0.width) } ?? describe(e)) }
        case .failed(let id, let f):
            milestones.withLock { _ = $0.removeValue(forKey: id) }
            // An interrupted id is not a failure: the summary counts them, one line says what is kept.
            // (nor is the id that found the API gone: the run's own error says that once).
            if f.kind != .stopped && f.kind != .apiUnreachable { line("\(Self.shown(id)): \(f.message)") }
        case .expiryAtRisk:
            line(describe(e))  // a warning: shown even with --quiet
        case .apiUnreachable, .apiReachable:
            if !quiet { line(describe(e)) }  // one line for the run, above the live rows
        case .queued, .inputEnded, .linkExpiry, .download(_, .receiving):
            break  // "downloading from" / "resuming at" already said it; the rest is the live display's
        case let .download(id, .progress(bytes, total)):
            if plainProgress, !quiet, live == nil, let text = milestone(id, bytes: bytes, total: total) { line(text) }
        default:
            guard !quiet, live == nil else { return }  // the live rows show state changes
            line(describe(e))
        }
    }

    /// A saved id as one line that fits the live display's terminal: the id, the file's name
    /// (not its folder, said once by -o) and its size; the sha256 is in the sidecar.
    private func compact(_ e: FetchEvent, width: Int) -> String {
        let text: String
        switch e {
        case let .saved(id, file, bytes, _, _, _):
            text = "\(id): saved \((file as NSString).lastPathComponent) (\(formatBytes(bytes)))"
        case let .alreadySaved(id, file):
            text = "\(id): already saved as \((file as NSString).lastPathComponent)"
        default:
            text = describe(e)
        }
        return LiveDisplay.middle(text, max(20, width - 1 - "lumenfall-fetch: ".count))
    }

    /// A plain progress line when a download passes a 10 % step, or 30 s after the last one.
    private func milestone(_ id: String, bytes: Int64, total: Int64?) -> String? {
        let now = DispatchTime.now().uptimeNanoseconds
        let step = total.map { $0 > 0 ? Int(bytes * 10 / $0) : 0 } ?? 0
        let due: Bool = milestones.withLock { m in
            let last = m[id] ?? (0, now)
            if m[id] == nil { m[id] = last }
            guard step > last.step || now - last.at >= 30_000_000_000 else { return false }
            m[id] = (max(step, last.step), now)
            return true
        }
        guard due else { return nil }
        let of = total.map { " of \(formatBytes($0)) (\(Int(bytes * 100 / max(1, $0)))%)" } ?? ""
        return "\(Self.shown(id)): \(formatBytes(bytes))\(of)"
    }

    private func describe(_ e: FetchEvent) -> String {
        switch e {
        case .queued(let id):
            return "\(id): queued"
        case .inputEnded(let n):
            return "all \(n) ids are in the run"
        case let .linkExpiry(id, at):
            return "\(id): its link expires at \(utcString(at))"
        case .alreadySaved(let id, let file):
            return "\(id): already saved as \(file); nothing to do"
        case let .claimedElsewhere(id, holder):
            return "\(id): claimed by \(holder); left to that worker"
        case .status(let id, let status, let progress):
            if let p = progress, status == .inProgress { return "\(id): \(status.text) \(Int(p))%" }
            return "\(id): \(status.text)"
        case .pollRetry(let id, let reason, let delay):
            return "\(id): \(reason); polling again in \(String(format: "%.1f", delay)) s"
        case let .apiUnreachable(reason, limit):
            let upTo = limit.map { " for up to \(formatDuration($0))" } ?? ""
            return "the API cannot be reached (\(reason)); every id waits for it\(upTo)"
        case .apiReachable(let after):
            return "the API answers again after \(formatDuration(after)); polling goes on"
        case .download(let id, let d):
            switch d {
            case let .started(host, offset, total):
                let size = total.map { " of \(formatBytes($0))" } ?? ""
                return offset > 0
                    ? "\(id): resuming from \(host) at byte \(offset)\(size)"
                    : "\(id): downloading from \(host)"
            case let .retrying(reason, delay, kept):
                let partial = kept > 0 ? " (partial file of \(formatBytes(kept)) kept)" : ""
                return "\(id): \(reason); retrying in \(String(format: "%.1f", delay)) s\(partial)"
            case .refreshingURL(let status):
                return "\(id): the media link was refused (HTTP \(status)); asking the API for a fresh one"
            case .restarting(let reason):
                return "\(id): \(reason)"
            case let .stateSetAside(file, reason):
                return
                    "\(id): warning: the resume record was not used (\(reason)); set aside as \(file), the partial file resumes without it"
            case .segmented(let n):
                return "\(id): \(n) connection\(n == 1 ? "" : "s") at once, each on its own range"
            case let .progress(bytes, total):
                return "\(id): \(formatBytes(bytes))\(total.map { " of \(formatBytes($0))" } ?? "")"
            case .receiving(let offset, let total):
                return "\(id): receiving \(total.map { formatBytes($0 - offset) } ?? "the rest")"
            }
        case let .expiryAtRisk(id, expiresAt, remaining, need):
            return
                "\(id): warning: at the speed seen so far the remaining \(formatBytes(remaining)) need about \(Checked.wholeSeconds(need)) s, but the link expires at \(utcString(expiresAt)); it is fetched first among those waiting, and a fresh link is asked for if it expires"
        case let .saved(id, file, bytes, sha, _, _):
            return "\(id): saved \(file) (\(formatBytes(bytes)), sha256 \(sha.prefix(16))…)"
        case let .assetSaved(id, name, file, bytes):
            return "\(id): saved its \(name) as \(file) (\(formatBytes(bytes)))"
        case let .assetUnavailable(id, name, reason):
            return "\(id): note: the server has no \(name) for this video (\(reason)); noted in the sidecar, not an error"
        case .failed(let id, let f):
            return "\(id): \(f.message)"
        }
    }

    /// Before the totals: the ids not saved (failed, expired, interrupted), one row each with
    /// the reason; the saved ones were each said as they were saved. At most the tally's first
    /// `BatchTally.keptFailures`.
    func closingTable(_ t: BatchTally) {
        guard !quiet, !t.failures.isEmpty else { return }
        let all = t.failed + t.expired + t.interrupted
        line("not saved\(all > t.failures.count ? " (the first \(t.failures.count) of \(all))" : ""):")
        let rows = t.failures.map { (id, f) -> (String, String, String) in
            let status: String =
                switch f.kind {
                case .expired: "expired"
                case .stopped, .apiUnreachable: "interrupted"
                default: "failed"
                }
            // The id that found the API gone: the run's error below says why, once.
            let why = f.kind == .apiUnreachable ? "not finished: the run stopped because the API could not be reached" : f.message
            return (Self.shown(id), status, why)
        }
        let idWidth = rows.map(\.0.count).max() ?? 0
        let statusWidth = rows.map(\.1.count).max() ?? 0
        for r in rows {
            let row =
                "  \(r.0.padding(toLength: idWidth, withPad: " ", startingAt: 0))  \(r.1.padding(toLength: statusWidth, withPad: " ", startingAt: 0))  \(r.2)"
            // On a terminal a row fits its width: each reason was said in full when it happened.
            line(live.map { LiveDisplay.fit(row, width: max(30, $0.width - 1 - "lumenfall-fetch: ".count)) } ?? row)
        }
    }

    func summary(_ s: BatchSummary) {
        var cost =
            s.cost.isEmpty
            ? "no cost reported"
            : "cost " + s.cost.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.2f", $0.value))" }.joined(separator: ", ")
        if s.costUnknown > 0, !s.cost.isEmpty { cost += " (+ \(s.costUnknown) with unknown cost)" }
        line(
            "done: \(s.saved) saved, \(s.alreadySaved) already saved, \(s.failed) failed, \(s.expired) expired"
                + (s.interrupted > 0 ? ", \(s.interrupted) interrupted" : "")
                + (s.elsewhere > 0 ? ", \(s.elsewhere) claimed by other workers; " : "; ")
                + "\(formatBytes(s.bytes)) on disk; \(cost); \(String(format: "%.1f", s.elapsedSeconds)) s")
    }
}
