import CArchive

/// A libarchive failure, with `archive_error_string`'s text and where it happened.
public struct ArchiveError: Error, Sendable, CustomStringConvertible {
    public let operation: String
    public let message: String

    public init(_ operation: String, _ message: String) {
        self.operation = operation
        self.message = message
    }

    init(_ operation: String, archive: OpaquePointer?) {
        let text = archive.flatMap { archive_error_string($0) }.map { String(cString: $0) }
        self.init(operation, text ?? "libarchive gave no detail")
    }

    public var description: String { "\(operation): \(message)" }
}

/// Compression, chosen from the archive's name.
public enum Compression: String, Sendable, CaseIterable {
    case none, gzip, zstd, xz

    /// The levels a compressor takes (libarchive's `compression-level`); nil: it has none.
    public var levels: ClosedRange<Int>? {
        switch self {
        case .none: nil
        case .gzip: 1...9
        case .zstd: 1...22
        case .xz: 0...9
        }
    }

    /// `.tar`, `.tar.gz`/`.tgz`, `.tar.zst`/`.tzst`, `.tar.xz`; nil for anything else.
    public init?(fileName: String) {
        let n = fileName.lowercased()
        if n.hasSuffix(".tar") {
            self = .none
        } else if n.hasSuffix(".tar.gz") || n.hasSuffix(".tgz") {
            self = .gzip
        } else if n.hasSuffix(".tar.zst") || n.hasSuffix(".tzst") {
            self = .zstd
        } else if n.hasSuffix(".tar.xz") {
            self = .xz
        } else {
            return nil
        }
    }

    /// The name's compression suffix, for splitting `NAME.tar.zst` into `NAME-0001.tar.zst`.
    public static func splitName(_ fileName: String) -> (stem: String, suffix: String)? {
        let lower = fileName.lowercased()
        for s in [".tar.gz", ".tar.zst", ".tar.xz", ".tgz", ".tzst", ".tar"] where lower.hasSuffix(s) {
            let cut = fileName.index(fileName.endIndex, offsetBy: -s.count)
            return (String(fileName[..<cut]), String(fileName[cut...]))
        }
        return nil
    }
}
