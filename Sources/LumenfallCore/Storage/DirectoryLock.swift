import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One lumenfall-fetch at a time per output folder: two runs appending to the same `.part`
/// would interleave bytes. flock(2) is released by the kernel when the process dies, so a
/// crash never leaves the folder locked. The lock file is removed when the lock is let go (and
/// by `removeHeldFiles` before an exit from a signal handler), so a run leaves nothing behind;
/// a run that opened the file just before it went finds, once it holds the lock, that the path
/// no longer names its file, and takes the lock again on the new one.
public final class DirectoryLock: Sendable {
    public static let fileName = ".lumenfall-fetch.lock"
    private let fd: Int32
    private let path: String
    /// Every lock file this process holds, for `removeHeldFiles`.
    private static let held = Mutex<Set<String>>([])

    public enum Failure: Error, Sendable, Equatable {
        case busy(directory: String, pid: String?)
        case cannotOpen(String)
    }

    public init(directory: String) throws(Failure) {
        let path = "\(directory)/\(Self.fileName)"
        var attempts = 0
        while true {
            let fd: Int32
            do {
                fd = try AtomicFile.openForWriting(path, flags: O_RDWR | O_CREAT)
            } catch {
                throw .cannotOpen("\(ErrorText.describe(error))")
            }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                var buf = [UInt8](repeating: 0, count: 32)
                let n = pread(fd, &buf, buf.count, 0)
                close(fd)
                let pid = n > 0 ? String(decoding: buf.prefix(n), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : nil
                throw .busy(directory: directory, pid: pid)
            }
            // Held: but is it still the file at `path`? Its last holder may have removed it
            // between our open and our flock.
            var mine = stat()
            var there = stat()
            attempts += 1
            guard fstat(fd, &mine) == 0, lstat(path, &there) == 0, mine.st_ino == there.st_ino, mine.st_dev == there.st_dev
            else {
                close(fd)
                if attempts < 16 { continue }
                throw .busy(directory: directory, pid: nil)
            }
            let pid = Array("\(getpid())\n".utf8)
            _ = ftruncate(fd, 0)
            _ = pwrite(fd, pid, pid.count, 0)
            self.fd = fd
            self.path = path
            _ = Self.held.withLock { $0.insert(path) }
            return
        }
    }

    /// Removes the file while still holding the lock, then lets go.
    deinit {
        _ = Self.held.withLock { $0.remove(path) }
        // Only if the path still names our file: someone may have removed it and another run
        // made and locked a new one there, whose lock file is not ours to take away.
        var mine = stat()
        var there = stat()
        if fstat(fd, &mine) == 0, lstat(path, &there) == 0, mine.st_ino == there.st_ino, mine.st_dev == there.st_dev {
            unlink(path)
        }
        close(fd)
    }

    /// For an exit that skips deinitializers (a signal handler's `exit`): the lock files go
    /// (the kernel drops the locks themselves).
    package static func removeHeldFiles() {
        for path in held.withLock({ $0 }) { unlink(path) }
    }
}
