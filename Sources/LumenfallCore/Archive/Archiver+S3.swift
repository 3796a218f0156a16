import Foundation
import LumenfallArchive

extension Archiver {
    /// `path` is `s3://bucket/key`: each part streams from libarchive into a multipart upload of
    /// its own (`key`, or `key-0001...` with `maxSize`), never written whole on local disk. The
    /// same inputs give the same bytes as a local archive. A part whose upload fails is aborted;
    /// one cut short by a kill is resumed by the next run (parts the store holds are kept).
    package func writeS3(
        _ items: [ArchiveItem], client: S3Client, partSize: Int = 8 << 20, inFlight: Int = 4, say: (String) -> Void = { _ in }
    ) throws -> Result {
        guard let compression = Compression(fileName: (path as NSString).lastPathComponent) else {
            throw Failure(Self.checkName(path) ?? "bad archive name")
        }
        guard !items.isEmpty else { throw Failure("nothing to archive: no saved video with its sidecar") }
        let groups = Self.plan(items, maxSize: maxSize)
        let finals = partPaths(count: groups.count)
        let createdAt = items.map(\.completedAt).max() ?? 0
        let type = compression == .none ? "application/x-tar" : "application/octet-stream"
        for (i, group) in groups.enumerated() {
            guard case .success(let (_, key)) = S3Location.parseObject(finals[i]) else {
                throw Failure("\(finals[i]) is not an s3:// object")
            }
            let stream: S3MultipartStream
            do {
                stream = try S3MultipartStream.begin(client: client, key: key, contentType: type, partSize: partSize, inFlight: inFlight)
            } catch {
                throw Failure("\(ErrorText.describe(error))")
            }
            do {
                let tar = try TarWriter(compression: compression, options: compressionOptions, sink: { try stream.write($0) })
                try writeMembers(tar, group, part: i + 1, parts: groups.count, createdAt: createdAt)
                let (bytes, etag) = try stream.finish()
                say(
                    "\(finals[i]): \(bytes) bytes in \(stream.reused + stream.sent) parts (\(stream.reused) already in the store, \(stream.sent) sent), ETag \(etag), proved by \(stream.proof == .readBack ? "reading it back" : "its multipart ETag")"
                )
            } catch {
                stream.abort()
                throw error as? Failure ?? Failure("\(ErrorText.describe(error))")
            }
        }
        return Result(parts: finals, items: items, bytes: items.reduce(0) { $0 + $1.videoBytes })
    }
}
