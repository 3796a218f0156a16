import Foundation
import Testing

@testable import LumenfallCurl

final class NullSink: HTTPResponseSink {
    func didReceiveHead(_ head: HTTPResponseHead) -> SinkVerdict { .proceed }
    func didReceiveBody(_ bytes: UnsafeRawBufferPointer) -> SinkVerdict { .proceed }
}

/// The continuation's state machine in Transfer: resumed exactly once, whatever the order of
/// start, cancel and finish.
@Suite struct TransferTests {
    func transfer() -> Transfer { Transfer(request: HTTPRequest(url: "http://127.0.0.1:9/"), sink: NullSink()) }
    let done = HTTPTransferResult(head: HTTPResponseHead(status: 200, headers: []), redirectURL: nil, abortedBySink: false)

    @Test func startThenFinishResumesOnceWithTheResult() async throws {
        let t = transfer()
        let result = try await withCheckedThrowingContinuation { c in
            guard case .enqueue = t.start(c) else {
                Issue.record("a fresh transfer is enqueued")
                return
            }
            t.finish(.success(done))
            t.finish(.failure(CancellationError()))  // too late: ignored
        }
        #expect(result.head?.status == 200)
        #expect(!t.requestCancel(), "a finished transfer needs no cancel")
    }

    @Test func aCancelBeforeStartEndsItAtStart() async {
        let t = transfer()
        #expect(!t.requestCancel(), "nothing is in the loop yet")
        await #expect(throws: CancellationError.self) {
            try await withCheckedThrowingContinuation { c in
                switch t.start(c) {
                case .resume(let c, let r): c.resume(with: r)
                default: Issue.record("a cancelled transfer must not be enqueued")
                }
            }
        }
    }

    @Test func aCancelWhileWaitingIsForTheLoopToFinish() async {
        let t = transfer()
        await #expect(throws: CancellationError.self) {
            try await withCheckedThrowingContinuation { c in
                _ = t.start(c)
                #expect(!t.isCancelled)
                #expect(t.requestCancel())
                #expect(t.isCancelled)
                t.finish(.failure(CancellationError()))
                t.finish(.success(done))  // ignored
            }
        }
    }

    @Test func longOptionsAreClampedNeverTrapped() {
        #expect(Transfer.clamped(.infinity) == Int(Int32.max))
        #expect(Transfer.clamped(.nan) == 1)
        #expect(Transfer.clamped(1e300) == Int(Int32.max))
        #expect(Transfer.clamped(-5) == 1)
        #expect(Transfer.clamped(2500) == 2500)
    }
}
