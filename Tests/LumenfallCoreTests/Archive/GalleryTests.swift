import Foundation
import Testing

@testable import LumenfallCore

/// The gallery page's pure parts: escaping, links, order and totals (the browser test in
/// Scripts/gallery-browser-test loads a real one in Chromium).
@Suite struct GalleryTests {
    func entry(_ id: String, prompt: String?, created: TimeInterval, cost: Double? = 0.21, thumbnail: Bool = true) -> Gallery.Entry {
        let raw = """
            {"schema":"lumenfall-fetch.sidecar/1","download":{"file":"\(id).mp4","bytes":1000,"sha256":"\(String(repeating: "a", count: 64))","content_type":"video/mp4","media_host":"h","source":"output_url","downloaded_at":"2026-11-26T00:00:00Z","tool":"lumenfall-fetch","tool_version":"0"},
            "video":{"id":"\(id)","object":"video","status":"completed","created_at":\(Int(created)),"completed_at":\(Int(created) + 60),"prompt":\(prompt.map { String(decoding: try! JSONEncoder().encode($0), as: UTF8.self) } ?? "null"),"size":"1280x720","seconds":8,"model":"sora-2"}}
            """
        let item = ArchiveItem(
            id: id, videoFile: "\(id).mp4", videoBytes: 1000, videoSHA256: String(repeating: "a", count: 64),
            sidecarFile: "\(id).json", sidecar: Array(raw.utf8), model: "sora-2", cost: cost, currency: cost == nil ? nil : "USD",
            completedAt: Int64(created) + 60,
            assets: thumbnail ? [.init(name: "thumbnail", file: "\(id).thumbnail.webp", bytes: 10, sha256: "")] : [])
        return Gallery.Entry(item)
    }

    @Test func everyServerStringIsEscaped() {
        let hostile = #"<script>alert(1)</script><img src=x onerror="alert(2)"> & 'q' \#u{202E}gnp.exe \#u{1B}[2J"#
        let page = String(decoding: Gallery.render([entry("video_a", prompt: hostile, created: 1_800_000_000)]), as: UTF8.self)
        #expect(!page.contains("<script"))
        #expect(!page.contains("<img src=x"))
        #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(2)&quot;&gt; &amp; &#39;q&#39;"))
        #expect(!page.contains("\u{202E}") && !page.contains("\u{1B}"), "bidi overrides and controls become U+FFFD")
        #expect(page.contains("\u{FFFD}gnp.exe"))
        // The page itself forbids scripts and the network.
        #expect(page.contains("Content-Security-Policy\" content=\"default-src 'none'"))
        #expect(!page.contains("http://") && !page.contains("https://"))
    }

    @Test func newestFirstWithTotals() {
        let page = String(
            decoding: Gallery.render([
                entry("video_old", prompt: "old", created: 1_800_000_000),
                entry("video_new", prompt: "new", created: 1_800_086_400, cost: nil, thumbnail: false),
                entry("video_mid", prompt: nil, created: 1_800_043_200),
            ]), as: UTF8.self)
        let order = ["video_new", "video_mid", "video_old"].map { page.range(of: "id=\"\($0)\"")!.lowerBound }
        #expect(order == order.sorted())
        #expect(page.contains("3 videos · 2.9 KiB · USD 0.42 (+ 1 with unknown cost) · created 2027-01-15 to 2027-01-16"))
        // No thumbnail: a player that loads only the metadata.
        #expect(page.contains("<video controls preload=\"metadata\" src=\"./video_new.mp4\"></video>"))
        #expect(page.contains("<img src=\"./video_old.thumbnail.webp\""))
        #expect(page.contains("<dt>Seconds</dt><dd>8</dd>"), "a number where the spec has a string is shown plainly")
        #expect(page.contains("<i>no prompt recorded</i>"))
        #expect(page.contains("<time datetime=\"2027-01-15T08:00:00Z\">2027-01-15 08:00:00 UTC</time>"))
    }

    @Test func anEmptyFolderGetsAPageThatSaysSo() {
        let page = String(decoding: Gallery.render([]), as: UTF8.self)
        #expect(page.contains("No saved videos in this folder yet."))
        #expect(page.contains("<title>lumenfall-fetch gallery: 0 videos</title>"))
    }

    @Test func linksStayInsideTheFolder() {
        #expect(Gallery.href("video_a.mp4") == "./video_a.mp4")
        #expect(Gallery.href("a:b c\"<.mp4") == "./a%3Ab%20c%22%3C.mp4")
    }
}
