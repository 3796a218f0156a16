import LumenfallCore

extension FetchCommand {
    /// Where a run's ids come from, as plain values: the same for a real run and `--dry-run`.
    struct IDPlan: Sendable {
        var ids: [String]
        var all: Bool
        var filter: ListingFilter
        var maxItems: Int?
        var shard: InputOptions.Shard?

        /// The ids in order: the arguments, `--partials`' files, the id files, then `--all`'s
        /// listing (read page by page as the run goes, never held whole); `--shard` keeps its
        /// share. Built inside the task that iterates it: the sources are iterators with one
        /// owner. The listing comes back too, for its counts.
        func source(
            partials: PartialsIDSource?, files: [LineIDSource], api: APIClient
        ) -> (
            source: IDSource, listing: ListingIDSource?
        ) {
            let filter = filter
            let listing =
                all
                ? ListingIDSource(cursor: ListCursor(api: api, since: filter.since, pageSize: 100), maxItems: maxItems) {
                    filter.keeps($0)
                } : nil
            let chained = ChainedIDSource(
                [ArrayIDSource(ids)] + (partials.map { [$0] } ?? []) + files + (listing.map { [$0] } ?? []))
            let source: IDSource = shard.map { ShardIDSource(chained, index: $0.index, count: $0.count) } ?? chained
            return (source, listing)
        }
    }

    var idPlan: IDPlan { IDPlan(ids: ids, all: all, filter: source.filter, maxItems: maxItems, shard: shard) }
}
