import Foundation
import LumenfallCurl
import Testing

/// A command's own libcurl loop (issue 18): `shutdown()` ends a transfer in flight with
/// `CancellationError`, and a request handed in afterwards ends the same way at once, without
/// touching the freed handle.
@Suite struct CurlMultiShutdownTests {
    @Test func shutdownEndsATransferInFlightAndRefusesNewOnes() async throws {
        // A listener that never answers: the request waits until the loop is shut down.
        let (fd, port) = try listenOnLoopback()
        defer { close(fd) }
        let curl = CurlMulti()
        let request = HTTPRequest(url: "http://127.0.0.1:\(port)/never", stallTimeout: 60, totalTimeout: 60)
        let waiting = Task { try await curl.perform(request, sink: DiscardSink()) }
        // The transfer is in the loop once the listener holds its connection.
        let deadline = Date().addingTimeInterval(20)
        var pending = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        // Looked at without blocking, between sleeps: a blocking poll here held one of the
        // cooperative pool's two threads, which every other test needs.
        while poll(&pending, 1, 0) == 0, Date() < deadline { try await Task.sleep(nanoseconds: 50_000_000) }
        #expect(pending.revents & Int16(POLLIN) != 0, "the request never connected")
        let asked = Date()
        curl.shutdown()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        // Without the shutdown the transfer would end at its 60 s stall timeout; the bound leaves
        // room for a test run whose pool is busy (13 s once in CI).
        #expect(Date().timeIntervalSince(asked) < 30, "shutdown took \(Date().timeIntervalSince(asked)) s")
        await #expect(throws: CancellationError.self) { try await curl.perform(request, sink: DiscardSink()) }
    }
}
