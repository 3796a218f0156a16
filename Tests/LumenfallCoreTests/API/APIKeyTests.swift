import Foundation
import Testing

@testable import LumenfallCore

@Suite struct APIKeyTests {
    @Test func theKeyNeverShowsInDescriptions() throws {
        let key = try #require(APIKey("lmnfl_supersecret\n"))
        #expect("\(key)" == "<redacted API key>")
        #expect(String(reflecting: key) == "<redacted API key>")
        #expect(key.redact("echo lmnfl_supersecret!") == "echo <redacted API key>!")
        #expect(key.occurs(in: Array("xx lmnfl_supersecret yy".utf8)))
        #expect(!key.occurs(in: Array("lmnfl_supersecre".utf8)))
        #expect(APIKey("two\nlines") == nil)
        #expect(APIKey("   ") == nil)
    }

    @Test func theKeyIsRedactedOnlyWhenItLooksLikeAKey() throws {
        let key = try #require(APIKey("lmnfl_secret/123"))
        #expect(key.redact("got lmnfl_secret/123!") == "got <redacted API key>!")
        let raw = Array("{\"prompt\":\"lmnfl_secret\\/123 and lmnfl_secret/123\"}".utf8)
        let out = key.redact(bytes: raw)
        #expect(!key.occurs(in: out))
        #expect(String(decoding: out, as: UTF8.self) == "{\"prompt\":\"<redacted API key> and <redacted API key>\"}")
        let short = try #require(APIKey("x"))
        #expect(short.looksTooShort)
        #expect(short.redact("0 expired") == "0 expired")
    }
}
