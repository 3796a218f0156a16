import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `DIR/.lumenfall-names`: which stem each id's files have when `--name` made them, one
/// `<id>\t<stem>` line each, appended (and fdatasync'd) before the id's first byte is written,
/// so a rerun finds a saved or partial file by its id without a request, whatever it is called.
/// Read back as input from outside: at most 64 MiB, each line checked (a valid id, a stem that
/// `NameTemplate.sanitize` leaves as it is), a bad line skipped, the last line for an id winning.
/// A folder without the file has every file named by its id.
package final class NameIndex: Sendable {
    package static let fileName = ".lumenfall-names"
    static let maxBytes = 64 << 20

    private struct State {
        var byID: [String: String] = [:]
        var byStem: [String: String] = [:]
        var fd: Int32 = -1
    }
    private let state = Mutex(State())
    package let path: String

    /// The index of `directory`, read if it is there (nothing is created until `record`).
    package init(directory: String) {
        path = "\(directory)/\(Self.fileName)"
        guard let bytes = AtomicFile.readSmall(path, limit: Self.maxBytes) else { return }
        var byID: [String: String] = [:]
        var byStem: [String: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.utf8.count <= 1024 {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 2 else { continue }
            let (id, stem) = (String(fields[0]), String(fields[1]))
            guard VideoID.problem(with: id) == nil, NameTemplate.isValidStem(stem) else { continue }
            if let old = byID[id] { byStem[old] = nil }
            byID[id] = stem
            byStem[stem] = id
        }
        state.withLock {
            $0.byID = byID
            $0.byStem = byStem
        }
    }

    deinit { state.withLock { if $0.fd >= 0 { close($0.fd) } } }

    package func stem(for id: String) -> String? { state.withLock { $0.byID[id] } }
    package func id(forStem stem: String) -> String? { state.withLock { $0.byStem[stem] } }
    package var all: [(id: String, stem: String)] { state.withLock { $0.byID.map { ($0.key, $0.value) }.sorted { $0.0 < $1.0 } } }

    /// The stem `id` gets: the one it has, else `wanted` unless another id has it (then
    /// `wanted_<id>`), recorded durably before it is used.
    package func assign(_ id: String, wanted: String) throws -> String {
        try state.withLock { s in
            if let have = s.byID[id] { return have }
            var stem = wanted
            if stem != id,
                s.byStem[stem] != nil
                    || FileManager.default.fileExists(atPath: "\((path as NSString).deletingLastPathComponent)/\(stem).json")
            {
                stem = NameTemplate.sanitize(String(wanted.prefix(NameTemplate.maxBytes - id.count - 1)) + "_" + id)
            }
            if stem == id { return id }  // named by its id: nothing to remember
            if s.fd < 0 { s.fd = try AtomicFile.openForWriting(path, flags: O_WRONLY | O_CREAT | O_APPEND) }
            let line = Array("\(id)\t\(stem)\n".utf8)
            let n = line.withUnsafeBytes { write(s.fd, $0.baseAddress, $0.count) }
            guard n == line.count, fdatasync(s.fd) == 0 else {
                throw AtomicFile.Failure(description: "cannot write \(path): \(String(cString: strerror(errno)))")
            }
            s.byID[id] = stem
            s.byStem[stem] = id
            return stem
        }
    }
}
