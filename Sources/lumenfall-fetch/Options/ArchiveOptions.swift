import ArgumentParser
import Foundation
import LumenfallArchive
import LumenfallCore

/// `--max-size` and `--remove-after-archive`: shared by `fetch --archive` and `archive`.
struct ArchiveOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Split into parts NAME-0001.tar.zst, -0002, ... whose members add up to at most SIZE (uncompressed): 500M, 2G, 1T (binary units) or bytes.",
            valueName: "SIZE"))
    var maxSize: ByteCount?

    @Flag(help: "Delete the archived videos and sidecars, only after the archive was written and verified.")
    var removeAfterArchive = false

    @Option(
        help: ArgumentHelp(
            "Compression level: zstd 1-22 (default 3), gzip 1-9 (6), xz 0-9 (6). Videos barely compress: a low level is as small and faster.",
            valueName: "N"))
    var level: Int?

    /// Checked against the archive's compression, known from its name.
    func options(for name: String) throws -> TarWriter.Options {
        if let level {
            guard let c = Compression(fileName: (name as NSString).lastPathComponent), let range = c.levels else {
                throw ValidationError("--level goes with a compressed archive (.tar.gz, .tar.zst, .tar.xz), not \(name)")
            }
            guard range.contains(level) else {
                throw ValidationError("--level \(level) is out of range for \(c.rawValue): \(range.lowerBound) to \(range.upperBound)")
            }
        }
        return TarWriter.Options(level: level)
    }
}
