import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Makes finished files durable a group at a time, off the download workers: a worker writes
/// an id's files and goes on to the next id, where it used to wait for two fsyncs and the
/// folder's (about 200 µs each, a third of an id's time in a batch of small videos).
///
/// Files are written (a `.part`, a sidecar's temp) without syncing. For a group of ids:
/// 1. a **data barrier**, fdatasync of each of the group's files in turn, puts their bytes on
///    disk (it starts after the group's last write);
/// 2. the group's renames (`.part` → the video, temp → the sidecar) are made, so that no final
///    name ever points at bytes a power cut could still take away;
/// 3. a **name barrier**, an fsync of each folder renamed into (one, in practice), puts the
///    new names on disk, once for the whole group.
/// Only after that is an id reported saved. A kill or a power cut before 3 leaves, for each id,
/// either its whole `.part` (resumed and confirmed by a bodiless 416 on the next run) or its
/// final names; never a final name with lost bytes, never a saved id that is not on disk.
///
/// `commit` is blocking (the syncs and the renames): the pipeline calls it from one saver at a
/// time, off the cooperative pool, with every id that finished since the last group.
package struct GroupCommit: Sendable {
    /// One rename of a group: `from` (written, whole, checked) becomes `to`.
    package struct Rename: Sendable, Equatable {
        package var from: String
        package var to: String
        /// A file to remove once the rename is made (a `.part`'s state: a hint, not data).
        package var thenRemove: String?

        package init(from: String, to: String, thenRemove: String? = nil) {
            self.from = from
            self.to = to
            self.thenRemove = thenRemove
        }
    }

    /// The two barriers, replaceable in tests (which record their order against the renames).
    package enum Barrier: Sendable { case data, names }
    let sync: @Sendable (Barrier, _ directories: [String], _ files: [String]) throws -> Void

    package init() { sync = Self.syncToDisk }

    init(sync: @escaping @Sendable (Barrier, [String], [String]) throws -> Void) { self.sync = sync }

    /// Commits each id's renames (`groups[i]`, in order). The answer has one entry per id: nil
    /// when its names are on disk, else why not. A failed barrier fails every id of the group
    /// (their `.part` files stay and are resumed); a failed rename fails its id alone.
    package func commit(_ groups: [[Rename]]) -> [Error?] {
        var directories: [String] = []
        for r in groups.joined() {
            let d = Self.directory(of: r.to)
            if !directories.contains(d) { directories.append(d) }
        }
        do {
            try sync(.data, directories, groups.joined().map(\.from))
        } catch {
            return groups.map { _ in error }
        }
        var results: [Error?] = groups.map { group in
            do {
                for r in group {
                    try AtomicFile.rename(r.from, to: r.to, syncDirectory: false)
                    if let gone = r.thenRemove { unlink(gone) }
                }
                return nil
            } catch {
                return error
            }
        }
        do {
            try sync(.names, directories, [])
        } catch {
            results = results.map { $0 ?? error }
        }
        return results
    }

    static func directory(of path: String) -> String {
        let d = (path as NSString).deletingLastPathComponent
        return d.isEmpty ? "." : d
    }

    /// The real barriers: fdatasync of each file of the group for the data (its bytes and the
    /// size that finds them), fsync of each folder for the names. Not `syncfs`: about 7 % faster
    /// on 10 000 x 64 KiB here, but it writes out and waits for every other writer's data on the
    /// file system too (a build's, a copy's, another user's on a shared machine).
    static func syncToDisk(_ barrier: Barrier, _ directories: [String], _ files: [String]) throws {
        for path in barrier == .data ? files : directories {
            let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (barrier == .names ? O_DIRECTORY : 0))
            guard fd >= 0 else { throw AtomicFile.errnoText("cannot open", path) }
            defer { close(fd) }
            let ok = barrier == .data ? fdatasync(fd) == 0 : fsync(fd) == 0
            guard ok else { throw AtomicFile.errnoText("cannot sync", path) }
        }
    }
}
