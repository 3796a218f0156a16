import Foundation
import LumenfallCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `DIR/.lumenfall-watch/journal`: an append-only log of what `watch` accepted and finished,
/// so an id answered 2xx is never lost to a crash, a kill -9 or a reboot.
///
///     + video_abc 1795692485        accepted (written and fdatasync'd before the 2xx)
///     - video_abc 1795692490 saved  finished (no sync: if lost, the rerun finds the sidecar)
///     s 1795692000                  the sweep's high-water mark (Unix seconds)
///
/// Why a journal and not SQLite: one writer (the folder's lock), three kinds of line, and the
/// one durable operation needed is "append, then fdatasync", which costs one small write; the
/// sidecars on disk are the record of what is saved, so the journal only bridges "accepted" to
/// "saved". It is plain text a person can read with `cat`. Replayed at start (pending = accepted
/// and not finished), and rewritten to just the pending ids and the mark when it outgrows 1 MiB.
/// One `Mutex` around the log's state: the descriptor, the pending ids and the mark.
package final class WatchJournal: Sendable {
    package static let folderName = ".lumenfall-watch"

    package struct Failure: Error, CustomStringConvertible {
        package let description: String
    }

    private struct Log {
        let path: String
        /// The size past which the journal is rewritten to its pending ids (1 MiB; tests use less).
        let compactAt: Int
        var fd: Int32 = -1
        /// Accepted and not finished, in the order accepted.
        var pendingOrder: [String] = []
        var pendingSet = Set<String>()
        var highWater: Int64?
        var bytesWritten = 0

        mutating func replay(_ bytes: [UInt8]) {
            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
                let f = line.split(separator: " ")
                guard let kind = f.first else { continue }
                switch kind {
                case "+" where f.count >= 2:
                    let id = String(f[1])
                    guard VideoID.problem(with: id) == nil, pendingSet.insert(id).inserted else { continue }
                    pendingOrder.append(id)
                case "-" where f.count >= 2:
                    pendingSet.remove(String(f[1]))
                case "s" where f.count >= 2:
                    if let t = Int64(f[1]) { highWater = t }
                default:
                    continue  // a torn last line from a crash, or something not ours
                }
            }
            pendingOrder = pendingOrder.filter(pendingSet.contains)
        }

        mutating func append(_ line: String, sync: Bool) throws {
            let bytes = Array(line.utf8)
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n == bytes.count else {
                let why = n < 0 ? String(cString: strerror(errno)) : "only \(n) of \(bytes.count) bytes went in (disk full?)"
                // A torn line would run into the next one: cut the file back to where it was.
                _ = ftruncate(fd, off_t(bytesWritten))
                throw Failure(description: "cannot write \(path): \(why)")
            }
            bytesWritten += n
            if sync, fdatasync(fd) != 0 {
                let why = String(cString: strerror(errno))
                _ = ftruncate(fd, off_t(bytesWritten - n))
                bytesWritten -= n
                throw Failure(description: "cannot sync \(path): \(why)")
            }
        }

        /// The journal reduced to what matters now: the pending ids and the mark (temp, fsync, rename).
        mutating func rewrite() throws {
            var text = pendingOrder.filter(pendingSet.contains).map { "+ \($0) 0\n" }.joined()
            if let highWater { text += "s \(highWater)\n" }
            try AtomicFile.write(Array(text.utf8), to: path)
            if fd >= 0 { close(fd) }
            fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else { throw Failure(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
            bytesWritten = text.utf8.count
        }
    }

    private let log: Mutex<Log>

    package var highWater: Int64? { log.withLock { $0.highWater } }

    package init(directory: String, compactAt: Int = 1 << 20) throws {
        let folder = "\(directory)/\(Self.folderName)"
        if mkdir(folder, 0o700) != 0 && errno != EEXIST {
            throw Failure(description: "cannot create \(folder): \(String(cString: strerror(errno)))")
        }
        guard !AtomicFile.isSymlink(folder) else {
            throw Failure(description: "\(folder) is a symbolic link; lumenfall-fetch never writes through one")
        }
        var log = Log(path: "\(folder)/journal", compactAt: compactAt)
        let path = log.path
        // A journal that is there but cannot be read whole (over 256 MiB, a FIFO, a link) is
        // not taken for an empty one: the ids it holds would be lost without a word.
        var existing: [UInt8] = []
        if AtomicFile.exists(path) {
            guard let bytes = AtomicFile.readSmall(path, limit: 256 << 20) else {
                throw Failure(
                    description:
                        "cannot read the journal \(path): it is not a regular file under 256 MiB; move it aside (its '+ id' lines are ids accepted and not yet saved) and start again"
                )
            }
            existing = bytes
        }
        // A crash mid-append leaves a last line without its newline. It was never answered
        // 2xx (the answer waits for the fdatasync after the whole line), so it is dropped, and
        // cut off the file so the next line does not run into it.
        let whole = (existing.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 }) ?? 0
        let torn = existing.count > whole
        existing.removeSubrange(whole...)
        log.replay(existing)
        if existing.count > compactAt || torn {
            try log.rewrite()
        } else {
            log.fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
            guard log.fd >= 0 else { throw Failure(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
            log.bytesWritten = existing.count
        }
        self.log = Mutex(log)
    }

    deinit { log.withLock { if $0.fd >= 0 { close($0.fd) } } }

    /// Accepted ids not yet finished, oldest first.
    package var pending: [String] { log.withLock { l in l.pendingOrder.filter(l.pendingSet.contains) } }
    package func isPending(_ id: String) -> Bool { log.withLock { $0.pendingSet.contains(id) } }

    /// Records an accepted id durably (fdatasync) before the caller answers 2xx. False when it
    /// was already pending (nothing written).
    @discardableResult
    package func accept(_ id: String, now: Date = Date()) throws -> Bool {
        try log.withLock { l in
            guard !l.pendingSet.contains(id) else { return false }
            try l.append("+ \(id) \(Int64(now.timeIntervalSince1970))\n", sync: true)
            l.pendingSet.insert(id)
            l.pendingOrder.append(id)
            return true
        }
    }

    /// Records an id's end (saved, already saved, or a failure that no retry can change).
    package func finish(_ id: String, _ outcome: String, now: Date = Date()) {
        log.withLock { l in
            guard l.pendingSet.remove(id) != nil else { return }
            try? l.append("- \(id) \(Int64(now.timeIntervalSince1970)) \(outcome)\n", sync: false)
            if l.pendingOrder.count > 2 * max(16, l.pendingSet.count) { l.pendingOrder = l.pendingOrder.filter(l.pendingSet.contains) }
            if l.bytesWritten > l.compactAt { try? l.rewrite() }
        }
    }

    /// The sweep's new high-water mark, kept across restarts.
    package func setHighWater(_ t: Int64) throws {
        try log.withLock { l in
            try l.append("s \(t)\n", sync: true)
            l.highWater = t
        }
    }
}
