import Foundation
import Testing

@testable import LumenfallCore

@Suite struct VideoObjectTests {
    @Test func keepsTheRawBytesAndReadsWhatItActsOn() throws {
        let json =
            #"{"id":"video_1","status":"completed","progress":100,"output":{"url":"https://m/x.mp4?sig=1"},"expires_at":1800000000,"completed_at":1799999000,"prompt":"温泉 🎬","new_field":{"a":[1,2]}}"#
        let v = try VideoObject(json: Array(json.utf8))
        #expect(v.raw == Array(json.utf8))
        #expect(v.status == .completed)
        #expect(v.outputURL == "https://m/x.mp4?sig=1")
        #expect(v.expiresAt == Date(timeIntervalSince1970: 1_800_000_000))
    }

    @Test func absurdOrMissingExpiryMeansUnknown() throws {
        for value in ["null", "0", "-5", "1e30", "\"tomorrow\"", "99999999999999"] {
            let v = try VideoObject(json: Array("{\"id\":\"v\",\"status\":\"completed\",\"expires_at\":\(value)}".utf8))
            #expect(v.expiresAt == nil, "expires_at \(value)")
        }
        let missing = try VideoObject(json: Array("{\"id\":\"v\",\"status\":\"completed\"}".utf8))
        #expect(missing.expiresAt == nil)
    }

    @Test func notAVideoIsAParseError() {
        #expect(throws: VideoObject.ParseError.notJSON) { try VideoObject(json: Array("<html>".utf8)) }
        #expect(throws: VideoObject.ParseError.notAVideoObject("no \"status\" field")) {
            try VideoObject(json: Array("{\"id\":\"v\"}".utf8))
        }
    }

    @Test func aBOMIsDroppedAndUTF16IsRefusedClearly() throws {
        let bom = try VideoObject(json: [0xEF, 0xBB, 0xBF] + Array(Mutator.base.utf8))
        #expect(bom.raw.first == UInt8(ascii: "{"))
        #expect(String(validating: bom.raw, as: UTF8.self) != nil)
        let utf16 = Array(Mutator.base.data(using: .utf16)!)
        #expect(throws: VideoObject.ParseError.notUTF8("the answer is JSON in UTF-16 or UTF-32; only UTF-8 is accepted")) {
            try VideoObject(json: utf16)
        }
        #expect(throws: VideoObject.ParseError.self) { try VideoObject(json: Array(Mutator.base.utf8) + [0xFF]) }
    }
}
