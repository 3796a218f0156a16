import CArchive

/// Reads a tar stream (plain, gzip, zstd or xz) from a file in one pass. Owns `struct archive *`.
public final class TarReader {
    public enum Kind: Sendable, Equatable {
        case file, directory, symlink, hardlink, other
    }

    public struct Entry: Sendable {
        public let name: String
        public let size: Int64
        public let kind: Kind
        public let mode: Int
        public let mtime: Int64
    }

    private let a: OpaquePointer

    /// Reads from an open descriptor (a pipe, or a file the caller opened and checked to be
    /// regular: no path is opened here, so a FIFO can never block this open), which stays the
    /// caller's to close.
    public init(fd: Int32) throws {
        guard let a = archive_read_new() else { throw ArchiveError("archive_read_new", "out of memory") }
        // Every stored property is set from here on, so a throw below still runs deinit,
        // which frees the handle: freeing it here too would free it twice.
        self.a = a
        try check(archive_read_support_format_tar(a), "enable tar")
        try check(archive_read_support_filter_gzip(a), "enable gzip")
        try check(archive_read_support_filter_zstd(a), "enable zstd")
        try check(archive_read_support_filter_xz(a), "enable xz")
        try check(archive_read_open_fd(a, fd, 1 << 20), "open the archive")
    }

    deinit { archive_read_free(a) }

    private func check(_ rc: Int32, _ what: String) throws {
        guard rc == ARCHIVE_OK else { throw ArchiveError("cannot \(what)", archive: a) }
    }

    /// The next member's header, or nil at the end of the archive.
    public func next() throws -> Entry? {
        var e: OpaquePointer?
        let rc = archive_read_next_header(a, &e)
        if rc == ARCHIVE_EOF { return nil }
        guard rc == ARCHIVE_OK, let e else { throw ArchiveError("cannot read a member header", archive: a) }
        let name =
            archive_entry_pathname_utf8(e).map { String(cString: $0) }
            ?? archive_entry_pathname(e).map { String(cString: $0) } ?? ""
        let kind: Kind
        switch UInt32(archive_entry_filetype(e)) {
        case lf_ae_ifreg: kind = archive_entry_hardlink(e) != nil ? .hardlink : .file
        case lf_ae_ifdir: kind = .directory
        case lf_ae_iflnk: kind = .symlink
        default: kind = archive_entry_hardlink(e) != nil ? .hardlink : .other
        }
        return Entry(
            name: name, size: archive_entry_size(e), kind: kind,
            mode: Int(archive_entry_perm(e)), mtime: Int64(archive_entry_mtime(e)))
    }

    /// Reads the current member's data into `buffer`; 0 at its end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        let n = archive_read_data(a, base, buffer.count)
        guard n >= 0 else { throw ArchiveError("cannot read member data", archive: a) }
        return n
    }
}
