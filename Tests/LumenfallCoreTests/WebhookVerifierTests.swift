import Foundation
import Testing

@testable import LumenfallWatch

/// Standard Webhooks verification against the specification's published vectors (from the
/// reference libraries' tests in standard-webhooks/standard-webhooks: libraries/go/webhook_test.go
/// and its siblings), and tampered variants of them.
@Suite struct WebhookVerifierTests {
    // The reference libraries' fixed vector.
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    static let id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    static let timestamp: Int64 = 1_614_265_330
    static let body = Array(#"{"test": 2432232314}"#.utf8)
    static let expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    static let at = Date(timeIntervalSince1970: TimeInterval(timestamp))

    var verifier: WebhookVerifier { WebhookVerifier(secrets: [WebhookSecret(Self.secret)!]) }

    func check(
        id: String? = Self.id, ts: String? = String(Self.timestamp), sig: String? = Self.expected, body: [UInt8] = Self.body,
        now: Date = Self.at, verifier: WebhookVerifier? = nil
    ) -> WebhookVerifier.Verdict {
        (verifier ?? self.verifier).verify(id: id, timestamp: ts, signature: sig, body: body, now: now)
    }

    @Test func theReferenceVectorSignsAndVerifies() {
        #expect(
            WebhookVerifier.sign(secret: WebhookSecret(Self.secret)!, id: Self.id, timestamp: Self.timestamp, body: Self.body)
                == Self.expected)
        #expect(check() == .valid)
        // The prefix is optional, as in the reference libraries.
        #expect(check(verifier: WebhookVerifier(secrets: [WebhookSecret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")!])) == .valid)
    }

    @Test func tamperingWithAnyPartFails() {
        #expect(check(body: Array(#"{"test": 2432232315}"#.utf8)) == .badSignature)
        #expect(check(body: Self.body + [0x20]) == .badSignature)
        #expect(check(id: "msg_p5jXN8AQM9LWM0D4loKWxJeK") == .badSignature)
        #expect(check(ts: String(Self.timestamp + 1), now: Self.at) == .badSignature)
        #expect(check(sig: "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=") == .badSignature)
        #expect(check(sig: "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=") == .badSignature, "another scheme is not v1")
        #expect(check(sig: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE") == .badSignature, "truncated")
        #expect(check(sig: "v1,") == .badSignature)
        #expect(
            check(verifier: WebhookVerifier(secrets: [WebhookSecret("whsec_" + Data("other".utf8).base64EncodedString())!]))
                == .badSignature)
    }

    @Test func oneGoodSignatureAmongSeveralIsEnough() {
        let sigs = [
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=", "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=", Self.expected, "garbage",
        ]
        #expect(check(sig: sigs.joined(separator: " ")) == .valid)
    }

    @Test func secretsRotate() {
        let old = WebhookSecret("whsec_" + Data("previous secret".utf8).base64EncodedString())!
        let both = WebhookVerifier(secrets: [old, WebhookSecret(Self.secret)!])
        #expect(check(verifier: both) == .valid)
        #expect(WebhookSecret.list("whsec_" + Data("previous secret".utf8).base64EncodedString() + " " + Self.secret)?.count == 2)
        #expect(WebhookSecret.list("whsec_!!notbase64 " + Self.secret) == nil, "one bad secret in the list is an error, not skipped")
        #expect(WebhookSecret("") == nil && WebhookSecret("whsec_") == nil)
        #expect("\(WebhookSecret(Self.secret)!)" == "whsec_<redacted>")
    }

    @Test func timestampsMoreThanFiveMinutesOffAreRefused() {
        #expect(check(now: Self.at.addingTimeInterval(300)) == .valid)
        #expect(check(now: Self.at.addingTimeInterval(301)) == .stale(301))
        #expect(check(now: Self.at.addingTimeInterval(-301)) == .stale(-301))
        #expect(check(ts: "1614265330.5") == .badTimestamp)
        #expect(check(ts: "-5") == .badTimestamp)
        #expect(check(ts: "99999999999999999999") == .badTimestamp)
        #expect(check(id: nil) == .missingHeaders)
        #expect(check(ts: "") == .missingHeaders)
        #expect(check(sig: nil) == .missingHeaders)
    }
}

@Suite struct WatchJournalTests {
    func tempDir() -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    /// Issue 17: a journal that is there but cannot be read whole is an error that says what
    /// to do, never taken for an empty journal (its pending ids would be lost).
    @Test func aJournalThatCannotBeReadStopsTheStart() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: "\(dir)/\(WatchJournal.folderName)", withIntermediateDirectories: true)
        #expect(mkfifo("\(dir)/\(WatchJournal.folderName)/journal", 0o600) == 0)
        do {
            _ = try WatchJournal(directory: dir)
            Issue.record("a FIFO was taken for a journal")
        } catch let e as WatchJournal.Failure {
            #expect(e.description.contains("move it aside"), "\(e)")
        }
    }

    @Test func acceptedAndUnfinishedIdsSurviveAReopen() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let j = try WatchJournal(directory: dir)
            #expect(try j.accept("video_a"))
            #expect(try j.accept("video_b"))
            #expect(try !j.accept("video_a"), "already pending: nothing written")
            try j.accept("video_c")
            j.finish("video_b", "saved")
            try j.setHighWater(1_795_000_000)
        }
        // A crash mid-line leaves a torn last line: it is skipped.
        let path = "\(dir)/.lumenfall-watch/journal"
        let h = try #require(FileHandle(forWritingAtPath: path))
        h.seekToEndOfFile()
        h.write(Data("+ video_tor".utf8))
        try h.close()
        let j = try WatchJournal(directory: dir)
        #expect(j.pending == ["video_a", "video_c"], "the torn line was never acknowledged")
        #expect(j.highWater == 1_795_000_000)
        j.finish("video_a", "saved")
        #expect(try WatchJournal(directory: dir).pending == ["video_c"], "the line after a torn one reads clean")
    }

    @Test func aLongJournalIsCompactedToWhatIsPending() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let j = try WatchJournal(directory: dir, compactAt: 64 << 10)
        for i in 0..<3000 {
            try j.accept("video_\(i)")
            if i != 7 { j.finish("video_\(i)", "saved") }
        }
        let size = try #require(try FileManager.default.attributesOfItem(atPath: "\(dir)/.lumenfall-watch/journal")[.size] as? Int)
        #expect(size < (64 << 10) + 4096, "\(size)")
        #expect(try WatchJournal(directory: dir).pending == ["video_7"])
    }
}

/// Issue 17: the signature header's size is bounded before any HMAC.
@Suite struct WebhookSignatureBoundsTests {
    let v = WebhookVerifier(secrets: [WebhookSecret(WebhookVerifierTests.secret)!])
    let at = WebhookVerifierTests.at

    @Test func aValidEntryAmongAFewIsFound() {
        let sig = "v1,AAAA v1,\(String(repeating: "A", count: 43))= \(WebhookVerifierTests.expected)"
        #expect(
            v.verify(
                id: WebhookVerifierTests.id, timestamp: "\(WebhookVerifierTests.timestamp)", signature: sig,
                body: WebhookVerifierTests.body, now: at) == .valid)
    }

    @Test func tooManyEntriesOrTooLongAHeaderIsRefusedUnread() {
        let fake = "v1,\(String(repeating: "A", count: 43))="
        let many = Array(repeating: fake, count: WebhookVerifier.maxSignatureEntries) + [WebhookVerifierTests.expected]
        #expect(
            v.verify(
                id: WebhookVerifierTests.id, timestamp: "\(WebhookVerifierTests.timestamp)", signature: many.joined(separator: " "),
                body: WebhookVerifierTests.body, now: at) == .badSignature)
        let long = String(repeating: " ", count: WebhookVerifier.maxSignatureBytes) + WebhookVerifierTests.expected
        #expect(
            v.verify(
                id: WebhookVerifierTests.id, timestamp: "\(WebhookVerifierTests.timestamp)", signature: long,
                body: WebhookVerifierTests.body, now: at) == .badSignature)
    }
}
