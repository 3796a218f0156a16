import Foundation

/// Names of the files one id owns inside the output folder.
package struct MediaFile: Sendable, Equatable {
    package let directory: String
    package let id: String
    package let ext: String

    package var name: String { "\(id).\(ext)" }
    package var path: String { "\(directory)/\(name)" }
    package var partPath: String { "\(path).part" }
    package var statePath: String { "\(path).part.state" }
    package static func sidecarPath(directory: String, id: String) -> String { "\(directory)/\(id).json" }

    package init(directory: String, id: String, ext: String) {
        self.directory = directory
        self.id = id
        self.ext = ext
    }

    /// File extensions we write; the file name comes from the Content-Type of the answer.
    package static let knownExtensions = ["mp4", "webm", "mov", "mkv", "gif", "png", "jpg", "webp", "avif", "img"]

    package static func ext(forContentType ct: String?) -> String {
        let type = (ct ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        switch type {
        case "video/webm": return "webm"
        case "video/quicktime": return "mov"
        case "video/x-matroska", "video/matroska": return "mkv"
        case "image/gif": return "gif"
        case "image/png": return "png"
        case "image/jpeg": return "jpg"
        case "image/webp": return "webp"
        case "image/avif": return "avif"
        case let t where t.hasPrefix("image/"): return "img"  // a preview in a format we do not name
        default: return "mp4"  // video/mp4, application/octet-stream, missing: the API makes MP4
        }
    }

    /// The one way a finished `.part` is found whole, for the single-connection and the
    /// segmented download alike: its size must be the total the server announced (when it
    /// did); `digest` gives its SHA-256 (from the hash kept while writing, or by reading it
    /// back). It stays a `.part`: it becomes the video with its id's other files, a group at a
    /// time, after a barrier that puts its bytes on disk (`finalRename`, GroupCommit).
    func check(expectedTotal: Int64?, digest: (Int64) throws -> String) throws -> (bytes: Int64, sha256: String) {
        let size = AtomicFile.size(of: partPath) ?? -1
        if let total = expectedTotal, size != total {
            throw DownloadError.failed(.sizeMismatch(file: name, bytes: size, announced: total))
        }
        return (size, try digest(size))
    }

    /// The rename that makes a whole, checked `.part` the video; its state file goes after it.
    package var finalRename: GroupCommit.Rename { GroupCommit.Rename(from: partPath, to: path, thenRemove: statePath) }

    /// A `.part` left by an earlier run, if any: resuming must reuse its name.
    package static func existingPart(directory: String, id: String) -> MediaFile? {
        knownExtensions.lazy.map { MediaFile(directory: directory, id: id, ext: $0) }
            .first { AtomicFile.size(of: $0.partPath) != nil }
    }

    /// A finished file from an earlier run, if any.
    package static func existingFinal(directory: String, id: String) -> MediaFile? {
        knownExtensions.lazy.map { MediaFile(directory: directory, id: id, ext: $0) }
            .first { AtomicFile.size(of: $0.path) != nil }
    }
}
