import CoreMetrics
import Foundation
import Prometheus
import Synchronization

/// What `watch` counts, through swift-metrics: counters, gauges and two histograms under
/// Prometheus's conventions (`_total`, `_seconds`, `_bytes`). By default they go to a
/// Prometheus registry of this watcher's own, rendered by `GET /metrics` (swift-prometheus); an
/// app that embeds the watcher passes its own `MetricsFactory` (its StatsD, OpenTelemetry or
/// shared Prometheus backend) and serves them as it likes.
///
/// The latency histogram (a webhook accepted to its video saved) and the throughput histogram
/// (bytes per second of each saved video's download) need a start time per id: kept under one
/// `Mutex`, bounded by the ids in flight, forgotten when the id ends.
package final class WatchMetrics: Sendable {
    /// The registry `/metrics` renders; nil when the metrics go to a factory given by the caller.
    package let registry: PrometheusCollectorRegistry?
    private let factory: any MetricsFactory
    private let queueDepth: @Sendable () -> Int

    private let received, duplicates, savedIDs, failedIDs, savedBytes, sweeps, sweepsFailed: CoreMetrics.Counter
    private let depth, pendingExpiries, nearestExpiry, lastSweep: CoreMetrics.Gauge
    private let acceptedToSaved: CoreMetrics.Timer
    private let throughput: Recorder

    /// The reasons a delivery or connection is refused: each has its series from the start, so a
    /// dashboard's rate() sees zero before the first one.
    package static let rejectionReasons = [
        "bad_signature", "stale_timestamp", "missing_headers", "bad_timestamp", "malformed_body", "bad_id", "no_secret", "too_large",
        "connection_limit",
    ]

    private struct State {
        var rejected: [String: CoreMetrics.Counter] = [:]
        var expiries: [String: Date] = [:]
        /// When each id's webhook was accepted (uptime ns), until it is saved or ends.
        var accepted: [String: UInt64] = [:]
        /// When each id's download began (uptime ns).
        var downloadStarted: [String: UInt64] = [:]
    }
    private let state = Mutex(State())

    /// Histogram buckets: a webhook's video is usually saved within seconds to minutes (the
    /// job may still be rendering); a download's throughput spans 100 KB/s to 1 GB/s.
    static let latencyBuckets: [Duration] = [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600].map { .seconds($0) }
    static let throughputBuckets: [Double] = [1e5, 3e5, 1e6, 3e6, 1e7, 3e7, 1e8, 3e8, 1e9]

    /// `factory`: where the metrics go; nil makes a Prometheus registry for `/metrics`.
    package init(factory: (any MetricsFactory)? = nil, queueDepth: @escaping @Sendable () -> Int = { 0 }) {
        if let factory {
            registry = nil
            self.factory = factory
        } else {
            let registry = PrometheusCollectorRegistry()
            var prometheus = PrometheusMetricsFactory(registry: registry)
            prometheus.durationHistogramBuckets["lumenfall_webhook_to_saved_seconds"] = Self.latencyBuckets
            prometheus.valueHistogramBuckets["lumenfall_download_throughput_bytes_per_second"] = Self.throughputBuckets
            self.registry = registry
            self.factory = prometheus
        }
        self.queueDepth = queueDepth
        let f = self.factory
        received = CoreMetrics.Counter(label: "lumenfall_webhooks_received_total", factory: f)
        duplicates = CoreMetrics.Counter(label: "lumenfall_webhooks_duplicate_total", factory: f)
        savedIDs = CoreMetrics.Counter(label: "lumenfall_ids_saved_total", factory: f)
        failedIDs = CoreMetrics.Counter(label: "lumenfall_ids_failed_total", factory: f)
        savedBytes = CoreMetrics.Counter(label: "lumenfall_saved_bytes_total", factory: f)
        sweeps = CoreMetrics.Counter(label: "lumenfall_sweeps_total", factory: f)
        sweepsFailed = CoreMetrics.Counter(label: "lumenfall_sweeps_failed_total", factory: f)
        depth = CoreMetrics.Gauge(label: "lumenfall_queue_depth", factory: f)
        pendingExpiries = CoreMetrics.Gauge(label: "lumenfall_pending_expiries", factory: f)
        nearestExpiry = CoreMetrics.Gauge(label: "lumenfall_nearest_expiry_seconds", factory: f)
        lastSweep = CoreMetrics.Gauge(label: "lumenfall_last_sweep_timestamp_seconds", factory: f)
        acceptedToSaved = CoreMetrics.Timer(label: "lumenfall_webhook_to_saved_seconds", factory: f)
        throughput = Recorder(label: "lumenfall_download_throughput_bytes_per_second", factory: f)
        var rejected: [String: CoreMetrics.Counter] = [:]
        for r in Self.rejectionReasons {
            rejected[r] = CoreMetrics.Counter(label: "lumenfall_webhooks_rejected_total", dimensions: [("reason", r)], factory: f)
        }
        state.withLock { $0.rejected = rejected }
        // No link pending: NaN, which no alert threshold matches (0 would read "expiring now").
        nearestExpiry.record(Double.nan)
    }

    private func count(_ counter: CoreMetrics.Counter, _ name: String, by n: Int64 = 1) {
        counter.increment(by: n)
        tally.withLock { $0.counters[name, default: 0] += Double(n) }
    }

    // Counted events.
    func webhookReceived() { count(received, "webhooks_received") }
    func duplicate() { count(duplicates, "webhooks_duplicate") }
    func sweepDone(at now: Date) {
        count(sweeps, "sweeps")
        lastSweep.record(now.timeIntervalSince1970.rounded())
    }
    func sweepFailed() { count(sweepsFailed, "sweeps_failed") }

    func reject(_ reason: String) {
        // A reason outside the list (a future one) still gets its series, created once.
        let counter = state.withLock { s in
            if let c = s.rejected[reason] { return c }
            let c = CoreMetrics.Counter(label: "lumenfall_webhooks_rejected_total", dimensions: [("reason", reason)], factory: factory)
            s.rejected[reason] = c
            return c
        }
        counter.increment()
        tally.withLock { $0.rejected[reason, default: 0] += 1 }
    }

    /// A webhook for `id` was journaled: the latency clock starts (once: a duplicate keeps the first).
    func accepted(_ id: String) {
        let now = DispatchTime.now().uptimeNanoseconds
        state.withLock { s in if s.accepted[id] == nil { s.accepted[id] = now } }
    }

    func downloadStarted(_ id: String) {
        let now = DispatchTime.now().uptimeNanoseconds
        state.withLock { s in if s.downloadStarted[id] == nil { s.downloadStarted[id] = now } }
    }

    func saved(_ id: String, bytes: Int64) {
        let now = DispatchTime.now().uptimeNanoseconds
        let (accepted, started) = state.withLock { s in
            (s.accepted.removeValue(forKey: id), s.downloadStarted.removeValue(forKey: id))
        }
        count(savedIDs, "ids_saved")
        count(savedBytes, "saved_bytes", by: bytes)
        if let accepted, now > accepted { acceptedToSaved.recordNanoseconds(Int64(now - accepted)) }
        if let started, now > started, bytes > 0 { throughput.record(Double(bytes) / (Double(now - started) / 1e9)) }
        forgetExpiry(id)
    }

    /// The id ended without a new video: already saved, failed, or stopped. `triedAgain`: a
    /// failure the watcher retries later, whose webhook's clock keeps running until it is saved
    /// (its next download's throughput is timed afresh).
    func ended(_ id: String, failed isFailure: Bool, triedAgain: Bool = false) {
        state.withLock { s in
            if !triedAgain { s.accepted.removeValue(forKey: id) }
            s.downloadStarted.removeValue(forKey: id)
        }
        if isFailure { count(failedIDs, "ids_failed") }
        forgetExpiry(id)
    }

    func noteExpiry(_ id: String, _ at: Date) { state.withLock { $0.expiries[id] = at } }
    func forgetExpiry(_ id: String) { state.withLock { _ = $0.expiries.removeValue(forKey: id) } }

    /// Plain tallies of what this process counted, for `value` and `rejections` (tests, logs):
    /// a backend given by the caller may not be readable.
    private struct Tally {
        var counters: [String: Double] = [:]
        var rejected: [String: Double] = [:]
    }
    private let tally = Mutex(Tally())

    package func value(_ name: String) -> Double { tally.withLock { $0.counters[name] ?? 0 } }
    package func rejections(_ reason: String) -> Double { tally.withLock { $0.rejected[reason] ?? 0 } }

    /// Brings the gauges read on demand up to date (the queue, the links at risk).
    package func refreshGauges(now: Date = Date()) {
        depth.record(queueDepth())
        let (count, nearest) = state.withLock { s in (s.expiries.count, s.expiries.values.min()) }
        pendingExpiries.record(count)
        nearestExpiry.record(nearest.map { $0.timeIntervalSince(now).rounded() } ?? Double.nan)
    }

    /// The exposition text (format 0.0.4) of this watcher's own registry; empty when the
    /// metrics go to a caller's factory.
    package func render(now: Date = Date()) -> String {
        refreshGauges(now: now)
        return registry?.emitToString() ?? ""
    }
}
