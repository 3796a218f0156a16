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
        guard case .retry = ResumeDecision.decide(h, localSize: 400, known: known) else {
            Issue.record("a misplaced 206 must not be written")
            return
        }
    }

    @Test func a206WithAnotherTotalOrETagProvesThePartStale() {
        let size = MediaHead(status: 206, contentRange: "bytes 400-1199/1200", etag: "\"abc\"")
        let tag = MediaHead(status: 206, contentRange: "bytes 400-999/1000", etag: "\"def\"")
        guard case .restart = ResumeDecision.decide(size, localSize: 400, known: known),
            case .restart = ResumeDecision.decide(tag, localSize: 400, known: known)
        else {
            Issue.record("expected a restart")
            return
        }
    }

    @Test func aFull200ToARangeTruncatesInsteadOfAppending() {
        let h = MediaHead(status: 200, contentLength: 1000)
        guard case .write(0, 1000, let why?) = ResumeDecision.decide(h, localSize: 400, known: known) else {
            Issue.record("a 200 must restart at offset 0")
            return
        }
        #expect(why.contains("starting over"))
    }

    @Test func a416IsDoneOnlyWhenTheTotalEqualsTheLocalSize() {
        let h = MediaHead(status: 416, contentRange: "bytes */1000")
        #expect(ResumeDecision.decide(h, localSize: 1000, known: known) == .complete(total: 1000))
        guard case .restart = ResumeDecision.decide(h, localSize: 1500, known: known) else {
            Issue.record("a part longer than the file is stale")
            return
        }
        guard case .retry = ResumeDecision.decide(h, localSize: 400, known: known),
            case .retry = ResumeDecision.decide(MediaHead(status: 416), localSize: 1000, known: known)
        else {
            Issue.record("a 416 that proves nothing keeps the part")
            return
        }
    }

    @Test func expiredLinksAskForAFreshURL() {
        for s in [401, 403, 404, 410] {
            #expect(ResumeDecision.decide(MediaHead(status: s), localSize: 10, known: known) == .refreshURL(status: s))
        }
    }

    @Test func serverTroubleIsRetriedWithItsRetryAfter() {
        #expect(ResumeDecision.decide(MediaHead(status: 503, retryAfter: 4), localSize: 0, known: nil) == .retry("HTTP 503", after: 4))
        #expect(ResumeDecision.decide(MediaHead(status: 429), localSize: 0, known: nil) == .retry("HTTP 429", after: nil))
        guard case .fail = ResumeDecision.decide(MediaHead(status: 400), localSize: 0, known: nil) else {
            Issue.record("expected a failure")
            return
        }
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
