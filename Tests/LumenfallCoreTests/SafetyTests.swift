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

@Suite struct VideoIDTests {
    @Test func onlySafeIdsPass() {
        #expect(VideoID.problem(with: "video_abc-123.v2") == nil)
        for bad in ["", ".", "..", "../x", "a/b", "a\\b", "with space", "ü", String(repeating: "a", count: 129), "a\u{0}b"] {
            #expect(VideoID.problem(with: bad) != nil, "\(bad) must be refused")
        }
    }

    @Test func idListsSkipBlankLinesAndComments() {
        let text = "# my batch\nvideo_a\n\n  video_b  # second\n#video_c\r\nvideo_d\n"
        #expect(VideoID.parseList(text) == ["video_a", "video_b", "video_d"])
    }
}

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
}

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
}

@Suite struct SidecarTests {
    @Test func embedsTheVideoObjectByteForByte() throws {
        let raw =
            #"{"id":"video_1","status":"completed","prompt":"温泉 \u00e9 🎬","metadata":{"cost_estimate":0.210,"cost_currency":"USD"},"z":1.0}"#
        let v = try VideoObject(json: Array(raw.utf8))
        let d = DownloadResult(
            file: MediaFile(directory: "/tmp", id: "video_1", ext: "mp4"), bytes: 42,
            sha256: String(repeating: "a", count: 64), contentType: "video/mp4",
            mediaHost: "cdn.example.com", source: "output_url", transferred: 42)
        let bytes = Sidecar.render(video: v, download: d, downloadedAt: Date(timeIntervalSince1970: 1_800_000_000))
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains(raw))
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let dl = try #require(obj["download"] as? [String: Any])
        #expect(dl["file"] as? String == "video_1.mp4")
        #expect((dl["bytes"] as? NSNumber)?.intValue == 42)
        #expect(dl["media_host"] as? String == "cdn.example.com")
        #expect(dl["downloaded_at"] as? String == "2027-01-15T08:00:00Z")
        #expect(obj["schema"] as? String == Sidecar.schema)
    }

    @Test func backoffStaysWithinItsBounds() {
        let b = Backoff(initial: 1, cap: 8, factor: 2, jitter: 0.5)
        #expect(b.delay(attempt: 0, random: 0) == 0.5)
        #expect(b.delay(attempt: 0, random: 0.5) == 1)
        #expect(b.delay(attempt: 10, random: 0.99) <= 8)
    }

    @Test func extensionsFollowTheContentType() {
        #expect(MediaFile.ext(forContentType: "video/mp4") == "mp4")
        #expect(MediaFile.ext(forContentType: "video/webm; codecs=vp9") == "webm")
        #expect(MediaFile.ext(forContentType: "application/octet-stream") == "mp4")
        #expect(MediaFile.ext(forContentType: nil) == "mp4")
    }
}

@Suite struct ParsingTests {
    @Test func sinceAcceptsDatesAndAges() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(parseSince("36h", now: now) == now.addingTimeInterval(-36 * 3600))
        #expect(parseSince("7d", now: now) == now.addingTimeInterval(-7 * 86400))
        #expect(parseSince("2027-01-15", now: now) == Date(timeIntervalSince1970: 1_800_000_000 - 8 * 3600))
        #expect(parseSince("2027-01-15T08:00:00Z", now: now) == now)
        #expect(parseSince("soon", now: now) == nil)
        for absurd in ["infd", "nanh", "1e300d", "-3d"] { #expect(parseSince(absurd, now: now) == nil, "\(absurd)") }
    }

    @Test func sizesUseBinaryUnits() {
        #expect(parseSize("2G") == 2 << 30)
        #expect(parseSize("500M") == 500 << 20)
        #expect(parseSize("1.5K") == 1536)
        #expect(parseSize("1024") == 1024)
        #expect(parseSize("2GiB") == 2 << 30)
        #expect(parseSize("0") == nil)
        #expect(parseSize("-1G") == nil)
        #expect(parseSize("lots") == nil)
    }
}
