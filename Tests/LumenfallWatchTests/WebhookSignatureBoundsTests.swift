import Foundation
import Testing

@testable import LumenfallWatch

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
