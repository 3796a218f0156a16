import Foundation
import Synchronization

/// The temp files of one archive run and the step that gives them their final names, behind
/// one `Mutex`, so a signal handler and the writer never race: `abort()` (from the handler)
/// deletes every temp created so far and makes later `createTemp` calls fail, and it waits
/// while `commit` renames, so a set of parts is either all renamed or not at all. Temp names
/// are unpredictable and created with O_EXCL, so no planted link is ever written through.
package final class ArchiveCommit: Sendable {
    private struct State {
        var temps: [String] = []
        var aborted = false
        var committed = false
    }
    private let state = Mutex(State())

    package init() {}

    func createTemp(beside final: String) throws -> (String, Int32) {
        try state.withLock { s in
            if s.aborted { throw Archiver.Failure("interrupted") }
            let (path, fd) = try AtomicFile.createTemp(beside: final)
            s.temps.append(path)
            return (path, fd)
        }
    }

    func commit(_ pairs: [(String, String)]) throws {
        try state.withLock { s in
            if s.aborted { throw Archiver.Failure("interrupted") }
            var done: [String] = []
            do {
                for (temp, final) in pairs {
                    try AtomicFile.rename(temp, to: final)
                    done.append(final)
                }
            } catch {
                // Not a whole set: take back the parts already renamed (they are ours, made
                // a moment ago) so no incomplete set is left under the final names.
                for f in done { unlink(f) }
                throw error
            }
            s.committed = true
            s.temps.removeAll()
        }
    }

    /// The writer's own failure path: its temps go.
    func discard() {
        state.withLock { s in
            for t in s.temps { unlink(t) }
            s.temps.removeAll()
        }
    }

    /// From a signal handler: deletes the temps and stops the writer; false when the parts
    /// were already committed (the archive is complete and stays).
    @discardableResult
    package func abort() -> Bool {
        state.withLock { s in
            if s.committed { return false }
            s.aborted = true
            for t in s.temps { unlink(t) }
            s.temps.removeAll()
            return true
        }
    }
}
