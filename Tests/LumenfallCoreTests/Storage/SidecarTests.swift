import Foundation
import Testing

@testable import LumenfallCore

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
