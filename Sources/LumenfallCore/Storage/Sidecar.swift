import Foundation

/// `<id>.json` beside the video: the API's video object byte for byte as it came (fields this
/// code does not know, number formats and Unicode included), plus the facts of the download.
/// Written by `render` and read by `read`, both through `Sidecar.Download`.
package enum Sidecar {
    package static let schema = "lumenfall-fetch.sidecar/1"

    /// The `download` member: what this tool adds beside the API's object.
    package struct Download: Codable, Sendable, Equatable {
        package var file: String
        package var bytes: Int64
        package var sha256: String
        package var contentType: String?
        package var mediaHost: String
        package var source: String
        package var downloadedAt: String
        package var tool = "lumenfall-fetch"
        package var toolVersion = lumenfallFetchVersion

        enum CodingKeys: String, CodingKey {
            case file, bytes, sha256, source, tool
            case contentType = "content_type", mediaHost = "media_host", downloadedAt = "downloaded_at"
            case toolVersion = "tool_version"
        }

        init(_ d: DownloadResult, at date: Date) {
            file = d.file.name
            bytes = d.bytes
            sha256 = d.sha256
            contentType = d.contentType
            mediaHost = d.mediaHost
            source = d.source
            downloadedAt = utcString(date)
        }

        package func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(file, forKey: .file)
            try c.encode(bytes, forKey: .bytes)
            try c.encode(sha256, forKey: .sha256)
            try c.encode(contentType, forKey: .contentType)  // null when unknown, never absent
            try c.encode(mediaHost, forKey: .mediaHost)
            try c.encode(source, forKey: .source)
            try c.encode(downloadedAt, forKey: .downloadedAt)
            try c.encode(tool, forKey: .tool)
            try c.encode(toolVersion, forKey: .toolVersion)
        }
    }

    /// An extra file asked for with `--with` (a thumbnail, a spritesheet): its facts once
    /// saved, or why the server had none (a note, not a failure).
    package struct Asset: Codable, Sendable, Equatable {
        package var file: String?
        package var bytes: Int64?
        package var sha256: String?
        package var contentType: String?
        /// Set instead of the facts when the server does not offer this asset.
        package var unavailable: String?

        enum CodingKeys: String, CodingKey {
            case file, bytes, sha256, unavailable
            case contentType = "content_type"
        }

        package static func saved(_ d: DownloadResult) -> Asset {
            Asset(file: d.file.name, bytes: d.bytes, sha256: d.sha256, contentType: d.contentType)
        }

        package static func missing(_ why: String) -> Asset { Asset(unavailable: why) }

        /// Saved facts that name a plain file of ours (`<id>.<something>`), else nil.
        package func savedFile(of id: String) -> (name: String, bytes: Int64, sha256: String)? {
            guard let file, let bytes, let sha256, bytes >= 0, Sidecar.isOwnFile(file, of: id), Sidecar.isSHA256Hex(sha256)
            else { return nil }
            return (file, bytes, sha256)
        }
    }

    /// Whether a file name read from a sidecar is one of this stem's (`<stem>.<something>` in
    /// the same folder: the characters an id may use, or a `--name` stem's sanitised text, at
    /// most 255 bytes): anything else is not acted on.
    package static func isOwnFile(_ name: String, of stem: String) -> Bool {
        name.hasPrefix("\(stem).") && !name.contains("/")
            && (VideoID.problem(with: name) == nil || (name.utf8.count <= 255 && NameTemplate.sanitize(name) == name))
    }

    /// 64 lower-case hex digits: the only SHA-256 we write, and the only one we send on (it
    /// goes into S3 headers).
    package static func isSHA256Hex(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// A sidecar as read back: its download facts, its assets and the video object it embeds.
    package struct Contents: Sendable {
        package var download: Download
        package var assets: [String: Asset]
        package var video: VideoObject
    }

    /// `key`: redacted from the object, for a server that echoes it back (the one change to
    /// the bytes as they came).
    package static func render(
        video: VideoObject, download d: DownloadResult, downloadedAt: Date,
        assets: [String: Asset] = [:], redacting key: APIKey? = nil
    ) -> [UInt8] {
        render(video: video, facts: Download(d, at: downloadedAt), assets: assets, redacting: key)
    }

    /// The same with facts kept from an earlier run (assets added to a saved video).
    package static func render(
        video: VideoObject, facts: Download, assets: [String: Asset], redacting key: APIKey? = nil
    ) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        // Indent each member one level so the file reads as one document.
        func member<T: Encodable>(_ value: T) -> [UInt8] {
            let json = (try? encoder.encode(value)) ?? Data("{}".utf8)
            var out: [UInt8] = []
            out.reserveCapacity(json.count + 64)
            for b in json {
                out.append(b)
                if b == 0x0A { out += [0x20, 0x20] }
            }
            return out
        }
        var out = Array("{\n  \"schema\": \"\(schema)\",\n  \"download\": ".utf8) + member(facts) + Array(",\n".utf8)
        if !assets.isEmpty { out += Array("  \"assets\": ".utf8) + member(assets) + Array(",\n".utf8) }
        out += Array("  \"video\": ".utf8)
        out += key.map { $0.redact(bytes: video.raw) } ?? video.raw
        out += Array("\n}\n".utf8)
        return out
    }

    /// Reads a sidecar's bytes: nil unless it has our schema, download facts that decode, and
    /// a `video` member that is a video object.
    package static func read(_ bytes: [UInt8]) -> Contents? {
        struct Envelope: Decodable {
            var schema: String
            var download: Download
            var assets: [String: Asset]?
        }
        guard let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(bytes)),
            envelope.schema == schema, isSHA256Hex(envelope.download.sha256),
            let obj = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any],
            let videoObject = obj["video"] as? [String: Any],
            let video = try? VideoObject(object: videoObject, raw: [])
        else { return nil }
        return Contents(download: envelope.download, assets: envelope.assets ?? [:], video: video)
    }
}
