import Foundation
import MetricsTestKit
import Testing

@testable import LumenfallWatch

/// `WatchMetrics` through swift-metrics: an app's own backend (here MetricsTestKit's) gets the
/// same counters, gauges and histograms `/metrics` renders from its Prometheus registry.
@Suite struct WatchMetricsTests {
    @Test func anAppsOwnBackendGetsEveryMetric() throws {
        let backend = TestMetrics()
        let m = WatchMetrics(factory: backend, queueDepth: { 3 })
        #expect(m.registry == nil)
        m.webhookReceived()
        m.accepted("video_a")
        m.downloadStarted("video_a")
        m.saved("video_a", bytes: 1000)
        m.ended("video_b", failed: true)
        m.reject("bad_signature")
        m.reject("something_new")
        m.refreshGauges()
        #expect(try backend.expectCounter("lumenfall_webhooks_received_total").totalValue == 1)
        #expect(try backend.expectCounter("lumenfall_ids_saved_total").totalValue == 1)
        #expect(try backend.expectCounter("lumenfall_saved_bytes_total").totalValue == 1000)
        #expect(try backend.expectCounter("lumenfall_ids_failed_total").totalValue == 1)
        #expect(try backend.expectCounter("lumenfall_webhooks_rejected_total", [("reason", "bad_signature")]).totalValue == 1)
        #expect(try backend.expectCounter("lumenfall_webhooks_rejected_total", [("reason", "something_new")]).totalValue == 1)
        #expect(try backend.expectGauge("lumenfall_queue_depth").lastValue == 3)
        #expect(try backend.expectTimer("lumenfall_webhook_to_saved_seconds").values.count == 1)
        #expect(try backend.expectRecorder("lumenfall_download_throughput_bytes_per_second").values.count == 1)
        #expect(m.render().isEmpty, "the app renders its own backend")
    }

    /// A webhook's id that fails and is tried again keeps its clock: the latency is timed from
    /// the webhook to the save that finally came, and a final failure times nothing.
    @Test func aRetriedIdIsTimedFromItsWebhookToItsSave() throws {
        let backend = TestMetrics()
        let m = WatchMetrics(factory: backend)
        m.accepted("video_a")
        m.ended("video_a", failed: true, triedAgain: true)
        m.saved("video_a", bytes: 10)
        m.accepted("video_b")
        m.ended("video_b", failed: true)
        m.saved("video_b", bytes: 10)
        #expect(try backend.expectTimer("lumenfall_webhook_to_saved_seconds").values.count == 1)
    }

    /// The default: a Prometheus registry of the watcher's own, in the text format, histograms
    /// with their buckets, a rejection series per known reason from the start.
    @Test func theDefaultRendersPrometheusText() throws {
        let m = WatchMetrics(queueDepth: { 0 })
        m.accepted("video_a")
        m.saved("video_a", bytes: 5)
        let text = m.render()
        #expect(text.contains("# TYPE lumenfall_webhook_to_saved_seconds histogram"))
        #expect(text.contains(#"lumenfall_webhook_to_saved_seconds_bucket{le="3600.0"} 1"#) || text.contains(#"le="3600""#), "\(text)")
        #expect(text.contains("lumenfall_webhook_to_saved_seconds_count 1"))
        #expect(text.contains(#"lumenfall_webhooks_rejected_total{reason="too_large"} 0"#))
        #expect(text.contains("lumenfall_saved_bytes_total 5"))
        #expect(text.lowercased().contains("lumenfall_nearest_expiry_seconds nan"), "NaN: no link pending")
        #expect(m.value("ids_saved") == 1)
    }
}
