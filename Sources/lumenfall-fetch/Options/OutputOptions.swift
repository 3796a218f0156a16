import ArgumentParser

/// Where the files go and how much is said on stderr.
struct OutputOptions: ParsableArguments {
    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("Output folder (created if missing).", valueName: "DIR"))
    var output: String = "."

    @Flag(name: [.short, .long], help: "Print only errors and the final summary.")
    var quiet = false

    @Flag(name: [.short, .long], help: "Also print debug detail (requests, decisions).")
    var verbose = false

    @Flag(
        help:
            "Write events as JSON Lines on stdout (queued, status, download_started, progress, retry, saved, failed, expired, archived, summary; README documents each); human lines stay on stderr."
    )
    var json = false
}
