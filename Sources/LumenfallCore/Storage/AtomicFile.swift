import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Durable file operations: temp file, fsync, rename, fsync the folder (the way aria2 saves its
/// control file). A crash at any point leaves either the old file or the new one, never half.
package enum AtomicFile {
    package struct Failure: Error, CustomStringConvertible, Sendable {
        package let description: String
    }

    /// Why `path` cannot be read as a folder, in a person's words; nil when it can.
    package static func folderProblem(_ path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else {
            return errno == ENOENT ? "there is no such folder" : String(cString: strerror(errno))
        }
        guard st.st_mode & S_IFMT == S_IFDIR else { return "it is a file, not a folder" }
        guard access(path, R_OK | X_OK) == 0 else { return String(cString: strerror(errno)) }
        return nil
    }

    static func errnoText(_ what: String, _ path: String) -> Failure {
        Failure(description: "\(what) \(path): \(String(cString: strerror(errno)))")
    }

    /// A symbolic link where one of our files belongs: in a shared folder, somebody else's
    /// link would have us truncate, append to or overwrite whatever it points at. It is
    /// refused by name, never followed and never deleted (it is not ours).
    static func linkRefused(_ path: String) -> Failure {
        Failure(
            description:
                "\(path) is a symbolic link; lumenfall-fetch never writes through one. Remove it (or use another folder) and run again")
    }

    /// `mkdir -p`: every missing folder on the way is made (0755, as mkdir would under the
    /// umask). The error names the part that failed and the system's reason ("Not a directory"
    /// when a file stands where a folder should be), in our words, not Foundation's.
    package static func makeDirectories(_ path: String) throws {
        var st = stat()
        if stat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFDIR else { throw Failure(description: "\(path) is there and is not a folder") }
            return
        }
        var sofar = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            sofar += "/" + part
            if mkdir(sofar, 0o755) == 0 { continue }
            let e = errno
            if e == EEXIST, stat(sofar, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR { continue }
            let reason = e == EEXIST ? "a file is there, not a folder" : String(cString: strerror(e))
            throw Failure(description: "\(sofar.hasPrefix("./") ? String(sofar.dropFirst(2)) : sofar): \(reason)")
        }
    }

    /// Whether anything (a file, a link, a FIFO) is at `path`.
    package static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Opens for reading a file we did not just create, as input from outside: never through
    /// a link, and with O_NONBLOCK so a FIFO or a device put there cannot block the open;
    /// then `fstat` must show a regular file (else the descriptor is closed and this throws),
    /// and the descriptor goes back to blocking reads.
    /// `followLinks`: only for a path a person named on the command line (`verify a.tar`).
    package static func openRegular(_ path: String, flags: Int32 = O_RDONLY, followLinks: Bool = false) throws -> Int32 {
        let fd = open(path, flags | O_CLOEXEC | O_NONBLOCK | (followLinks ? 0 : O_NOFOLLOW))
        guard fd >= 0 else {
            if errno == ELOOP { throw Failure(description: "\(path) is a symbolic link; lumenfall-fetch never reads through one") }
            throw errnoText("cannot open", path)
        }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw Failure(description: "\(path) is not a regular file (a FIFO, a device or a folder); it is not read")
        }
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
        return fd
    }

    /// Whether `path` itself (not what it points at) is a symbolic link.
    package static func isSymlink(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK
    }

    /// Opens (creating if needed) one of our files for writing, never through a link.
    static func openForWriting(_ path: String, flags: Int32 = O_WRONLY | O_CREAT) throws -> Int32 {
        let fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else {
            if errno == ELOOP { throw linkRefused(path) }
            throw errnoText("cannot open", path)
        }
        // O_NOFOLLOW guards the last component only; what we opened must be a plain file, and
        // not a hard link to somebody else's file (a link's other name would be written too).
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw Failure(description: "\(path) is not a regular file; remove it and run again")
        }
        guard st.st_nlink <= 1 else {
            close(fd)
            throw Failure(description: "\(path) has other hard links; lumenfall-fetch never writes through one. Remove it and run again")
        }
        return fd
    }

    /// A new, empty file beside `path`, under a name nobody can predict (so nobody can plant a
    /// link there first), created with O_EXCL. Returns the name and an open descriptor.
    package static func createTemp(beside path: String) throws -> (path: String, fd: Int32) {
        let dir = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        for _ in 0..<16 {
            let random = String(UInt64.random(in: 0..<UInt64.max), radix: 36)
            let temp = "\(dir.isEmpty ? "." : dir)/.\(base).tmp-\(random)"
            let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
            if fd >= 0 { return (temp, fd) }
            if errno != EEXIST { throw errnoText("cannot create", temp) }
        }
        throw Failure(description: "cannot create a temporary file beside \(path)")
    }

    /// `syncDirectory: false` leaves the folder's fsync to the caller, who must do it before
    /// calling the file saved. `durable: false`
    /// skips both fsyncs: the rename is still atomic (readers see the old file or the new
    /// one), but after a power cut the file may be the old one, or empty: for files that are
    /// only hints and are checked when read (the `.part.state`).
    package static func write(_ bytes: [UInt8], to path: String, syncDirectory sync: Bool = true, durable: Bool = true) throws {
        if isSymlink(path) { throw linkRefused(path) }
        let (temp, fd) = try createTemp(beside: path)
        do {
            try bytes.withUnsafeBytes { try writeAll(fd, $0, path: temp) }
            guard !durable || fsync(fd) == 0 else { throw errnoText("cannot sync", temp) }
            close(fd)
        } catch {
            close(fd)
            unlink(temp)
            throw error
        }
        try rename(temp, to: path, syncDirectory: sync && durable)
    }

    /// `bytes` in a new temp file beside `path` (see createTemp), not synced: the caller renames
    /// it into place after a barrier that puts its bytes on disk (GroupCommit). Returns its name.
    package static func writeTemp(_ bytes: [UInt8], beside path: String) throws -> String {
        if isSymlink(path) { throw linkRefused(path) }
        let (temp, fd) = try createTemp(beside: path)
        defer { close(fd) }
        do {
            try bytes.withUnsafeBytes { try writeAll(fd, $0, path: temp) }
        } catch {
            unlink(temp)
            throw error
        }
        return temp
    }

    /// rename(2), then fsync of the folder so the new name itself survives a power cut.
    package static func rename(_ from: String, to: String, syncDirectory sync: Bool = true) throws {
        // rename(2) would replace a link, not follow it; but the link is not ours to delete.
        if isSymlink(to) { throw linkRefused(to) }
        if isSymlink(from) { throw linkRefused(from) }
        guard Glibc.rename(from, to) == 0 else {
            let e = errnoText("cannot rename to", to)
            throw e
        }
        if sync { syncDirectory(of: to) }
    }

    package static func syncDirectory(of path: String) {
        let dir = (path as NSString).deletingLastPathComponent
        let fd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }

    /// write(2) until everything is out: short writes and EINTR are normal, not errors.
    static func writeAll(_ fd: Int32, _ buf: UnsafeRawBufferPointer, path: String) throws {
        guard let base = buf.baseAddress else { return }  // nothing to write
        var done = 0
        while done < buf.count {
            let n = Glibc.write(fd, base + done, buf.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw errnoText("cannot write", path)
            }
            done += n
        }
    }

    /// A small file of ours read whole: never through a link, never a FIFO or device (which
    /// could block or never end), never more than `limit` bytes. nil when any of that fails.
    package static func readSmall(_ path: String, limit: Int, followLinks: Bool = false) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (followLinks ? 0 : O_NOFOLLOW))
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size <= limit else { return nil }
        var out = [UInt8](repeating: 0, count: Int(st.st_size))
        var done = 0
        while done < out.count {
            let n = out.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return nil }
            done += n
        }
        return out
    }

    /// The size of a regular file at `path`; nil if missing, or a link, folder or device.
    package static func size(of path: String) -> Int64? {
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(st.st_size)
    }
}
