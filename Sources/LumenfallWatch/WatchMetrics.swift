import Foundation
import Synchronization

/// Counters and gauges for `GET /metrics`, in the Prometheus text exposition format (0.0.4),
/// written by hand: a dozen lines of text do not need swift-prometheus and its build time.
/// One `Mutex` around the values.
public final class WatchMetrics: Sendable {
    private struct Values {
        var counters: [String: Double] = [:]
        var rejected: [String: Double] = [:]
        var gauges: [String: Double] = [:]
        var expiries: [String: Date] = [:]
    }
    private let values = Mutex(Values())
    private let queueDepth: @Sendable () -> Int

    static let help: [(name: String, type: String, help: String)] = [
        ("webhooks_received", "counter", "Webhook deliveries received on POST /webhooks/lumenfall."),
        ("webhooks_duplicate", "counter", "Deliveries whose webhook-id was seen before (answered 200, not fetched again)."),
        ("ids_saved", "counter", "Videos saved (video and sidecar durable on disk)."),
        ("ids_failed", "counter", "Fetch attempts that ended without a video (retried later unless final)."),
        ("bytes_saved", "counter", "Bytes of the videos saved."),
        ("sweeps", "counter", "Sweeps of the listing that completed."),
        ("sweeps_failed", "counter", "Sweeps that could not list."),
    ]

    public init(queueDepth: @escaping @Sendable () -> Int = { 0 }) { self.queueDepth = queueDepth }

    func count(_ name: String, by n: Double = 1) { values.withLock { $0.counters[name, default: 0] += n } }
    func reject(_ reason: String) { values.withLock { $0.rejected[reason, default: 0] += 1 } }
    func set(_ name: String, _ v: Double) { values.withLock { $0.gauges[name] = v } }
    func noteExpiry(_ id: String, _ at: Date) { values.withLock { $0.expiries[id] = at } }
    func forgetExpiry(_ id: String) { values.withLock { _ = $0.expiries.removeValue(forKey: id) } }

    public func value(_ name: String) -> Double { values.withLock { $0.counters[name] ?? 0 } }
    public func rejections(_ reason: String) -> Double { values.withLock { $0.rejected[reason] ?? 0 } }

    /// The exposition text.
    public func render(now: Date = Date()) -> String {
        let depth = queueDepth()
        return values.withLock { v in
            var out = ""
            func metric(_ name: String, _ type: String, _ help: String, _ lines: [String]) {
                out += "# HELP lumenfall_\(name) \(help)\n# TYPE lumenfall_\(name) \(type)\n"
                for l in lines { out += "lumenfall_\(name)\(l)\n" }
            }
            func number(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v) }
            for (name, type, help) in Self.help {
                metric(name + "_total", type, help, [" " + number(v.counters[name] ?? 0)])
            }
            let reasons = [
                "bad_signature", "stale_timestamp", "missing_headers", "bad_timestamp", "malformed_body", "bad_id", "no_secret",
                "too_large",
            ]
            metric(
                "webhooks_rejected_total", "counter", "Deliveries refused, by reason.",
                (Set(reasons).union(v.rejected.keys)).sorted().map { "{reason=\"\($0)\"} " + number(v.rejected[$0] ?? 0) })
            metric("queue_depth", "gauge", "Ids waiting for the pipeline (not counting those being fetched).", [" \(depth)"])
            metric(
                "pending_expiries", "gauge", "Completed videos polled but not yet saved, whose links can expire.",
                [" \(v.expiries.count)"])
            if let nearest = v.expiries.values.min() {
                metric(
                    "nearest_expiry_seconds", "gauge",
                    "Seconds until the earliest link among videos not yet saved expires (negative: already expired).",
                    [" " + number(nearest.timeIntervalSince(now).rounded())])
            }
            if let t = v.gauges["last_sweep_timestamp_seconds"] {
                metric(
                    "last_sweep_timestamp_seconds", "gauge", "When the last sweep completed (Unix seconds).", [" " + number(t.rounded())])
            }
            return out
        }
    }
}
