import Foundation
import Testing

@testable import LumenfallCore

/// The machines decide with typed reasons; these are the sentences people read for them, made
/// in one place (FailureWording.swift).
@Suite struct FailureWordingTests {
    @Test func attemptReasonsReadAsSentences() {
        #expect(AttemptReason.closedEarly(at: 50, of: 100).sentence == "the connection closed at byte 50 of 100")
        #expect(AttemptReason.rangeRefused(at: 400, status: 416).sentence == "the server refused the range at byte 400 (HTTP 416)")
        #expect(AttemptReason.rangeRefused(at: 400, status: nil).sentence == "the server refused the range at byte 400")
        #expect(
            AttemptReason.segment(first: 0, last: 99, .etagChanged(from: "\"a\"", to: "\"b\"")).sentence
                == "bytes 0-99: the file changed on the server (ETag \"a\" became \"b\")")
        #expect(AttemptReason.transport("Connection reset by peer").sentence == "Connection reset by peer")
    }

    @Test func aDownloadThatGaveUpNamesItsLastReasonAndWhatIsKept() {
        let f = Fetcher.failure(.failed(.gaveUp(attempts: 3, last: .status(503))), kept: 10)
        #expect(f.kind == .download)
        #expect(
            f.message
                == "download failed: gave up after 3 attempts in a row without progress: HTTP 503; the partial file (10 bytes) is kept, run again to resume"
        )
        #expect(
            Fetcher.failure(.failed(.refused(.unexpectedStatus(418), host: "cdn.test"))).message
                == "download failed: the media host answered HTTP 418 (cdn.test); no partial file was kept")
    }

    @Test func pollingThatGaveUpSaysHowOftenAndWhatCameLast() {
        #expect(
            Fetcher.failure(.gaveUp(failures: 3, last: .malformed("html"))).message
                == "gave up polling: 3 malformed answers in a row (last: html)")
        #expect(
            Fetcher.failure(.gaveUp(failures: 4, last: .http(status: 503, code: nil, message: nil, retryAfter: nil))).message
                == "gave up polling: 4 failed attempts in a row (last: HTTP 503)")
        #expect(
            Fetcher.failure(.unusable(.tooLarge(limit: 8 << 20))).message == "gave up polling: the answer is larger than 8 MiB; refusing it"
        )
    }
}
