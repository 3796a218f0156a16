import ArgumentParser

/// Where the files go and how much is said on stderr.
struct OutputOptions: ParsableArguments {
    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("Output folder (created if missing).", valueName: "DIR"))
    var output: String = "."

    @Flag(name: [.short, .long], help: "Print only errors and the final summary.")
    var quiet = false

    @Flag(name: [.short, .long], help: "Also print debug detail (requests, decisions).")
    var verbose = false
}
