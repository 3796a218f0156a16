import Foundation
import LumenfallCore
import LumenfallCurl
import LumenfallSandbox
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
    /// seconds, took up to 6 s longer). The upper bound is generous for a loaded machine.
    @Test func aStallEndsTheTransferWithinASecondOfItsDeadline() async throws {
        try await withSandbox { server in
            let id = server.createJob(
                spec(bytes: 1 << 20) {
                    $0.queuedPolls = 0
                    $0.faults.stallAfterBytes = 512 << 10
                    $0.faults.stallSeconds = 120
                })
            let url = "http://127.0.0.1:\(server.port)/openai/v1/videos/\(id)/content?variant=video"
            let sink = LastByteClock()
            let outcome = await Task {
                try await CurlMulti.shared.perform(
                    HTTPRequest(url: url, headers: ["Authorization: Bearer \(server.apiKey)"], stallTimeout: 2), sink: sink)
            }.result
            let ended = Date()
            guard case .failure(let e as CurlError) = outcome else {
                Issue.record("a stalled body must end the transfer: \(outcome)")
                return
            }
            #expect(e.isTimeout)
            #expect(e.message.contains("no data for 2 s"), "\(e.message)")
            let quiet = ended.timeIntervalSince(try #require(sink.last))
            #expect(quiet >= 1.9 && quiet < 4.5, "ended \(quiet) s after the last byte")
            server.releaseStalls()
        }
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

/// When the last body byte came. `@unchecked Sendable` is sound: libcurl's loop thread writes
/// it during the transfer; the test reads it after `perform` returns.
final class LastByteClock: HTTPResponseSink, @unchecked Sendable {
    var last: Date?
    func didReceiveHead(_ head: HTTPResponseHead) -> SinkVerdict { .proceed }
    func didReceiveBody(_ bytes: UnsafeRawBufferPointer) -> SinkVerdict {
        last = Date()
        return .proceed
    }
}
