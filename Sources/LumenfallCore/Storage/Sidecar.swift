import Foundation

/// `<id>.json` beside the video: the API's video object byte for byte as it came (fields this
/// code does not know, number formats and Unicode included), plus the facts of the download.
public enum Sidecar {
    public static let schema = "lumenfall-fetch.sidecar/1"

    /// `key`: redacted from the object, for a server that echoes it back (the one change to
    /// the bytes as they came).
    public static func render(video: VideoObject, download d: DownloadResult, downloadedAt: Date,
                              redacting key: APIKey? = nil) -> [UInt8] {
        var facts: [String: Any] = [
            "file": d.file.name,
            "bytes": d.bytes,
            "sha256": d.sha256,
            "media_host": d.mediaHost,
            "source": d.source,
            "downloaded_at": utcString(downloadedAt),
            "tool": "lumenfall-fetch",
            "tool_version": lumenfallFetchVersion,
        ]
        facts["content_type"] = d.contentType ?? NSNull()
        let factsJSON = (try? JSONSerialization.data(
            withJSONObject: facts, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        // Indent the facts one level so the file reads as one document.
        let indented = String(decoding: factsJSON, as: UTF8.self).replacingOccurrences(of: "\n", with: "\n  ")
        var out = Array("{\n  \"schema\": \"\(schema)\",\n  \"download\": \(indented),\n  \"video\": ".utf8)
        out += key.map { $0.redact(bytes: video.raw) } ?? video.raw
        out += Array("\n}\n".utf8)
        return out
    }

    /// The video file a complete earlier run left, if its sidecar and its bytes are both there:
    /// such an id needs no request at all. The same test decides what `archive` takes.
    public static func finished(directory: String, id: String) -> (file: String, bytes: Int64)? {
        (try? ArchiveItem.load(directory: directory, id: id)).map { ($0.videoFile, $0.videoBytes) }
    }
}
