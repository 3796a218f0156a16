import Foundation
import Testing

@testable import LumenfallCore

@Suite struct URLPolicyTests {
    @Test func httpsAnywhereHttpOnlyToLoopback() {
        #expect(URLPolicy.check("https://api.lumenfall.ai/openai/v1") == .allowed)
        #expect(URLPolicy.check("http://127.0.0.1:8080/x") == .allowed)
        #expect(URLPolicy.check("http://127.4.5.6/x") == .allowed)
        #expect(URLPolicy.check("http://localhost/x") == .allowed)
        #expect(URLPolicy.check("http://[::1]:9/x") == .allowed)
        for bad in [
            "http://example.com/x", "http://10.0.0.1/x", "http://127.0.0.1.evil.com/x",
            "file:///etc/passwd", "ftp://host/x", "gopher://h/", "not a url", "https:///nohost",
        ] {
            guard case .refused = URLPolicy.check(bad) else {
                Issue.record("\(bad) must be refused")
                continue
            }
        }
    }

    @Test func hostsAndRedactionDropTheSignedQuery() {
        let u = "https://cdn.example.com:8443/v/x.mp4?X-Amz-Signature=secret&Expires=1"
        #expect(URLPolicy.host(of: u) == "cdn.example.com:8443")
        #expect(URLPolicy.redacted(u) == "https://cdn.example.com:8443/v/x.mp4")
        #expect(URLPolicy.sameOrigin("https://a.com/x", "https://a.com:443/y"))
        #expect(!URLPolicy.sameOrigin("https://a.com/x", "https://b.com/x"))
        #expect(!URLPolicy.sameOrigin("https://a.com/x", "http://a.com/x"))
    }
}
