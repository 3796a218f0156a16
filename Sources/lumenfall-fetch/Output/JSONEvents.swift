import Foundation
import LumenfallCore
import Synchronization

/// `--json`: one JSON object per line on stdout, a stable contract (docs/reference.md, "--json events").
/// Every object starts with `schema` (1), `event`, `time` (RFC 3339, UTC, milliseconds) and,
/// for events about one video, `id`. Every line passes through the key's redaction, and DEL,
/// C1 and bidi controls are escaped, as in `list --json`.
final class JSONEvents: Sendable {
    static let schema = 1
    /// Every event this writes, for `--help` (a test holds it to the documented list).
    static let names = [
        "queued", "input_ended", "status", "download_started", "segmented", "progress", "retry", "restart", "state_set_aside",
        "api_unreachable", "api_reachable", "expiry_at_risk", "asset_saved", "asset_unavailable", "saved", "failed", "expired",
        "claimed_elsewhere", "summary", "archived",
    ]
    let key: APIKey
    /// Where a saved file is, as the destination names it.
    let place: @Sendable (String) -> String
    /// Per id: the last progress sent (bytes, uptime ns), for `speed`.
    private let last = Mutex<[String: (bytes: Int64, at: UInt64)]>([:])

    /// Where a line goes: stdout, or above the live block when stdout is its terminal too.
    let write: @Sendable (String) -> Void

    init(
        key: APIKey, place: @escaping @Sendable (String) -> String,
        write: @escaping @Sendable (String) -> Void = { Console.out($0) }
    ) {
        self.key = key
        self.place = place
        self.write = write
    }

    func handle(_ e: FetchEvent) {
        switch e {
        case .queued(let id):
            emit("queued", id: id, [])
        case .inputEnded(let n):
            emit("input_ended", id: nil, [("ids", n)])
        case .linkExpiry:
            break  // a live display's countdown; the sidecar has expires_at
        case let .status(id, status, progress):
            emit("status", id: id, [("status", status.text), ("progress", progress.map { Int($0) })])
        case let .pollRetry(id, reason, delay):
            emit("retry", id: id, [("stage", "poll"), ("reason", reason), ("delay", rounded(delay))])
        case let .apiUnreachable(reason, limit):
            emit("api_unreachable", id: nil, [("reason", reason), ("waiting_up_to", limit.map { rounded($0) })])
        case .apiReachable(let after):
            emit("api_reachable", id: nil, [("after_seconds", rounded(after))])
        case .download(let id, let d):
            download(id, d)
        case let .saved(id, file, bytes, sha256, cost, currency):
            forget(id)
            emit(
                "saved", id: id,
                [
                    ("path", path(file)), ("bytes", bytes), ("sha256", sha256), ("cost", cost), ("currency", currency),
                    ("already_saved", false),
                ])
        case .alreadySaved(let id, let file):
            emit("saved", id: id, [("path", path(file)), ("already_saved", true)])
        case let .claimedElsewhere(id, holder):
            emit("claimed_elsewhere", id: id, [("holder", holder)])
        case let .assetSaved(id, name, file, bytes):
            emit("asset_saved", id: id, [("asset", name), ("path", path(file)), ("bytes", bytes)])
        case let .assetUnavailable(id, name, reason):
            emit("asset_unavailable", id: id, [("asset", name), ("reason", reason)])
        case let .expiryAtRisk(id, expiresAt, remaining, need):
            emit(
                "expiry_at_risk", id: id,
                [("expires_at", utcString(expiresAt)), ("remaining_bytes", remaining), ("needed_seconds", rounded(need))])
        case .failed(let id, let f):
            forget(id)
            if f.kind == .expired {
                emit("expired", id: id, [("message", f.message)])
            } else {
                emit("failed", id: id, [("kind", Self.kindName(f.kind)), ("message", f.message)])
            }
        }
    }

    private func download(_ id: String, _ d: DownloadEvent) {
        switch d {
        case let .started(host, offset, total):
            emit("download_started", id: id, [("host", host), ("offset", offset), ("total", total)])
        case let .retrying(reason, delay, kept):
            emit("retry", id: id, [("stage", "download"), ("reason", reason), ("delay", rounded(delay)), ("kept", kept)])
        case .refreshingURL(let status):
            emit("retry", id: id, [("stage", "link"), ("reason", "the media link was refused (HTTP \(status))"), ("delay", 0.0)])
        case .restarting(let reason):
            emit("restart", id: id, [("reason", reason)])
        case let .stateSetAside(file, reason):
            emit("state_set_aside", id: id, [("file", file), ("reason", reason)])
        case .segmented(let n):
            emit("segmented", id: id, [("connections", n)])
        case .receiving:
            break  // download_started says it
        case let .progress(bytes, total):
            let now = DispatchTime.now().uptimeNanoseconds
            let speed: Double? = last.withLock { last in
                defer { last[id] = (bytes, now) }
                guard let last = last[id], now > last.at, bytes >= last.bytes else { return nil }
                return Double(bytes - last.bytes) / (Double(now - last.at) / 1e9)
            }
            emit("progress", id: id, [("bytes", bytes), ("total", total), ("speed", speed.map { $0.rounded() })])
        }
    }

    /// The end of a fetch run.
    func summary(_ s: BatchSummary, interrupted: Bool) {
        let cost: [(String, Any?)] = s.cost.sorted { $0.key < $1.key }.map { ($0.key, rounded($0.value, places: 6)) }
        emit(
            "summary", id: nil,
            [
                ("saved", s.saved), ("already_saved", s.alreadySaved), ("failed", s.failed), ("expired", s.expired),
                ("claimed_elsewhere", s.elsewhere), ("interrupted_ids", s.interrupted),
                ("bytes", s.bytes), ("cost", JSONObject(cost)), ("cost_unknown", s.costUnknown),
                ("elapsed", rounded(s.elapsedSeconds)), ("interrupted", interrupted),
            ])
    }

    /// An archive written by `--archive`.
    func archived(paths: [String], members: Int, bytes: Int64) {
        emit("archived", id: nil, [("path", paths.first), ("parts", paths), ("members", members), ("bytes", bytes)])
    }

    /// The failure kinds as the contract spells them (snake_case).
    static func kindName(_ k: FetchFailure.Kind) -> String {
        k.rawValue.replacingOccurrences(of: "ID", with: "Id").reduce(into: "") { out, c in
            if c.isUppercase {
                out += "_" + c.lowercased()
            } else {
                out.append(c)
            }
        }
    }

    private func forget(_ id: String) { last.withLock { _ = $0.removeValue(forKey: id) } }

    private func path(_ file: String) -> String { place(file) }

    private func rounded(_ v: Double, places: Int = 3) -> Double {
        let f = pow(10, Double(places))
        return v.isFinite ? (v * f).rounded() / f : 0
    }

    /// A nested object whose keys keep their order.
    struct JSONObject {
        let fields: [(String, Any?)]
        init(_ f: [(String, Any?)]) { fields = f }
    }

    private func emit(_ event: String, id: String?, _ fields: [(String, Any?)]) {
        var all: [(String, Any?)] = [("schema", Self.schema), ("event", event), ("time", Self.now())]
        if let id { all.append(("id", id)) }
        all += fields
        let line = TerminalText.safeJSON(key.redact(Self.encode(JSONObject(all))))
        // One write per line: lines from concurrent ids never interleave.
        write(line + "\n")
    }

    static func now() -> String {
        let d = Date()
        let ms = Int((d.timeIntervalSince1970 * 1000).truncatingRemainder(dividingBy: 1000))
        let base = utcString(d)
        return "\(base.dropLast()).\(String(format: "%03d", max(0, ms)))Z"
    }

    static func encode(_ value: Any?) -> String {
        switch value {
        case nil: return "null"
        case let o as JSONObject:
            return "{" + o.fields.map { "\(encode($0.0)):\(encode($0.1))" }.joined(separator: ",") + "}"
        case let a as [String]: return "[" + a.map { encode($0) }.joined(separator: ",") + "]"
        case let a as [JSONObject]: return "[" + a.map { encode($0) }.joined(separator: ",") + "]"
        case let b as Bool: return b ? "true" : "false"
        case let i as Int: return "\(i)"
        case let i as Int64: return "\(i)"
        case let d as Double: return d.isFinite ? (d == d.rounded() && abs(d) < 1e15 ? "\(Int64(d))" : "\(d)") : "null"
        case let s as String:
            let data =
                (try? JSONSerialization.data(withJSONObject: s, options: [.fragmentsAllowed, .withoutEscapingSlashes])) ?? Data("\"\"".utf8)
            return String(decoding: data, as: UTF8.self)
        case .some(let other): return encode("\(other)")
        }
    }
}
