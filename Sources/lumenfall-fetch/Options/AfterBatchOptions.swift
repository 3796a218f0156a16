import ArgumentParser
import LumenfallCore

/// What `fetch` does once the batch has ended: an archive of it, a gallery page.
struct AfterBatchOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "After the batch, bundle every saved id (video and sidecar) into this archive (.tar, .tar.gz, .tar.zst, .tar.xz).",
            valueName: "PATH"), transform: ArchiveTarget.parseForWriting)
    var archive: ArchiveTarget?

    @Flag(
        help:
            "After the batch, write DIR/index.html, a static page of every saved video (see the gallery subcommand); with --archive, the archive carries one too."
    )
    var gallery = false
}
