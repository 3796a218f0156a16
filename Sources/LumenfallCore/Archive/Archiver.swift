import CLinux
import Crypto
import Foundation
import LumenfallArchive

#if canImport(Glibc)
import Glibc
#endif

/// Bundles saved ids (video + sidecar) into tar archives through libarchive: manifest.json
/// and SHA256SUMS first, then the members sorted by name, all with fixed metadata, so the same
/// inputs give byte-identical archives. Every part is written to a temp name, fsynced, and
/// renamed only when all parts succeeded: a failed run leaves nothing under the final names.
package struct Archiver: Sendable {
    package var directory: String
    package var path: String
    /// Split into parts whose members add up to at most this many (uncompressed) bytes.
    package var maxSize: Int64?
    /// Read each part back and check it before it gets its final name.
    package var verify: Bool
    package var batch: BatchSummary?
    /// Put a gallery page (`index.html`, see Gallery) listing the part's videos in each part.
    package var gallery: Bool
    /// `--level`: how hard the compressor works (the bytes stay reproducible).
    package var compressionOptions = TarWriter.Options()
    /// Hears each chunk of a file member's bytes as it goes into the archive (a progress line).
    package var progress: (@Sendable (Int64) -> Void)?

    package init(
        directory: String, path: String, maxSize: Int64? = nil, verify: Bool = false, batch: BatchSummary? = nil,
        gallery: Bool = false
    ) {
        self.directory = directory
        self.path = path
        self.maxSize = maxSize
        self.verify = verify
        self.batch = batch
        self.gallery = gallery
    }

    package struct Failure: Error, Sendable, CustomStringConvertible {
        package let description: String
        init(_ d: String) { description = d }
    }

    package struct Result: Sendable {
        package var parts: [String]
        package var items: [ArchiveItem]
        package var bytes: Int64
    }

    /// Checks the name before any work: it must say which compression to use.
    package static func checkName(_ path: String) -> String? {
        Compression(fileName: (path as NSString).lastPathComponent) == nil
            ? "the archive name must end in .tar, .tar.gz, .tgz, .tar.zst, .tzst or .tar.xz" : nil
    }

    /// Groups ids, in id order, into parts of at most `maxSize` member bytes; an id larger than
    /// that on its own gets a part of its own.
    package static func plan(_ items: [ArchiveItem], maxSize: Int64?) -> [[ArchiveItem]] {
        let sorted = items.sorted { $0.id < $1.id }
        guard let limit = maxSize else { return sorted.isEmpty ? [] : [sorted] }
        var parts: [[ArchiveItem]] = []
        var current: [ArchiveItem] = []
        var size: Int64 = 0
        for item in sorted {
            let s = item.memberBytes
            if !current.isEmpty && size + s > limit {
                parts.append(current)
                current = []
                size = 0
            }
            current.append(item)
            size += s
        }
        if !current.isEmpty { parts.append(current) }
        return parts
    }

    package func partPaths(count: Int) -> [String] {
        guard maxSize != nil, let (stem, suffix) = Compression.splitName(path) else { return [path] }
        return (1...max(1, count)).map { String(format: "%@-%04d%@", stem, $0, suffix) }
    }

    @discardableResult
    package func write(_ items: [ArchiveItem], commit: ArchiveCommit = ArchiveCommit()) throws -> Result {
        guard let compression = Compression(fileName: (path as NSString).lastPathComponent) else {
            throw Failure(Self.checkName(path) ?? "bad archive name")
        }
        guard !items.isEmpty else { throw Failure("nothing to archive: no saved video with its sidecar") }
        let groups = Self.plan(items, maxSize: maxSize)
        let finals = partPaths(count: groups.count)
        // A link where a part belongs is refused before anything is written, so a refusal
        // can never come between two renames.
        if let link = finals.first(where: AtomicFile.isSymlink) {
            throw Failure("\(link) is a symbolic link; lumenfall-fetch never writes through one. Remove it or choose another name")
        }
        let createdAt = items.map(\.completedAt).max() ?? 0
        do {
            var temps: [String] = []
            for (i, group) in groups.enumerated() {
                let (temp, fd) = try commit.createTemp(beside: finals[i])
                temps.append(temp)
                defer { close(fd) }
                try writePart(
                    group, part: i + 1, parts: groups.count, createdAt: createdAt,
                    fd: fd, name: temp, compression: compression)
                if verify {
                    let report = ArchiveVerifier.verify(path: temp)
                    guard report.ok else {
                        throw Failure(
                            "the archive did not verify after writing: \(report.problems.map(\.description).joined(separator: "; "))")
                    }
                }
            }
            try commit.commit(Array(zip(temps, finals)))
        } catch {
            commit.discard()
            throw error
        }
        return Result(parts: finals, items: items, bytes: items.reduce(0) { $0 + $1.videoBytes })
    }

    private func writePart(
        _ group: [ArchiveItem], part: Int, parts: Int, createdAt: Int64,
        fd: Int32, name temp: String, compression: Compression
    ) throws {
        do {
            let tar = try TarWriter(fd: fd, compression: compression, options: compressionOptions)
            // Start writing what the archive has so far to disk after each file (not waiting):
            // the fsync at the end then finds little left. Measured on 200 x 4 MiB: that fsync
            // was 0.5 s of 1.3.
            try writeMembers(tar, group, part: part, parts: parts, createdAt: createdAt) { _ = lf_start_writeback(fd, 0, 0) }
        } catch let e as ArchiveError {
            throw Failure("\(e)")
        }
        guard fsync(fd) == 0 else { throw AtomicFile.errnoText("cannot sync", temp) }
    }

    /// The members of one part, in order, into `tar`, which is closed at the end: the same bytes
    /// wherever they go (a file, an upload). `afterFile` runs after each file member.
    func writeMembers(
        _ tar: TarWriter, _ group: [ArchiveItem], part: Int, parts: Int, createdAt: Int64, afterFile: () -> Void = {}
    ) throws {
        // The part's own gallery, so an extracted part can be browsed by itself.
        let page = gallery ? Gallery.render(group.map(Gallery.Entry.init)) : nil
        var manifest = Manifest(
            part: part, parts: parts, createdAt: createdAt,
            entries: group.map {
                Manifest.Entry(
                    id: $0.id, file: $0.videoFile, bytes: $0.videoBytes, sha256: $0.videoSHA256,
                    sidecar: $0.sidecarFile, sidecarBytes: Int64($0.sidecar.count),
                    sidecarSHA256: sha256Hex($0.sidecar), model: $0.model, cost: $0.cost,
                    currency: $0.currency,
                    assets: $0.assets.isEmpty
                        ? nil
                        : Dictionary(
                            $0.assets.map { ($0.name, Manifest.Entry.AssetEntry(file: $0.file, bytes: $0.bytes, sha256: $0.sha256)) },
                            uniquingKeysWith: { a, _ in a }))
            },
            batch: batch)
        if let page { manifest.gallery = .init(file: Gallery.fileName, bytes: Int64(page.count), sha256: sha256Hex(page)) }
        do {
            try add(tar, name: Manifest.memberName, bytes: try manifest.json(), mtime: createdAt)
            try add(tar, name: Manifest.sumsName, bytes: manifest.sums(), mtime: createdAt)
            // A member: a file read from the folder with its expected size and SHA-256, or bytes
            // in memory (a sidecar, the gallery page).
            enum Source {
                case file(bytes: Int64, sha256: String)
                case memory([UInt8])
            }
            var members: [(name: String, source: Source, mtime: Int64)] = []
            for item in group {
                members.append((item.videoFile, .file(bytes: item.videoBytes, sha256: item.videoSHA256), item.completedAt))
                members.append((item.sidecarFile, .memory(item.sidecar), item.completedAt))
                for a in item.assets { members.append((a.file, .file(bytes: a.bytes, sha256: a.sha256), item.completedAt)) }
            }
            if let page { members.append((Gallery.fileName, .memory(page), createdAt)) }
            for m in members.sorted(by: { $0.name < $1.name }) {
                switch m.source {
                case let .file(bytes, sha256):
                    try addFile(tar, name: m.name, bytes: bytes, sha256: sha256, mtime: m.mtime)
                    afterFile()
                case .memory(let bytes):
                    try add(tar, name: m.name, bytes: bytes, mtime: m.mtime)
                }
            }
            try tar.close()
        } catch let e as ArchiveError {
            throw Failure("\(e)")
        } catch let e as Manifest.Unwritable {
            throw Failure("\(e)")
        }
    }

    private func add(_ tar: TarWriter, name: String, bytes: [UInt8], mtime: Int64) throws {
        try tar.beginFile(name: name, size: Int64(bytes.count), mtime: mtime)
        try bytes.withUnsafeBytes { try tar.write($0) }
        try tar.finishFile()
    }

    /// Streams a file (a video, a preview) in 1 MiB chunks, hashing what goes in; a file whose
    /// bytes or hash differ from its sidecar's stops the archive (it changed since it was
    /// downloaded).
    private func addFile(_ tar: TarWriter, name: String, bytes expected: Int64, sha256: String, mtime: Int64) throws {
        let path = "\(directory)/\(name)"
        // Opened as input from outside: a FIFO put in the video's place after the scan must
        // not hold the archive in open() for ever.
        let rfd = try AtomicFile.openRegular(path)
        defer { close(rfd) }
        try tar.beginFile(name: name, size: expected, mtime: mtime)
        // The file is read once: each 1 MiB chunk goes to libarchive on this thread while its
        // SHA-256 runs on the hash queue, on the other core. Three buffers rotate; a buffer is
        // reused only after its hash is done (the queue is serial, so in order).
        let hashing = OverlappedHash(buffers: 3, size: 1 << 20)
        defer { hashing.finish() }
        var total: Int64 = 0
        while true {
            let buf = hashing.nextBuffer()
            let n = read(rfd, buf.baseAddress, buf.count)
            if n < 0, errno == EINTR {
                hashing.skip(buf)
                continue
            }
            guard n >= 0 else {
                hashing.skip(buf)
                throw AtomicFile.errnoText("cannot read", path)
            }
            if n == 0 {
                hashing.skip(buf)
                break
            }
            guard total + Int64(n) <= expected else {
                hashing.skip(buf)
                throw Failure("\(path) grew past the \(expected) bytes its sidecar records")
            }
            hashing.hash(buf, count: n)
            try tar.write(UnsafeRawBufferPointer(rebasing: buf[0..<n]))
            total += Int64(n)
            progress?(Int64(n))
        }
        guard total == expected else {
            throw Failure("\(path) has \(total) bytes, its sidecar records \(expected)")
        }
        guard hashing.digestHex() == sha256 else {
            throw Failure("\(path) does not match its sidecar's sha256 (it changed since it was saved)")
        }
        try tar.finishFile()
    }

    /// After a verified archive: the loose files of the archived ids go.
    package static func removeLoose(_ items: [ArchiveItem], directory: String) {
        for item in items {
            unlink("\(directory)/\(item.videoFile)")
            for a in item.assets { unlink("\(directory)/\(a.file)") }
            unlink("\(directory)/\(item.sidecarFile)")
        }
        AtomicFile.syncDirectory(of: "\(directory)/x")
    }
}

/// SHA-256 on a queue of its own over rotating buffers, so hashing overlaps the caller's
/// other work on the same bytes. `@unchecked Sendable` is sound: the hasher is touched only on
/// `queue` (and read after `sync`); a buffer handed to `hash` is not reused until the
/// semaphore says its hash is done; the caller only reads it meanwhile.
final class OverlappedHash: @unchecked Sendable {
    private let queue = DispatchQueue(label: "lumenfall.archive-sha256")
    private let free: DispatchSemaphore
    private var buffers: [UnsafeMutableRawBufferPointer]
    private var next = 0
    private var hasher = SHA256()

    init(buffers count: Int, size: Int) {
        free = DispatchSemaphore(value: count)
        buffers = (0..<count).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64) }
    }

    /// The next buffer in turn, once its previous hash is done.
    func nextBuffer() -> UnsafeMutableRawBufferPointer {
        free.wait()
        defer { next = (next + 1) % buffers.count }
        return buffers[next]
    }

    /// Hashes `count` bytes of `buf` on the queue, then frees the buffer.
    func hash(_ buf: UnsafeMutableRawBufferPointer, count: Int) {
        let chunk = Chunk(bytes: UnsafeRawBufferPointer(rebasing: buf[0..<count]))
        queue.async { [self] in
            hasher.update(bufferPointer: chunk.bytes)
            free.signal()
        }
    }

    /// A buffer taken but not hashed (end of file, an error): back in turn, in order.
    func skip(_ buf: UnsafeMutableRawBufferPointer) {
        queue.async { [self] in free.signal() }
    }

    func digestHex() -> String {
        queue.sync { hasher.finalize().hex }
    }

    /// A buffer's bytes crossing to the queue: owned by the hand-off until its hash is done.
    private struct Chunk: @unchecked Sendable {
        let bytes: UnsafeRawBufferPointer
    }

    /// Waits for the queue and frees the buffers.
    func finish() {
        queue.sync {}
        for b in buffers { b.deallocate() }
        buffers.removeAll()
    }
}
