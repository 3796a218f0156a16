import Foundation

/// Names of the files one id owns inside the output folder.
public struct MediaFile: Sendable, Equatable {
    public let directory: String
    public let id: String
    public let ext: String

    public var name: String { "\(id).\(ext)" }
    public var path: String { "\(directory)/\(name)" }
    public var partPath: String { "\(path).part" }
    public var statePath: String { "\(path).part.state" }
    public static func sidecarPath(directory: String, id: String) -> String { "\(directory)/\(id).json" }

    public init(directory: String, id: String, ext: String) {
        self.directory = directory
        self.id = id
        self.ext = ext
    }

    /// File extensions we write; the file name comes from the Content-Type of the answer.
    public static let knownExtensions = ["mp4", "webm", "mov", "mkv", "gif", "png", "jpg", "webp", "avif", "img"]

    public static func ext(forContentType ct: String?) -> String {
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

    /// The one way a finished `.part` becomes the video, for the single-connection and the
    /// segmented download alike: its size must be the total the server announced (when it
    /// did); `digest` gives its SHA-256 (from the hash kept while writing, or by reading it
    /// back); then it is synced and renamed (`commitPart`). `fd`: a descriptor already open on
    /// it, else it is opened here as input from outside (regular file, no link).
    func commit(expectedTotal: Int64?, fd: Int32? = nil, digest: (Int64) throws -> String) throws -> (bytes: Int64, sha256: String) {
        let size = AtomicFile.size(of: partPath) ?? -1
        if let total = expectedTotal, size != total {
            throw DownloadError.failed(.sizeMismatch(file: name, bytes: size, announced: total))
        }
        let sha = try digest(size)
        let syncFD: Int32
        if let fd {
            syncFD = fd
        } else {
            do { syncFD = try AtomicFile.openRegular(partPath, flags: O_RDWR) } catch {
                throw DownloadError.disk("\(ErrorText.describe(error))")
            }
        }
        defer { if fd == nil { close(syncFD) } }
        guard fsync(syncFD) == 0 else { throw DownloadError.disk("cannot sync \(partPath): \(String(cString: strerror(errno)))") }
        try commitPart()
        return (size, sha)
    }

    /// Renames a whole, synced `.part` to the final name and drops its state file. The
    /// folder's fsync comes with the sidecar's, batched (DirectorySync): the id is reported
    /// saved only after it.
    private func commitPart() throws {
        do {
            try AtomicFile.rename(partPath, to: path, syncDirectory: false)
        } catch {
            throw DownloadError.disk("\(ErrorText.describe(error))")
        }
        unlink(statePath)
    }

    /// A `.part` left by an earlier run, if any: resuming must reuse its name.
    public static func existingPart(directory: String, id: String) -> MediaFile? {
        knownExtensions.lazy.map { MediaFile(directory: directory, id: id, ext: $0) }
            .first { AtomicFile.size(of: $0.partPath) != nil }
    }

    /// A finished file from an earlier run, if any.
    public static func existingFinal(directory: String, id: String) -> MediaFile? {
        knownExtensions.lazy.map { MediaFile(directory: directory, id: id, ext: $0) }
            .first { AtomicFile.size(of: $0.path) != nil }
    }
}
