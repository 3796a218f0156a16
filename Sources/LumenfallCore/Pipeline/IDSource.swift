/// Where a run's ids come from, pulled one at a time so the source is read only as fast as
/// the work goes: an array, an id file, a listing that pages through the API.
///
/// Sources are classes pulled by one task, the run loop, one call at a time; their counters
/// are read after the run. Hence `@unchecked Sendable` on each: no two threads touch one at once.
public protocol IDSource: AnyObject, Sendable {
    /// The next id, or nil when there are no more. An APIError ends the source (the run
    /// fetches what it already has and reports the error).
    func next() async throws -> String?
}

public final class ArrayIDSource: IDSource, @unchecked Sendable {
    private var ids: [String]
    private var index = 0
    public init(_ ids: [String]) { self.ids = ids }
    public func next() async throws -> String? {
        guard index < ids.count else { return nil }
        defer { index += 1 }
        return ids[index]
    }
}

/// `--all`: pages through `GET /videos` as ids are needed, skipping what `keep` refuses, and
/// stopping after `maxItems` ids.
public final class ListingIDSource: IDSource, @unchecked Sendable {
    private var cursor: ListCursor
    private let keep: @Sendable (VideoObject) -> Bool
    private let maxItems: Int?
    private var page: [VideoObject] = []
    private var index = 0
    public private(set) var taken = 0
    public private(set) var skipped = 0

    public init(cursor: ListCursor, maxItems: Int?, keep: @escaping @Sendable (VideoObject) -> Bool) {
        self.cursor = cursor
        self.maxItems = maxItems
        self.keep = keep
    }

    public func next() async throws -> String? {
        while true {
            if let maxItems, taken >= maxItems { return nil }
            if index < page.count {
                let v = page[index]
                index += 1
                guard keep(v) else {
                    skipped += 1
                    continue
                }
                taken += 1
                return v.id
            }
            guard let p = try await cursor.nextPage() else { return nil }
            page = p
            index = 0
        }
    }
}

/// Several sources one after the other: the ids given on the command line, then the listing.
public final class ChainedIDSource: IDSource, @unchecked Sendable {
    private var sources: [IDSource]
    public init(_ sources: [IDSource]) { self.sources = sources }
    public func next() async throws -> String? {
        while let first = sources.first {
            if let id = try await first.next() { return id }
            sources.removeFirst()
        }
        return nil
    }
}
