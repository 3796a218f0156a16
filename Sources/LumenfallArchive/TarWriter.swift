import CArchive

#if canImport(Glibc)
import Glibc
#endif

/// Writes a pax (restricted) tar stream to a file descriptor through libarchive, one member
/// at a time and in chunks, so no member is ever held in memory. Owns `struct archive *`.
///
/// Every libarchive call is checked; ARCHIVE_WARN counts as failure, because libarchive
/// answers WARN when it falls back to an external compressor program.
public final class TarWriter {
    private let a: OpaquePointer
    private var entryBytesLeft: Int64 = 0
    private var inEntry = false
    private var closed = false
    /// With `init(sink:)`: the receiver of the stream, kept alive for libarchive's callback.
    private var output: SinkBox?

    /// The size of each write to the output (the last may be shorter).
    static let blockBytes: Int32 = 1 << 20

    /// The stream goes to `sink` in whatever pieces libarchive writes (1 MiB blocks); a sink
    /// that throws stops the archive with its error.
    final class SinkBox {
        let sink: (UnsafeRawBufferPointer) throws -> Void
        var error: Error?
        init(_ sink: @escaping (UnsafeRawBufferPointer) throws -> Void) { self.sink = sink }
    }

    /// How hard to compress: `level` within `Compression.levels` (nil: the compressor's
    /// default). The same level makes the same bytes, through either kind of output.
    public struct Options: Sendable, Equatable {
        public var level: Int?
        public init(level: Int? = nil) { self.level = level }
    }

    /// The same archive bytes as `init(fd:)` would write, handed to `sink` instead (an upload).
    public convenience init(
        compression: Compression, options: Options = Options(), sink: @escaping (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        try self.init(
            compression: compression, options: options,
            open: { a, box in
                // The last block unpadded (set in init), so the bytes match a local archive
                // (and a zstd stream is not followed by zeros).
                archive_write_open(
                    a, box, nil,
                    { _, client, buffer, length in
                        guard let client, let buffer else { return -1 }
                        let box = Unmanaged<SinkBox>.fromOpaque(client).takeUnretainedValue()
                        do {
                            try box.sink(UnsafeRawBufferPointer(start: buffer, count: length))
                            return la_ssize_t(length)
                        } catch {
                            box.error = error
                            return -1
                        }
                    }, nil)
            }, box: SinkBox(sink))
    }

    public convenience init(fd: Int32, compression: Compression, options: Options = Options()) throws {
        try self.init(compression: compression, options: options, open: { a, _ in archive_write_open_fd(a, fd) }, box: nil)
    }

    private init(
        compression: Compression, options: Options, open: (OpaquePointer, UnsafeMutableRawPointer?) -> Int32, box: SinkBox?
    ) throws {
        guard let a = archive_write_new() else { throw ArchiveError("archive_write_new", "out of memory") }
        // Every stored property is set from here on, so a throw below still runs deinit,
        // which frees the handle: freeing it here too would free it twice.
        self.a = a
        try check(archive_write_set_format_pax_restricted(a), "set the pax format")
        // libarchive hands its output on in 10 KiB blocks by default: 82 000 write(2) calls for
        // 800 MiB, half the run's system time. 1 MiB blocks make 800. The bytes are the same:
        // the last block is never padded (below).
        try check(archive_write_set_bytes_per_block(a, Self.blockBytes), "set the block size")
        // Explicit for every output: archive_write_open_fd would leave a pipe's last block
        // padded to the block size (1 MiB of zeros).
        try check(archive_write_set_bytes_in_last_block(a, 1), "set the last block's size")
        switch compression {
        case .none: break
        case .gzip:
            try check(archive_write_add_filter_gzip(a), "add the gzip filter")
            // Without this the gzip header carries the wall clock: no reproducible bytes.
            try check(archive_write_set_filter_option(a, "gzip", "timestamp", nil), "drop the gzip timestamp")
        case .zstd:
            try check(archive_write_add_filter_zstd(a), "add the zstd filter")
        case .xz:
            try check(archive_write_add_filter_xz(a), "add the xz filter")
        }
        if let level = options.level, compression != .none {
            try check(archive_write_set_filter_option(a, nil, "compression-level", "\(level)"), "set the compression level \(level)")
        }
        output = box
        try check(open(a, box.map { Unmanaged.passUnretained($0).toOpaque() }), "open the archive for writing")
    }

    deinit {
        // Without close() (an error path) the stream is abandoned, not finished: the caller
        // deletes the temp file.
        archive_write_free(a)
    }

    private func check(_ rc: Int32, _ what: String) throws {
        guard rc == ARCHIVE_OK else {
            if let e = output?.error { throw e }  // the sink's own error says more
            throw ArchiveError("cannot \(what)", archive: a)
        }
    }

    /// Starts a regular file member with fixed, reproducible metadata: mode 0644, uid/gid 0,
    /// no user or group names, the given mtime.
    public func beginFile(name: String, size: Int64, mtime: Int64) throws {
        guard !inEntry else { throw ArchiveError("add \(name)", "the previous member is not finished") }
        guard let e = archive_entry_new() else { throw ArchiveError("archive_entry_new", "out of memory") }
        defer { archive_entry_free(e) }
        archive_entry_set_pathname_utf8(e, name)
        archive_entry_set_filetype(e, lf_ae_ifreg)
        archive_entry_set_perm(e, 0o644)
        archive_entry_set_size(e, size)
        archive_entry_set_uid(e, 0)
        archive_entry_set_gid(e, 0)
        archive_entry_set_mtime(e, time_t(mtime), 0)
        try check(archive_write_header(a, e), "write the header of \(name)")
        entryBytesLeft = size
        inEntry = true
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard inEntry, Int64(bytes.count) <= entryBytesLeft else {
            throw ArchiveError("write", "more bytes than the member's header announced")
        }
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        let n = archive_write_data(a, base, bytes.count)
        guard n == bytes.count else {
            if let e = output?.error { throw e }
            throw ArchiveError("write member data", archive: a)
        }
        entryBytesLeft -= Int64(n)
    }

    /// Ends a member; fails if fewer bytes were written than its header said.
    public func finishFile() throws {
        guard entryBytesLeft == 0 else {
            throw ArchiveError("finish a member", "\(entryBytesLeft) bytes fewer than its header announced")
        }
        try check(archive_write_finish_entry(a), "finish a member")
        inEntry = false
    }

    /// Flushes the compressor and the last block. The caller then fsyncs and renames.
    public func close() throws {
        guard !closed else { return }
        closed = true
        try check(archive_write_close(a), "finish the archive")
    }
}
