import Testing

@testable import LumenfallCore

@Suite struct ResumeDecisionTests {
    let known = ResumeValidator(etag: "\"abc\"", lastModified: "Tue, 01 Dec 2026 00:00:00 GMT", total: 1000)

    @Test func a206ThatStartsWhereTheFileEndsIsAppended() {
        let h = MediaHead(status: 206, contentRange: "bytes 400-999/1000", etag: "\"abc\"")
        #expect(ResumeDecision.decide(h, localSize: 400, known: known) == .write(offset: 400, total: 1000, reason: nil))
    }

    @Test func a206AtTheWrongOffsetIsNeverAppended() {
        let h = MediaHead(status: 206, contentRange: "bytes 0-999/1000", etag: "\"abc\"")
        #expect(ResumeDecision.decide(h, localSize: 400, known: known) == .retry(.resumedElsewhere(at: 0, partEnds: 400), after: nil))
    }

    @Test func a206WithAnotherTotalOrETagProvesThePartStale() {
        let size = MediaHead(status: 206, contentRange: "bytes 400-1199/1200", etag: "\"abc\"")
        let tag = MediaHead(status: 206, contentRange: "bytes 400-999/1000", etag: "\"def\"")
        #expect(ResumeDecision.decide(size, localSize: 400, known: known) == .restart(.sizeChanged(from: 1000, to: 1200)))
        #expect(ResumeDecision.decide(tag, localSize: 400, known: known) == .restart(.etagChanged(from: "\"abc\"", to: "\"def\"")))
    }

    @Test func aFull200ToARangeTruncatesInsteadOfAppending() {
        let h = MediaHead(status: 200, contentLength: 1000)
        #expect(ResumeDecision.decide(h, localSize: 400, known: known) == .write(offset: 0, total: 1000, reason: .wholeFileInsteadOfRest))
        #expect(ResumeDecision.decide(h, localSize: 0, known: nil) == .write(offset: 0, total: 1000, reason: nil))
    }

    @Test func a416IsDoneOnlyWhenTheTotalEqualsTheLocalSize() {
        let h = MediaHead(status: 416, contentRange: "bytes */1000")
        #expect(ResumeDecision.decide(h, localSize: 1000, known: known) == .complete(total: 1000))
        #expect(ResumeDecision.decide(h, localSize: 1500, known: known) == .restart(.partLongerThanServer(part: 1500, server: 1000)))
        // A 416 that proves nothing keeps the part.
        #expect(ResumeDecision.decide(h, localSize: 400, known: known) == .retry(.rangeRefused(at: 400, status: 416), after: nil))
        #expect(
            ResumeDecision.decide(MediaHead(status: 416), localSize: 1000, known: known)
                == .retry(.rangeRefused(at: 1000, status: 416), after: nil))
    }

    @Test func expiredLinksAskForAFreshURL() {
        for s in [401, 403, 404, 410] {
            #expect(ResumeDecision.decide(MediaHead(status: s), localSize: 10, known: known) == .refreshURL(status: s))
        }
    }

    @Test func serverTroubleIsRetriedWithItsRetryAfter() {
        #expect(ResumeDecision.decide(MediaHead(status: 503, retryAfter: 4), localSize: 0, known: nil) == .retry(.status(503), after: 4))
        #expect(ResumeDecision.decide(MediaHead(status: 429), localSize: 0, known: nil) == .retry(.status(429), after: nil))
        #expect(ResumeDecision.decide(MediaHead(status: 400), localSize: 0, known: nil) == .fail(.unexpectedStatus(400)))
        #expect(ResumeDecision.decide(MediaHead(status: 206), localSize: 0, known: nil) == .retry(.noContentRange, after: nil))
    }

    @Test func ifRangeUsesAStrongETagElseTheDate() {
        #expect(known.ifRange == "\"abc\"")
        #expect(ResumeValidator(etag: "W/\"abc\"", lastModified: "d", total: nil).ifRange == "d")
        #expect(ResumeValidator(etag: nil, lastModified: nil, total: nil).ifRange == nil)
    }

    @Test func contentRangeParsing() {
        #expect(ContentRange("bytes 0-9/10") == ContentRange("bytes 0-9/10"))
        #expect(ContentRange("bytes 5-9/10")?.start == 5)
        #expect(ContentRange("bytes 5-9/*")?.total == nil)
        #expect(ContentRange("bytes */10")?.total == 10)
        #expect(ContentRange("bytes 9-5/10") == nil)
        #expect(ContentRange("bytes 5-10/10") == nil)
        #expect(ContentRange("items 0-1/2") == nil)
        #expect(ContentRange("bytes x-1/2") == nil)
    }
}
