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
