import Foundation

/// One saved id as the archiver sees it: its video on disk and its sidecar's facts.
package struct ArchiveItem: Sendable, Equatable {
    package var id: String
    package var videoFile: String
    package var videoBytes: Int64
    package var videoSHA256: String
    package var sidecarFile: String
    /// The sidecar's bytes: small, read once, written into the archive as they are.
    package var sidecar: [UInt8]
    package var model: String?
    package var cost: Double?
    package var currency: String?
    /// Unix seconds; the members' mtime, so the same inputs give the same bytes.
    package var completedAt: Int64
    /// Previews saved with `--with` (thumbnail, spritesheet), each checked on disk like the video.
    package var assets: [AssetFile] = []
    /// Previews the server said it does not have (their names).
    package var unavailableAssets: [String] = []

    package struct AssetFile: Sendable, Equatable {
        package var name: String
        package var file: String
        package var bytes: Int64
        package var sha256: String
    }

    /// Every file of the id: the video, the sidecar and the previews.
    package var memberBytes: Int64 { videoBytes + Int64(sidecar.count) + assets.reduce(0) { $0 + $1.bytes } }

    /// Whether each preview in `names` is on disk or known to be missing on the server.
    package func hasSettled(_ names: [String]) -> Bool {
        names.allSatisfy { n in assets.contains { $0.name == n } || unavailableAssets.contains(n) }
    }

    package enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        case unreadable(String)
        case notASidecar(String)
        case videoMissing(String)
        case assetMissing(String)
        package var description: String {
            switch self {
            case .unreadable(let s), .notASidecar(let s), .videoMissing(let s), .assetMissing(let s): s
            }
        }
    }

    static let maxSidecarBytes = 16 << 20

    /// Reads `<id>.json` in `directory` and checks that the video it names is there whole, and
    /// (with `checkAssets`) each preview it lists; without, a preview gone from disk is dropped.
    /// `id` is the stem of the files (the id, or a `--name` stem); the item's id is the one its
    /// sidecar's video object names when that is a valid id.
    package static func load(directory: String, id: String, checkAssets: Bool = true) throws(Problem) -> ArchiveItem {
        let sidecarName = "\(id).json"
        let path = "\(directory)/\(sidecarName)"
        // A sidecar is a few KiB; a FIFO, a device or a huge file under that name is not ours.
        // Opened without following a link (one lookup for the usual missing sidecar of a new
        // id); why it could not be read is looked into only then.
        guard let bytes = AtomicFile.readSmall(path, limit: Self.maxSidecarBytes) else {
            if AtomicFile.isSymlink(path) { throw .notASidecar("\(path) is a symbolic link, not a sidecar; skipped") }
            throw .unreadable("cannot read \(path) (missing, not a regular file, or over 16 MiB)")
        }
        guard let sidecar = Sidecar.read(bytes), sidecar.download.bytes >= 0 else {
            throw .notASidecar("\(path) is not a lumenfall-fetch sidecar")
        }
        let file = sidecar.download.file
        guard Sidecar.isOwnFile(file, of: id) else {
            throw .notASidecar("\(path) names an unexpected file '\(file)'")
        }
        guard AtomicFile.size(of: "\(directory)/\(file)") == sidecar.download.bytes else {
            throw .videoMissing("\(directory)/\(file) is missing or not \(sidecar.download.bytes) bytes as its sidecar says")
        }
        var assets: [AssetFile] = []
        var unavailable: [String] = []
        for (name, asset) in sidecar.assets.sorted(by: { $0.key < $1.key }) {
            if asset.unavailable != nil {
                unavailable.append(name)
                continue
            }
            guard let f = asset.savedFile(of: id) else { throw .notASidecar("\(path) names an unexpected \(name) file") }
            guard AtomicFile.size(of: "\(directory)/\(f.name)") == f.bytes else {
                if checkAssets {
                    throw .assetMissing(
                        "\(directory)/\(f.name) is missing or not \(f.bytes) bytes as its sidecar says; run fetch again to restore it")
                }
                continue
            }
            assets.append(AssetFile(name: name, file: f.name, bytes: f.bytes, sha256: f.sha256))
        }
        let video = sidecar.video
        return ArchiveItem(
            id: VideoID.problem(with: video.id) == nil ? video.id : id, videoFile: file, videoBytes: sidecar.download.bytes,
            videoSHA256: sidecar.download.sha256,
            sidecarFile: sidecarName, sidecar: bytes, model: video.model, cost: video.cost, currency: video.currency,
            // A member's time: when the video was completed, else when it was created (a server
            // may leave completed_at null), never 1970.
            completedAt: (video.completedAt ?? video.createdAt).map { Int64($0.timeIntervalSince1970) } ?? 0,
            assets: assets, unavailableAssets: unavailable)
    }

    /// Every complete id in a folder: each `<stem>.json` sidecar whose video is there (the
    /// stem an id, or a `--name` stem).
    package static func scan(directory: String) throws -> (items: [ArchiveItem], problems: [Problem]) {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        var items: [ArchiveItem] = []
        var problems: [Problem] = []
        for name in names where name.hasSuffix(".json") && !name.hasPrefix(".") {
            let id = String(name.dropLast(5))
            guard VideoID.problem(with: id) == nil || NameTemplate.isValidStem(id) else { continue }
            do { items.append(try load(directory: directory, id: id)) } catch { problems.append(error) }
        }
        return (items, problems)
    }
}
