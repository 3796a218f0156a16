import Foundation
import LumenfallCore
import LumenfallCurl
import LumenfallSandbox
import Synchronization
import Testing

@Suite(.removesTempDirs) struct TransferControlTests {
    @Test func aPausedTransferResumesWithTheSameBytes() async throws {
        try await withSandbox { server in
            let id = server.createJob(spec(bytes: 300_000) { $0.queuedPolls = 0 })
            let expected = try #require(server.content(for: id)).allBytes()
            let sink = PausingSink()
            let url = "http://127.0.0.1:\(server.port)/openai/v1/videos/\(id)/content?variant=video"
            let result = try await CurlMulti.shared.perform(
                HTTPRequest(url: url, headers: ["Authorization: Bearer \(server.apiKey)"], bufferSize: 16 * 1024), sink: sink)
            #expect(result.head?.status == 200)
            #expect(sink.pauses >= 2)
            #expect(sink.body == expected)
        }
    }

    /// `stallTimeout` counts from the last byte, on the loop: a body that stops after a fast
    /// start ends within a second of the deadline (libcurl's own check, averaging over several
    /// seconds, took up to 6 s longer). Both times are taken by the server, on a thread of its
    /// own: when it sent its last byte and when the client closed the connection. (Taken by the
    /// test's task, the end included however long a loaded run's pool took to resume it: 16 s
    /// once.)
    @Test func aStallEndsTheTransferWithinASecondOfItsDeadline() async throws {
        let (listener, port) = try listenOnLoopback()
        defer { close(listener) }
        let times = ServerClock()
        let server = Thread {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { return }
            defer { close(fd) }
            var buf = [UInt8](repeating: 0, count: 65536)
            _ = recv(fd, &buf, buf.count, 0)  // the request
            let head = Array("HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n".utf8)
            let body = [UInt8](repeating: 7, count: 512 << 10)
            for chunk in [head, body] {
                var sent = 0
                while sent < chunk.count {
                    let n = chunk[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    if n <= 0 { return }
                    sent += n
                }
            }
            times.value.withLock { $0.lastByte = Date() }
            // Silent now: the next thing to come is the client closing (or 60 s at most).
            var pending = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            while poll(&pending, 1, 60_000) == 1, recv(fd, &buf, buf.count, 0) > 0 {}
            times.value.withLock { $0.closed = Date() }
        }
        server.start()
        let outcome = await Task {
            try await CurlMulti.shared.perform(HTTPRequest(url: "http://127.0.0.1:\(port)/stall", stallTimeout: 2), sink: DiscardSink())
        }.result
        guard case .failure(let e as CurlError) = outcome else {
            Issue.record("a stalled body must end the transfer: \(outcome)")
            return
        }
        #expect(e.isTimeout)
        #expect(e.message.contains("no data for 2 s"), "\(e.message)")
        // The server thread has seen the close by now, or sees it at once.
        let deadline = Date().addingTimeInterval(30)
        while times.value.withLock({ $0.closed }) == nil, Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
        let (last, closed) = times.value.withLock { ($0.lastByte, $0.closed) }
        let quiet = try #require(closed).timeIntervalSince(try #require(last))
        // The bytes sent last may sit in the socket buffers a moment before the client reads
        // them, so the stall is counted from a little after `last`.
        #expect(quiet >= 1.9 && quiet < 4.5, "the client closed \(quiet) s after the last byte")
    }

    @Test func aCancelledTransferEndsPromptlyAndOnlyOnce() async throws {
        try await withSandbox { server in
            let id = server.createJob(
                spec(bytes: 1 << 20) {
                    $0.queuedPolls = 0
                    $0.faults.stallAfterBytes = 1000
                    $0.faults.stallTimes = 100
                })
            let url = "http://127.0.0.1:\(server.port)/openai/v1/videos/\(id)/content?variant=video"
            for delayMs in [0, 1, 5, 50] {
                let task = Task {
                    try await CurlMulti.shared.perform(
                        HTTPRequest(url: url, headers: ["Authorization: Bearer \(server.apiKey)"]), sink: HeadRecorder())
                }
                try await Task.sleep(nanoseconds: UInt64(delayMs) * 1_000_000)
                let started = Date()
                task.cancel()
                let outcome = await task.result
                // Within a wake-up of the loop thread. That thread is shared with every other
                // test's transfers, and on a loaded 2-core CI a write(2) of another download's
                // block held it for 3.9 s, then 5.5: the bound catches a cancel that never
                // lands, not the machine's load (the CLI's own promise is its 2 s watchdog).
                #expect(Date().timeIntervalSince(started) < 30)
                #expect(throws: CancellationError.self) { try outcome.get() }
            }
        }
    }
}

/// When a test's raw server sent its last byte and saw the client close, set on its thread.
final class ServerClock: Sendable {
    let value = Mutex<(lastByte: Date?, closed: Date?)>((nil, nil))
}
