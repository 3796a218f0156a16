import Foundation
import LumenfallCore

#if canImport(Glibc)
import Glibc
#endif

/// A file named on the command line that holds a secret (the API key, webhook secrets).
///
/// Its path is the user's choice, so a symlink is followed: Kubernetes mounts a Secret's keys as
/// links into a `..data` folder, and a credentials folder may link too. Bounded and never
/// blocking (a FIFO or /dev/zero named by mistake is refused), a regular file only.
enum SecretFile {
    static let limit = 64 << 10

    static func read(_ path: String) -> [UInt8]? {
        AtomicFile.readSmall(path, limit: limit, followLinks: true)
    }

    /// Warns when users other than this process's could read the file: any permission for
    /// others, or for a group this process is not in. A group this process is in is how
    /// Kubernetes (fsGroup) and a service's own group share a secret with it alone.
    static func warnIfExposed(_ path: String, what: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return }
        let others = st.st_mode & 0o007 != 0
        let foreignGroup = st.st_mode & 0o070 != 0 && !inGroup(st.st_gid)
        if others || foreignGroup {
            Diagnostics.line("warning: the \(what) file \(TerminalText.safe(path)) can be read by other users; chmod 600 it")
        }
    }

    private static func inGroup(_ gid: gid_t) -> Bool {
        if gid == getegid() { return true }
        var groups = [gid_t](repeating: 0, count: 256)
        let n = getgroups(Int32(groups.count), &groups)
        return n > 0 && groups.prefix(Int(n)).contains(gid)
    }
}
