import Crypto
import Foundation
import LumenfallArchive
import Synchronization

/// A byte stream written on an ordinary thread (libarchive's write callback) going up as one
/// S3 multipart upload: parts of `partSize` bytes, at most `inFlight` uploading at once while
/// the writer goes on, so memory stays at about `partSize × (inFlight + 1)` whatever the size.
///
/// Resumable: `begin` looks for an unfinished upload of the same key and lists its parts; the
/// archive being the same bytes for the same inputs, a part the store already holds with the
/// MD5 (its ETag) of the part about to be sent is not sent again. `finish` completes the upload
/// and checks the object's multipart ETag (the MD5 of the parts' MD5s) against the bytes made
/// here, so what the store holds is known to be this stream without reading it back.
///
/// Its blocking calls must not run on Swift's cooperative pool (they wait for tasks that need
/// it): the archiver runs on a thread of its own. `@unchecked Sendable` is sound: the mutable
/// state is touched by the writer thread alone, except the parts sent, which the upload tasks
/// report into one `Mutex`.
package final class S3MultipartStream: @unchecked Sendable {
    package let client: S3Client
    package let key: String
    package let partSize: Int
    private let uploadID: String
    private let existing: [Int: S3Client.Part]
    private var buffer: [UInt8] = []
    private var number = 0
    private var md5s: [[UInt8]] = []
    private var total: Int64 = 0
    private let slots: DispatchSemaphore
    private let inFlight: Int
    /// Parts stored, and the first failure of an upload task.
    private let uploads = Mutex<(done: [Int: S3Client.Part], failure: Error?)>(([:], nil))
    /// Parts found in the store and not sent again / sent now.
    package private(set) var reused = 0
    package private(set) var sent = 0

    package static let minPartSize = 5 << 20

    private init(client: S3Client, key: String, uploadID: String, existing: [S3Client.Part], partSize: Int, inFlight: Int) {
        self.client = client
        self.key = key
        self.uploadID = uploadID
        self.existing = Dictionary(existing.map { ($0.number, $0) }, uniquingKeysWith: { a, _ in a })
        self.partSize = max(Self.minPartSize, partSize)
        self.inFlight = max(1, inFlight)
        slots = DispatchSemaphore(value: max(1, inFlight))
        buffer.reserveCapacity(self.partSize)
    }

    /// Continues the newest unfinished upload of `key`, or starts one.
    package static func begin(client: S3Client, key: String, contentType: String, partSize: Int, inFlight: Int) throws -> S3MultipartStream
    {
        try blocking {
            let pending = try await client.listMultipartUploads(prefix: key).filter { $0.key == key }
                .sorted { ($0.initiated ?? .distantPast) > ($1.initiated ?? .distantPast) }
            if let last = pending.first {
                let parts = try await client.listParts(key, uploadID: last.uploadID)
                return S3MultipartStream(
                    client: client, key: key, uploadID: last.uploadID, existing: parts, partSize: partSize, inFlight: inFlight)
            }
            let id = try await client.createMultipartUpload(key, contentType: contentType)
            return S3MultipartStream(client: client, key: key, uploadID: id, existing: [], partSize: partSize, inFlight: inFlight)
        }
    }

    /// The writer's side: bytes in, full parts out.
    package func write(_ bytes: UnsafeRawBufferPointer) throws {
        if let e = uploads.withLock({ $0.failure }) { throw e }
        var rest = bytes[...]
        while !rest.isEmpty {
            let n = min(partSize - buffer.count, rest.count)
            buffer.append(contentsOf: rest.prefix(n))
            rest = rest.dropFirst(n)
            if buffer.count == partSize {
                var full: [UInt8] = []
                full.reserveCapacity(partSize)
                swap(&full, &buffer)
                try submit(full)
            }
        }
    }

    private func submit(_ part: [UInt8]) throws {
        number += 1
        let n = number
        let digests = PartDigests(part)
        let md5 = digests.md5
        md5s.append(md5)
        total += Int64(part.count)
        if let old = existing[n], old.size == Int64(part.count),
            old.etag.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) == Hex.string(md5)
        {
            uploads.withLock { $0.done[n] = old }
            reused += 1
            return
        }
        slots.wait()
        if let e = uploads.withLock({ $0.failure }) {
            slots.signal()
            throw e
        }
        sent += 1
        Task { [client, key, uploadID] in
            do {
                let etag = try await client.uploadPart(key, uploadID: uploadID, number: n, part, sha256Hex: digests.sha256Hex)
                uploads.withLock { $0.done[n] = S3Client.Part(number: n, etag: etag, size: Int64(part.count)) }
            } catch {
                uploads.withLock { u in if u.failure == nil { u.failure = error } }
            }
            slots.signal()
        }
    }

    /// Sends the last part, waits for every part, completes the upload and checks the ETag.
    package func finish() throws -> (bytes: Int64, etag: String) {
        if !buffer.isEmpty || number == 0 {
            let last = buffer
            buffer = []
            try submit(last)
        }
        for _ in 0..<inFlight { slots.wait() }
        for _ in 0..<inFlight { slots.signal() }
        if let e = uploads.withLock({ $0.failure }) { throw e }
        let parts = uploads.withLock { $0.done.values.sorted { $0.number < $1.number } }
        guard parts.map(\.number) == Array(1...number) else { throw S3Error.mismatch("\(key): parts missing after the upload") }
        let expected = "\(Hex.string(Array(Insecure.MD5.hash(data: md5s.flatMap { $0 }))))-\(number)"
        let (client, key, uploadID, total, partSize) = (client, key, uploadID, total, partSize)
        let info = try Self.blocking {
            try await client.completeMultipartUpload(key, uploadID: uploadID, parts: parts)
            return try await client.head(key)
        }
        guard let info, info.size == total else {
            throw S3Error.mismatch("\(key): the store holds another size than the \(total) bytes sent")
        }
        let etag = info.plainETag ?? ""
        if etag == expected {
            proof = .multipartETag
            return (total, etag)
        }
        // Any other ETag (none, dash-less, another scheme such as SSE-KMS's, or a wrong one)
        // proves nothing: the object is read back and its parts' MD5s recomputed. Until that
        // holds, nobody may delete the originals on the strength of this upload.
        let back = try Self.blocking { try await client.readBack(key, size: total, partSize: partSize) }
        guard back.multipartETag == expected else {
            throw S3Error.mismatch(
                "\(key): read back, the stored object is not the \(total) bytes sent (its parts hash to \(back.multipartETag ?? "-"), not \(expected))"
            )
        }
        proof = .readBack
        return (total, etag)
    }

    /// How `finish` knew the store holds the bytes sent.
    package private(set) var proof: S3Client.Proof?

    /// Gives the upload up: its parts are deleted in the store.
    package func abort() {
        let (client, key, uploadID) = (client, key, uploadID)
        _ = try? Self.blocking { try await client.abortMultipartUpload(key, uploadID: uploadID) }
    }

    /// Runs async work from a plain thread and waits for it.
    static func blocking<T: Sendable>(_ op: @escaping @Sendable () async throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox<T>()
        Task {
            box.result = await Result { try await op() }
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }

    final class ResultBox<T>: @unchecked Sendable {  // sound: written before the signal, read after the wait
        var result: Result<T, Error>?
    }
}

extension Result where Failure == Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
