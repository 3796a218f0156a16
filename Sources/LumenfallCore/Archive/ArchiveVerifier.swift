import Crypto
import Foundation
import LumenfallArchive

/// Checks an archive in one streaming pass: `manifest.json` and `SHA256SUMS` come first, so
/// every later member is hashed as it streams by and compared at once. Nothing is extracted;
/// unsafe members (absolute names, `..`, links, devices) are reported, never followed.
package enum ArchiveVerifier {
    package struct Problem: Sendable, Equatable, CustomStringConvertible {
        package enum Kind: String, Sendable {
            case missing, extra, corrupt, unsafe, unreadable
        }
        package var kind: Kind
        package var member: String
        package var detail: String
        /// `member` is empty for a problem of the whole archive (it cannot be opened or read).
        package var description: String { member.isEmpty ? "\(kind.rawValue): \(detail)" : "\(kind.rawValue): \(member): \(detail)" }
    }

    package struct Report: Sendable {
        package var path: String
        package var members: Int = 0
        package var bytes: Int64 = 0
        package var problems: [Problem] = []
        package var ok: Bool { problems.isEmpty }
    }

    /// A member's name is safe to extract: relative, no `..` component, not empty.
    package static func isSafeName(_ name: String) -> Bool {
        guard !name.isEmpty, !name.hasPrefix("/"), !name.hasPrefix("\\") else { return false }
        return !name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).contains("..")
    }

    /// The largest member read when only the checksum list (no manifest) names it: 64 GiB,
    /// far past any video, and a bound on the work a header's claim can cause.
    package static let maxUnlistedSize: Int64 = 64 << 30

    /// An archive named by a person: a regular file (a link to one is followed, as they named
    /// it). A FIFO or a device is refused at once rather than waited on in open().
    package static func verify(path: String, progress: (@Sendable (Int64) -> Void)? = nil) -> Report {
        let fd: Int32
        do { fd = try AtomicFile.openRegular(path, followLinks: true) } catch {
            var report = Report(path: path)
            // The report is printed under the archive's name: the reason need not repeat it.
            let why = ErrorText.describe(error).replacingOccurrences(of: "cannot open \(path): ", with: "")
            report.problems.append(Problem(kind: .unreadable, member: "", detail: "cannot open it: \(why)"))
            return report
        }
        defer { close(fd) }
        return verify(fd: fd, name: path, progress: progress)
    }

    /// The archive read from `fd` (a file, or the pipe `verify s3://` feeds).
    /// `progress` hears each chunk of member bytes checked, as it is.
    package static func verify(fd: Int32, name path: String, progress: (@Sendable (Int64) -> Void)? = nil) -> Report {
        var report = Report(path: path)
        func problem(_ k: Problem.Kind, _ m: String, _ d: String) { report.problems.append(Problem(kind: k, member: m, detail: d)) }

        let reader: TarReader
        do { reader = try TarReader(fd: fd) } catch {
            problem(.unreadable, "", "\(ErrorText.describe(error))")
            return report
        }
        var fromManifest: [String: (Int64, String)]?
        var fromSums: [String: String]?
        var seen = Set<String>()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        var index = 0
        do {
            while let entry = try reader.next() {
                defer { index += 1 }
                report.members += 1
                guard isSafeName(entry.name) else {
                    problem(.unsafe, entry.name, "an absolute name or one with '..'; not followed")
                    continue
                }
                guard entry.kind == .file else {
                    problem(.unsafe, entry.name, "a \(entry.kind) member; only regular files belong here")
                    continue
                }
                if !seen.insert(entry.name).inserted {
                    problem(.extra, entry.name, "appears more than once")
                }
                // The two index members are read whole (they are small); the rest streams.
                if index < 2 && (entry.name == Manifest.memberName || entry.name == Manifest.sumsName) {
                    guard entry.size <= 64 << 20 else {
                        problem(.corrupt, entry.name, "implausibly large (\(entry.size) bytes)")
                        continue
                    }
                    var bytes: [UInt8] = []
                    while true {
                        let n = try reader.read(into: buffer)
                        if n == 0 { break }
                        bytes.append(contentsOf: buffer[0..<n])
                    }
                    if entry.name == Manifest.memberName {
                        fromManifest = Manifest.expectations(fromJSON: bytes)
                        if fromManifest == nil { problem(.corrupt, entry.name, "not a lumenfall-fetch manifest") }
                    } else {
                        fromSums = Manifest.parseSums(bytes)
                        if fromSums == nil { problem(.corrupt, entry.name, "a line is not 'sha256  name'") }
                    }
                    continue
                }
                if index < 2 {
                    problem(.corrupt, entry.name, "\(Manifest.memberName) and \(Manifest.sumsName) must come first")
                }
                // A header's size is a claim (a PAX sparse map can announce a petabyte of zeros
                // in 10 KiB): it is checked against the manifest before a byte is hashed, and a
                // member nothing lists is not read at all.
                let expected = fromManifest?[entry.name]
                let listed = fromSums?[entry.name]
                if expected == nil && listed == nil {
                    problem(.extra, entry.name, "not listed in \(Manifest.memberName) or \(Manifest.sumsName)")
                    continue
                }
                if let (b, _) = expected, b != entry.size {
                    problem(.corrupt, entry.name, "its header says \(entry.size) bytes, the manifest says \(b); not read")
                    continue
                }
                if expected == nil, entry.size > maxUnlistedSize {
                    problem(.corrupt, entry.name, "its header claims \(entry.size) bytes and no manifest gives its size; not read")
                    continue
                }
                var hasher = SHA256()
                var size: Int64 = 0
                while true {
                    let n = try reader.read(into: buffer)
                    if n == 0 { break }
                    hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                    size += Int64(n)
                    progress?(Int64(n))
                }
                report.bytes += size
                let digest = hasher.finalize().hex
                if let (b, s) = expected, b != size || s != digest {
                    problem(
                        .corrupt, entry.name,
                        b != size ? "\(size) bytes, the manifest says \(b)" : "sha256 \(digest) differs from the manifest's \(s)")
                } else if let s = listed, s != digest {
                    problem(.corrupt, entry.name, "sha256 \(digest) differs from \(Manifest.sumsName)'s \(s)")
                }
            }
        } catch {
            problem(.unreadable, "", "the archive is truncated or damaged: \(ErrorText.describe(error))")
        }
        if fromManifest == nil && !report.problems.contains(where: { $0.member == Manifest.memberName }) {
            problem(.missing, Manifest.memberName, "no manifest; nothing can be checked against it")
        }
        if fromSums == nil && !report.problems.contains(where: { $0.member == Manifest.sumsName }) {
            problem(.missing, Manifest.sumsName, "no checksum list")
        }
        let expectedNames = Set((fromManifest ?? [:]).keys).union((fromSums ?? [:]).keys)
        for name in expectedNames.subtracting(seen).sorted() {
            problem(.missing, name, "listed but not in the archive")
        }
        return report
    }
}
