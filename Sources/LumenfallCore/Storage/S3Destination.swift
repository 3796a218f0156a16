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
    /// A claim not renewed for this long may be taken over (its worker died). A live worker
    /// renews each of its claims every third of this while it works on the id.
    public var claimTTL: TimeInterval
    /// Who we are in a claim. Stable across restarts of the same work folder (see
    /// `WorkerIdentity`), so a worker killed mid-download finds its own claims when it comes
    /// back and resumes at once instead of waiting for them to go stale.
    public let worker: String
    private let claimed = ClaimedIDs()
    /// With `fetch --archive`: the proved uploads leave their files in the work folder, for the
    /// archive that is written from it after the batch (which then removes them).
    public var keepLocalCopies = false

    public init(client: S3Client, claimTTL: TimeInterval = 3600, worker: String) {
        self.client = client
        self.claimTTL = claimTTL
        self.worker = worker
    }

    /// The ids this worker holds claims on, each with the task that renews it (a class, so
    /// copies of the struct share it).
    final class ClaimedIDs: Sendable {
        let renewals = Mutex<[String: Task<Void, Never>]>([:])
    }

    public var description: String { "\(location)" }
    public func place(of file: String) -> String { "s3://\(location.bucket)/\(location.key(file))" }

    /// Claims the id by creating `prefix/.claims/<id>` with `If-None-Match: *`: a 412 means another
    /// worker has it, unless the claim is our own (a run of this work folder killed before it
    /// released it) or older than `claimTTL`, in which case it is taken over (deleted, then
    /// created again: of two workers taking over at once, one wins the create).
    public func claim(_ id: String) async throws -> DestinationClaim { try await claim(id, now: Date()) }

    public func claim(_ id: String, now: Date) async throws -> DestinationClaim {
        let key = location.key(".claims/\(id)")
        for attempt in 0..<2 {
            if try await client.putIfAbsent(key, claimBody(now)) {
                startRenewing(id, key: key)
                return .ours
            }
            guard let held = try await holder(key) else {
                if attempt == 0 { continue }  // released meanwhile: try again
                break
            }
            guard attempt == 0, held.worker == worker || now.timeIntervalSince1970 - held.at > claimTTL else {
                return .heldBy(held.worker)
            }
            try await client.delete(key)  // ours from before, or stale: take it over
        }
        return .heldBy("another worker")
    }

    private func claimBody(_ now: Date) -> [UInt8] {
        Array(#"{"worker":"\#(worker)","claimed_at":\#(Int64(now.timeIntervalSince1970))}"#.utf8)
    }

    /// Who holds the claim at `key` and since when; nil when there is none. The object is input
    /// from outside: bounded, and its worker name is made printable and cut to 200 characters.
    private func holder(_ key: String) async throws -> (worker: String, at: Double)? {
        let sink = BufferSink(limit: 64 << 10)
        let status = try await client.get(key, into: sink)
        if status == 404 { return nil }
        let obj = (try? JSONSerialization.jsonObject(with: Data(sink.bytes))) as? [String: Any]
        let who = TerminalText.safe((obj?["worker"] as? String).map { String($0.prefix(200)) } ?? "another worker")
        return (who, Checked.double(obj?["claimed_at"]) ?? 0)
    }

    /// While the id is ours, its claim's time is moved forward every third of the TTL, so a
    /// download longer than the TTL is never taken over while its worker lives. A claim some
    /// other worker has taken meanwhile (we were cut off for longer than the TTL) is left alone.
    private func startRenewing(_ id: String, key: String) {
        let every = max(1, claimTTL / 3)
        let task = Task { [client, worker] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(every * 1e9))
                if Task.isCancelled { return }
                guard let held = try? await holder(key), held.worker == worker else { continue }
                let body = claimBody(Date())
                _ = try? await client.put(key, .bytes(body), sha256Hex: sha256Hex(body), contentType: "application/json")
            }
        }
        claimed.renewals.withLock { $0.updateValue(task, forKey: id)?.cancel() }
    }

    /// Drops our claim on the id (stored, or given up here); never another worker's. A claim
    /// this process did not take (a run of this work folder killed before its release) is ours
    /// too when it names this worker.
    public func release(_ id: String) async {
        if let renewal = claimed.renewals.withLock({ $0.removeValue(forKey: id) }) {
            // A renewal already sending its PUT would put the claim back after the delete:
            // it is waited for (cancelled, it ends at its next step).
            renewal.cancel()
            await renewal.value
        }
        let key = location.key(".claims/\(id)")
        // Taken over while we were cut off for longer than the TTL: it is no longer ours to drop.
        guard let held = try? await holder(key), held.worker == worker else { return }
        try? await client.delete(key)
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

    /// Uploads the id's saved files from `directory` and proves each; then the claim goes, then
    /// the local copies (unless `keepLocalCopies`). In that order: a kill between the two leaves
    /// a whole save in the work folder (uploaded again by proof on the next run, which then
    /// releases), never a claim whose id the next run finds stored and so never releases.
    public func store(_ id: String, directory: String) async throws -> StoreResult {
        let stored = try await upload(id, directory: directory)
        await release(id)
        if !keepLocalCopies { for f in stored.localFiles { unlink("\(directory)/\(f)") } }
        return .moved
    }

    public struct Stored: Sendable {
        /// `s3://bucket/key` of the video.
        public var videoURL: String
        public var uploadedBytes: Int64
        /// The id's files in the work folder (video, previews, sidecar).
        public var localFiles: [String]
    }

    /// The upload itself: the files go up, each proved; they stay in `directory` (`store`
    /// removes them once the claim is gone).
    public func upload(_ id: String, directory: String) async throws -> Stored {
        let item: ArchiveItem
        do {
            item = try ArchiveItem.load(directory: directory, id: id)
        } catch {
            throw S3Error.mismatch("\(id): nothing whole to upload in \(directory) (\(ErrorText.describe(error)))")
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
        return Stored(
            videoURL: "s3://\(location.bucket)/\(location.key(item.videoFile))", uploadedBytes: uploaded + Int64(sidecar.count),
            localFiles: files.map(\.name) + [item.sidecarFile])
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
