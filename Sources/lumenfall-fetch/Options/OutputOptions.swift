import ArgumentParser
import LumenfallCore

/// Where the files go and how much is said on stderr.
struct OutputOptions: ParsableArguments {
    @Option(
        name: [.customShort("o"), .long], help: ArgumentHelp("Output folder (created if missing). (default: .)", valueName: "DIR"),
        transform: OutputTarget.parse)
    var output: OutputTarget = .folder(".")

    @Option(
        help: ArgumentHelp(
            "Name new files from the video: {id}, {model}, {created:%Y-%m-%d}, {completed:FMT}, {prompt:40}, {seconds}, {size}, {status}; e.g. '{created}_{model}_{prompt:30}_{id}'. Sanitised; reruns find them by id. (default: {id})",
            valueName: "TEMPLATE"),
        transform: { text in
            do { return try NameTemplate(parsing: text) } catch { throw ValidationError("--name '\(text)': \(error)") }
        })
    var name: NameTemplate?

    @Flag(name: [.short, .long], help: "Print only errors and the final summary.")
    var quiet = false

    @Flag(name: [.short, .long], help: "Also print debug detail (requests, decisions).")
    var verbose = false

    @Option(
        help: ArgumentHelp(
            "How progress shows on stderr: auto (live on a terminal, plain otherwise and with TERM=dumb), live (rows redrawn in place), plain (a line per change, and per download every 10 % or 30 s), none (only failures, warnings and the summary).",
            valueName: "MODE"))
    var progress: ProgressMode = .auto

    @Flag(help: "Start each plain line on stderr with the UTC time (2026-12-05T08:12:57Z), for logs.")
    var timestamps = false

    @Flag(
        help:
            "Write events as JSON Lines on stdout (\(JSONEvents.names.joined(separator: ", ")); docs/reference.md documents each); human lines stay on stderr."
    )
    var json = false
}

enum ProgressMode: String, ExpressibleByArgument, CaseIterable {
    case auto, live, plain, none

    /// What `auto` means here: live on a terminal that can redraw, plain otherwise.
    func resolved(stderrIsTerminal: Bool, term: String?) -> ProgressMode {
        guard self == .auto else { return self }
        return stderrIsTerminal && term != "dumb" ? .live : .plain
    }
}
