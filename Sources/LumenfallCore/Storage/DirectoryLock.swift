import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One lumenfall-fetch at a time per output folder: two runs appending to the same `.part`
/// would interleave bytes. flock(2) is released by the kernel when the process dies, so a
/// crash never leaves the folder locked.
public final class DirectoryLock: Sendable {
    public static let fileName = ".lumenfall-fetch.lock"
    private let fd: Int32

    public enum Failure: Error, Sendable, Equatable {
        case busy(directory: String, pid: String?)
        case cannotOpen(String)
    }

    public init(directory: String) throws(Failure) {
        let path = "\(directory)/\(Self.fileName)"
        let fd: Int32
        do {
            fd = try AtomicFile.openForWriting(path, flags: O_RDWR | O_CREAT)
        } catch {
            throw .cannotOpen("\(error)")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var buf = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buf, buf.count, 0)
            close(fd)
            let pid = n > 0 ? String(decoding: buf.prefix(n), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : nil
            throw .busy(directory: directory, pid: pid)
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, pid, pid.count, 0)
        self.fd = fd
    }

    deinit { close(fd) }
}
