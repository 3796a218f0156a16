import Foundation
import LumenfallCurl
import Synchronization

/// `-o s3://bucket/prefix/`: after an id is saved in the work folder (video, previews,
/// sidecar, durable), its files go up as objects and the local copies go. Each upload carries
/// the SHA-256 computed while downloading (`x-amz-checksum-sha256`, `x-amz-meta-sha256`) and is
/// proved afterwards (`S3Client.prove`: the store's checksum, an ETag that is the bytes' MD5, or
/// a read-back); an object already there is not sent again only when the same proof holds
/// (its `x-amz-meta-sha256` is set by whoever wrote it and proves nothing). Local copies are
/// deleted only after every object is proved. The sidecar goes last, with a `storage` member
/// (each object's URL, ETag and checksum): a rerun takes the id as stored when that
/// sidecar names a plain file of this id and the video object's HEAD agrees with it.
public struct S3Destination: Destination {
    public let client: S3Client
    /// A claim older than this may be taken over (its worker died or gave up).
    public var claimTTL: TimeInterval
    /// Who we are in a claim: host and pid.
    public let worker: String
    private let claimed = ClaimedIDs()
    /// With `fetch --archive`: the proved uploads leave their files in the work folder, for the
    /// archive that is written from it after the batch (which then removes them).
    public var keepLocalCopies = false

    public init(client: S3Client, claimTTL: TimeInterval = 3600) {
        self.client = client
        self.claimTTL = claimTTL
        worker = "\(ProcessInfo.processInfo.hostName):\(getpid())"
    }

    /// The ids this worker holds claims on (a class, so copies of the struct share it).
    final class ClaimedIDs: Sendable {
        let ids = Mutex(Set<String>())
    }

    public var description: String { "\(location)" }

    /// Claims the id by creating `prefix/.claims/<id>` with `If-None-Match: *`: a 412 means another
    /// worker has it, unless its claim is older than `claimTTL`, in which case it is taken over
    /// (deleted, then created again: of two workers taking over at once, one wins the create).
    public func claim(_ id: String) async throws -> DestinationClaim { try await claim(id, now: Date()) }

    public func claim(_ id: String, now: Date) async throws -> DestinationClaim {
        let key = location.key(".claims/\(id)")
        let body = Array(#"{"worker":"\#(worker)","claimed_at":\#(Int64(now.timeIntervalSince1970))}"#.utf8)
        for attempt in 0..<2 {
            if try await client.putIfAbsent(key, body) {
                claimed.ids.withLock { _ = $0.insert(id) }
                return .ours
            }
            let sink = BufferSink(limit: 64 << 10)
            let status = try await client.get(key, into: sink)
            if status == 404, attempt == 0 { continue }  // released meanwhile: try again
            let obj = (try? JSONSerialization.jsonObject(with: Data(sink.bytes))) as? [String: Any]
            let holder = TerminalText.safe((obj?["worker"] as? String).map { String($0.prefix(200)) } ?? "another worker")
            let at = Checked.double(obj?["claimed_at"]) ?? 0
            guard attempt == 0, now.timeIntervalSince1970 - at > claimTTL else { return .heldBy(holder) }
            try await client.delete(key)  // stale: take it over
        }
        return .heldBy("another worker")
    }

    /// Drops our claim on the id (stored, or given up here); never another worker's.
    public func release(_ id: String) async {
        guard claimed.ids.withLock({ $0.remove(id) }) != nil else { return }
        try? await client.delete(location.key(".claims/\(id)"))
    }

    public var location: S3Location { client.location }

    /// The video's file name when the id's sidecar object is there (the last thing `store`
    /// writes, so its presence means the id is stored), else nil.
    public func storedVideo(_ id: String) async throws -> String? {
        let sink = BufferSink(limit: ArchiveItem.maxSidecarBytes)
        let status = try await client.get(location.key("\(id).json"), into: sink)
        // (fetch checked the bucket before any work: a 404 here is the id not stored yet.)
        if status == 404 { return nil }
        guard (200..<300).contains(status) else {
            throw client.failure(S3Client.Answer(status: status, head: nil, body: sink.bytes), "GET \(id).json")
        }
        // A sidecar object is input from outside like any other: anyone who can write the
        // prefix can plant one. Its file name must be one of this id's, and the video object
        // must be there with the size and SHA-256 it names (by the store's checksum when it
        // keeps one, else the ETag recorded when we proved the upload); otherwise the id is
        // not stored and is fetched again.
        guard !sink.overflowed, let contents = Sidecar.read(sink.bytes), Sidecar.isOwnFile(contents.download.file, of: id) else {
            return nil
        }
        let file = contents.download.file
        guard let info = try await client.head(location.key(file)), info.size == contents.download.bytes else { return nil }
        if let c = info.checksumSHA256 { return c == S3Client.base64(hex: contents.download.sha256) ? file : nil }
        let recorded = Self.recordedETag(sink.bytes, file: file)
        return recorded != nil && recorded == info.plainETag ? file : nil
    }

    /// The ETag the sidecar's `storage` member recorded for `file`, quotes removed.
    static func recordedETag(_ sidecar: [UInt8], file: String) -> String? {
        guard let obj = (try? JSONSerialization.jsonObject(with: Data(sidecar))) as? [String: Any],
            let storage = obj["storage"] as? [String: Any], let entry = storage[file] as? [String: Any],
            let etag = entry["etag"] as? String, etag.utf8.count <= 128
        else { return nil }
        return etag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }

    /// Uploads the id's saved files from `directory`, proves each, then removes them there;
    /// the claim goes once the id is stored.
    public func store(_ id: String, directory: String) async throws -> StoreResult {
        _ = try await upload(id, directory: directory)
        await release(id)
        return .moved
    }

    public struct Stored: Sendable {
        /// `s3://bucket/key` of the video.
        public var videoURL: String
        public var uploadedBytes: Int64
    }

    /// The upload itself: the files go up, each proved, then leave `directory`.
    public func upload(_ id: String, directory: String) async throws -> Stored {
        let item: ArchiveItem
        do {
            item = try ArchiveItem.load(directory: directory, id: id)
        } catch {
            throw S3Error.mismatch("\(id): nothing whole to upload in \(directory) (\(error))")
        }
        var files = [(name: item.videoFile, bytes: item.videoBytes, sha: item.videoSHA256, type: Self.type(item.videoFile))]
        for a in item.assets { files.append((a.file, a.bytes, a.sha256, Self.type(a.file))) }
        var storage: [String: Any] = [:]
        var uploaded: Int64 = 0
        for f in files {
            let key = location.key(f.name)
            let body = UploadBody.file(path: "\(directory)/\(f.name)", offset: 0, length: f.bytes)
            var info = try await client.head(key)
            if let i = info, i.size == f.bytes, await Self.alreadyHolds(i, sha256Hex: f.sha, body: body) {
                // Already there, proved the same bytes by what the store computed: not sent again.
            } else {
                info = try await client.put(key, body, sha256Hex: f.sha, contentType: f.type)
                uploaded += f.bytes
            }
            storage[f.name] =
                [
                    "url": "s3://\(location.bucket)/\(key)", "etag": info?.etag ?? NSNull(), "sha256": f.sha,
                    "checksum_sha256": info?.checksumSHA256 ?? NSNull(),
                ] as [String: Any]
        }
        let sidecar = Self.withStorage(item.sidecar, storage)
        try await client.put(
            location.key(item.sidecarFile), .bytes(sidecar), sha256Hex: sha256Hex(sidecar), contentType: "application/json")
        if !keepLocalCopies {
            for f in files { unlink("\(directory)/\(f.name)") }
            unlink("\(directory)/\(item.sidecarFile)")
        }
        return Stored(videoURL: "s3://\(location.bucket)/\(location.key(item.videoFile))", uploadedBytes: uploaded + Int64(sidecar.count))
    }

    /// An object found before the upload is kept only on the store's own word: its checksum,
    /// or a single-part ETag equal to the local file's MD5. Anything else is sent again (a
    /// read-back would cost as much as the upload).
    static func alreadyHolds(_ i: S3ObjectInfo, sha256Hex: String, body: UploadBody) async -> Bool {
        if let c = i.checksumSHA256 { return c == S3Client.base64(hex: sha256Hex) }
        guard let e = i.plainETag, !e.contains("-") else { return false }
        return (try? await S3Client.md5Hex(of: body)) == e
    }

    static func type(_ name: String) -> String {
        switch (name as NSString).pathExtension.lowercased() {
        case "mp4": "video/mp4"
        case "webm": "video/webm"
        case "mov": "video/quicktime"
        case "mkv": "video/x-matroska"
        case "webp": "image/webp"
        case "png": "image/png"
        case "jpg": "image/jpeg"
        case "gif": "image/gif"
        case "avif": "image/avif"
        default: "application/octet-stream"
        }
    }

    /// The sidecar with a `storage` member after its `schema` line: name → url, etag, sha256,
    /// checksum_sha256 for each object. The rest of the bytes (the video object as it came)
    /// are untouched.
    static func withStorage(_ sidecar: [UInt8], _ storage: [String: Any]) -> [UInt8] {
        let json =
            (try? JSONSerialization.data(withJSONObject: storage, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]))
            .map { String(decoding: $0, as: UTF8.self).replacingOccurrences(of: "\n", with: "\n  ") } ?? "{}"
        let text = String(decoding: sidecar, as: UTF8.self)
        guard let schemaLine = text.range(of: "\n  \"schema\": \"\(Sidecar.schema)\",\n") else { return sidecar }
        var out = text
        out.insert(contentsOf: "  \"storage\": \(json),\n", at: schemaLine.upperBound)
        return Array(out.utf8)
    }
}
