import ArgumentParser
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
        help: ArgumentHelp("With --all: stop after N listed videos (the listing is read page by page as downloads go).", valueName: "N"))
    var maxItems: Int?

    @Option(
        help: ArgumentHelp(
            "Take only the ids in shard K of N (by a hash of the id), so N machines split one backlog: 1/3, 2/3, 3/3.", valueName: "K/N"))
    var shard: Shard?

    struct Shard: ExpressibleByArgument, Sendable {
        let index: Int
        let count: Int
        init?(argument: String) {
            let parts = argument.split(separator: "/")
            guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), (1...10_000).contains(n), (1...n).contains(k) else {
                return nil
            }
            index = k
            count = n
        }
    }
}
