import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Which file stems of the output folder may already have a `.part` or a video without its
/// sidecar, read once when a run starts, so a new id costs no lookups: looking for them one by
/// one takes a lookup per known extension, 20 for each new id, 13 % of a 10 000-id run's CPU
/// in a folder of 20 000 files.
///
/// It only ever answers "nothing there" for a stem that had no such file when the folder was
/// read and that this run has not failed on since: every failure (which may leave a `.part`,
/// or a video renamed before its sidecar) marks its stem, and a marked stem is looked for on
/// disk as before. The folder is locked by the run, so nothing else adds our files to it. A
/// folder of more than `maxEntries` names is not indexed (everything is looked for): reading
/// it would cost more than the lookups it saves, and memory. One `Mutex` around the state.
package final class FolderIndex: Sendable {
    package static let maxEntries = 200_000

    private struct State {
        /// Stems with a `.part`, or a final file of a known extension and no sidecar, at the start.
        var found: Set<String>
        /// Stems this run failed on.
        var marked: Set<String> = []
    }
    private let state: Mutex<State>
    /// Sidecar temps (`.<stem>.json.tmp-*`) left by a run killed before its group's renames.
    package let sidecarTemps: [String]

    /// Reads `directory`; nil when it cannot be read or has more than `maxEntries` names.
    package init?(directory: String, maxEntries: Int = FolderIndex.maxEntries) {
        guard let (found, temps) = Self.scan(directory, maxEntries: maxEntries) else { return nil }
        state = Mutex(State(found: found))
        sidecarTemps = temps.map { "\(directory)/\($0)" }
    }

    /// Removes the sidecar temps untouched for `olderThan` seconds: a live run renames its own
    /// within a group's time (a second or so), so an old one is a killed run's.
    package func removeStaleSidecarTemps(olderThan: Double = 600, now: Date = Date()) {
        for path in sidecarTemps {
            var st = stat()
            guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG,
                now.timeIntervalSince1970 - Double(st.st_mtim.tv_sec) > olderThan
            else { continue }
            unlink(path)
        }
    }

    /// False only when the stem surely has no `.part` and no sidecar-less video.
    package func mayHaveFiles(_ stem: String) -> Bool {
        state.withLock { $0.found.contains(stem) || $0.marked.contains(stem) }
    }

    /// A download of `stem` failed or was stopped: its files are looked for from now on.
    package func mark(_ stem: String) { _ = state.withLock { $0.marked.insert(stem) } }

    static func scan(_ directory: String, maxEntries: Int) -> (Set<String>, [String])? {
        guard let dir = opendir(directory) else { return nil }
        defer { closedir(dir) }
        let known = Set(MediaFile.knownExtensions)
        var parts = Set<String>()
        var finals = Set<String>()
        var sidecars = Set<String>()
        var temps: [String] = []
        var count = 0
        while let entry = readdir(dir) {
            count += 1
            if count > maxEntries { return nil }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasPrefix("."), name.contains(".json.tmp-") {
                temps.append(name)
                continue
            }
            if name.hasSuffix(".json") {
                sidecars.insert(String(name.dropLast(5)))
                continue
            }
            let isPart = name.hasSuffix(".part")
            let base = isPart ? name.dropLast(5) : name[...]
            guard let dot = base.lastIndex(of: "."), known.contains(String(base[base.index(after: dot)...])) else { continue }
            let stem = String(base[..<dot])
            if isPart { parts.insert(stem) } else { finals.insert(stem) }
        }
        return (parts.union(finals.subtracting(sidecars)), temps)
    }
}
