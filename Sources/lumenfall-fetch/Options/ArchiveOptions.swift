import ArgumentParser
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
}
