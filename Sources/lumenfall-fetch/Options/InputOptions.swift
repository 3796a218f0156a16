import ArgumentParser
import Foundation
import LumenfallCore

/// Where `fetch` finds ids besides its arguments: id files, the API's listing, a shard of them.
struct InputOptions: ParsableArguments {
    @Option(
        name: [.customShort("i"), .long],
        help: ArgumentHelp(
            "Read more ids from FILE, one a line; '-' reads stdin. Blank lines and # comments are skipped.", valueName: "FILE"))
    var input: [String] = []

    @Flag(help: "Also fetch every video the API lists (GET /videos), except failed and cancelled ones.")
    var all = false

    @Option(
        help: ArgumentHelp(
            "With --all: only videos created since DATE (2026-11-01, 2026-11-01T08:00:00Z, or an age: 36h, 7d).", valueName: "DATE"))
    var since: Since?

    @Option(
        help: ArgumentHelp(
            "With --all: only videos created before DATE (same forms as --since): with --since, a window.", valueName: "DATE"))
    var until: Since?

    @Option(
        help: ArgumentHelp(
            "With --all: only videos with this status: completed, or queued and in_progress (waited for); may be repeated. Default: all but failed and cancelled.",
            valueName: "STATUS"))
    var status: [StatusFilter] = []

    @Option(help: ArgumentHelp("With --all: only videos made by this model (sora-2, ...); may be repeated.", valueName: "MODEL"))
    var model: [String] = []

    @Option(
        help: ArgumentHelp("With --all: stop after N listed videos (the listing is read page by page as downloads go).", valueName: "N"))
    var maxItems: Int?

    @Flag(
        help:
            "Also fetch every id that has a partial download (.part) in the output folder: finishes what an earlier run left, without its ids."
    )
    var partials = false

    @Flag(
        help:
            "Say what would be fetched, one line per id (status, already saved, size, the link's time left), and do nothing: no download, no file, no folder."
    )
    var dryRun = false

    @Option(
        help: ArgumentHelp(
            "Take only the ids in shard K of N (by a hash of the id), so N machines split one backlog: 1/3, 2/3, 3/3. "
                + "env:VAR/N takes K from the 0-based index in $VAR (a Kubernetes Indexed Job's JOB_COMPLETION_INDEX).",
            valueName: "K/N"),
        transform: { try Shard(parsing: $0) })
    var shard: Shard?

    /// What `--all` takes from the listing.
    var filter: ListingFilter {
        // Failed and cancelled videos have nothing to fetch: left out unless asked for by name
        // (they are then reported as such, not fetched).
        let statuses = status.isEmpty ? ["queued", "in_progress", "completed"] : Set(status.map(\.rawValue))
        return ListingFilter(statuses: Set(statuses), models: model.isEmpty ? nil : Set(model), since: since?.date, until: until?.date)
    }

    func validate() throws {
        let listingOnly = since != nil || until != nil || !status.isEmpty || !model.isEmpty || maxItems != nil
        if listingOnly && !all { throw ValidationError("--since, --until, --status, --model and --max-items go with --all") }
        if let s = since?.date, let u = until?.date, s >= u { throw ValidationError("--since must be before --until") }
        if let m = maxItems, m < 1 { throw ValidationError("--max-items must be at least 1") }
    }

    /// `--shard K/N`, or `env:VAR/N` where VAR holds this worker's 0-based index (so a pod of
    /// an Indexed Job finds its shard without a shell to do the arithmetic).
    struct Shard: Sendable {
        let index: Int
        let count: Int

        init(parsing argument: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
            let usage = "it takes K/N (1 <= K <= N <= 10000) or env:VAR/N"
            guard let slash = argument.lastIndex(of: "/"), let n = Int(argument[argument.index(after: slash)...]),
                (1...10_000).contains(n)
            else { throw ValidationError(usage) }
            let k = argument[..<slash]
            if k.hasPrefix("env:") {
                let name = String(k.dropFirst(4))
                guard !name.isEmpty,
                    name.utf8.allSatisfy({
                        $0 == UInt8(ascii: "_") || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0)
                    })
                else { throw ValidationError(usage) }
                guard let raw = environment[name] else {
                    throw ValidationError("$\(name) is not set; it should hold this worker's 0-based index, 0 to \(n - 1)")
                }
                guard let i = Int(raw.trimmingCharacters(in: .whitespaces)), (0..<n).contains(i) else {
                    throw ValidationError(
                        "$\(name) is '\(TerminalText.safe(String(raw.prefix(40))))', not an index from 0 to \(n - 1)")
                }
                index = i + 1
            } else {
                guard let i = Int(k), (1...n).contains(i) else { throw ValidationError(usage) }
                index = i
            }
            count = n
        }
    }
}
