import Foundation

/// The end-of-batch numbers, printed and (with `fetch --archive`) put in the manifest.
public struct BatchSummary: Sendable, Equatable, Codable {
    public var saved: Int
    public var alreadySaved: Int
    public var failed: Int
    public var expired: Int
    /// Ids another worker had claimed (`-o s3://`): left to it, not fetched here.
    public var elsewhere: Int = 0
    /// Ids the run stopped before they ended (Ctrl-C, SIGTERM, or a run-wide stop): not
    /// failures; their partial files are kept for the next run.
    public var interrupted: Int = 0
    public var bytes: Int64
    public var cost: [String: Double]
    /// Saved ids whose cost is unknown (none given, or not a finite number).
    public var costUnknown: Int
    public var elapsedSeconds: Double

    public init(
        saved: Int, alreadySaved: Int, failed: Int, expired: Int, bytes: Int64,
        cost: [String: Double], costUnknown: Int = 0, elapsedSeconds: Double
    ) {
        self.costUnknown = costUnknown
        self.saved = saved
        self.alreadySaved = alreadySaved
        self.failed = failed
        self.expired = expired
        self.bytes = bytes
        self.cost = cost
        self.elapsedSeconds = elapsedSeconds
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        saved = try c.decode(Int.self, forKey: .saved)
        alreadySaved = try c.decode(Int.self, forKey: .alreadySaved)
        failed = try c.decode(Int.self, forKey: .failed)
        expired = try c.decode(Int.self, forKey: .expired)
        elsewhere = try c.decodeIfPresent(Int.self, forKey: .elsewhere) ?? 0  // absent before issue 12
        interrupted = try c.decodeIfPresent(Int.self, forKey: .interrupted) ?? 0  // absent before issue 19
        bytes = try c.decode(Int64.self, forKey: .bytes)
        cost = try c.decode([String: Double].self, forKey: .cost)
        costUnknown = try c.decodeIfPresent(Int.self, forKey: .costUnknown) ?? 0
        elapsedSeconds = try c.decode(Double.self, forKey: .elapsedSeconds)
    }

    enum CodingKeys: String, CodingKey {
        case saved, failed, expired, bytes, cost, elsewhere, interrupted
        case alreadySaved = "already_saved", costUnknown = "cost_unknown", elapsedSeconds = "elapsed_seconds"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(saved, forKey: .saved)
        try c.encode(alreadySaved, forKey: .alreadySaved)
        try c.encode(failed, forKey: .failed)
        try c.encode(expired, forKey: .expired)
        if elsewhere > 0 { try c.encode(elsewhere, forKey: .elsewhere) }
        if interrupted > 0 { try c.encode(interrupted, forKey: .interrupted) }
        try c.encode(bytes, forKey: .bytes)
        try c.encode(cost.filter { $0.value.isFinite }, forKey: .cost)
        try c.encode(costUnknown, forKey: .costUnknown)
        // Tenths of a second: enough for a person, and no noise digits in the manifest.
        try c.encode(elapsedSeconds.isFinite ? (elapsedSeconds * 10).rounded() / 10 : 0, forKey: .elapsedSeconds)
    }
}

/// The batch's numbers gathered one outcome at a time, in constant memory (but for the saved
/// ids when asked to keep them, and the first `keptFailures` failures).
public struct BatchTally: Sendable {
    public static let keptFailures = 1000

    public private(set) var saved = 0
    public private(set) var alreadySaved = 0
    public private(set) var failed = 0
    public private(set) var expired = 0
    public private(set) var elsewhere = 0
    public private(set) var interrupted = 0
    public private(set) var bytes: Int64 = 0
    /// The first failures (interrupted ids among them), for a closing list; `failed + expired
    /// + interrupted` says how many there were.
    public private(set) var failures: [(id: String, failure: FetchFailure)] = []
    public private(set) var savedIDs: [String]?
    /// Every id that ended, whatever the outcome.
    public var ended: Int { saved + alreadySaved + failed + expired + elsewhere + interrupted }
    private var costSums: [String: Double] = [:]
    private var costCounts: [String: Int] = [:]
    private var costMissing = 0

    public init(keepSavedIDs: Bool = false) {
        savedIDs = keepSavedIDs ? [] : nil
    }

    /// `saved`: the video's bytes and cost, for an id whose video is on disk.
    mutating func add(id: String, outcome: IDOutcome, saved item: SavedFacts?) {
        switch outcome {
        case .saved: saved += 1
        case .alreadySaved: alreadySaved += 1
        case .elsewhere:
            elsewhere += 1
            return
        case .failed(let f):
            switch f.kind {
            case .expired: expired += 1
            case .stopped, .apiUnreachable: interrupted += 1
            default: failed += 1
            }
            if failures.count < Self.keptFailures { failures.append((id, f)) }
            return
        }
        savedIDs?.append(id)
        guard let item else { return }
        bytes += item.bytes
        if let c = item.cost, c.isFinite, let cur = item.currency {
            costSums[cur, default: 0] += c
            costCounts[cur, default: 0] += 1
        } else {
            costMissing += 1
        }
    }

    /// Cost per currency, as Manifest.totalCost reckons it: a currency whose sum overflowed is
    /// left out, and its ids count as unknown.
    public var cost: [String: Double] { Manifest.finiteTotals(costSums) }

    public var costUnknown: Int {
        let known = cost
        return costMissing + costCounts.filter { known[$0.key] == nil }.values.reduce(0, +)
    }

    public func summary(elapsedSeconds: Double) -> BatchSummary {
        var s = BatchSummary(
            saved: saved, alreadySaved: alreadySaved, failed: failed, expired: expired, bytes: bytes,
            cost: cost, costUnknown: costUnknown, elapsedSeconds: elapsedSeconds)
        s.elsewhere = elsewhere
        s.interrupted = interrupted
        return s
    }
}

/// Remembers the last `limit` distinct ids, to drop repeats; past the limit the oldest is
/// forgotten (memory stays bounded), so a repeat from long ago is let through (and then found
/// already saved on disk, without a request). Also `watch`'s memory of webhook-ids.
package struct RecentIDs: Sendable {
    package let limit: Int
    /// A 128-bit digest per id (two differently salted Hasher values): 16 bytes instead of a
    /// String of 40 or more, so 100 000 ids cost about 4 MB, not 12. Two ids sharing one is
    /// as likely as guessing a random 128-bit number.
    struct Digest: Hashable, Sendable {
        var a: Int
        var b: Int
        init(_ id: String) {
            var h1 = Hasher()
            h1.combine(1)
            h1.combine(id)
            var h2 = Hasher()
            h2.combine(2)
            h2.combine(id)
            a = h1.finalize()
            b = h2.finalize()
        }
    }
    private var seen = Set<Digest>()
    /// Insertion order, to forget the oldest first: a ring of `limit` entries.
    private var ring: [Digest] = []
    private var next = 0

    package init(limit: Int) { self.limit = max(1, limit) }

    /// Whether `id` is among the last `limit` distinct ids, without recording it.
    package func contains(_ id: String) -> Bool { seen.contains(Digest(id)) }

    /// False when `id` was seen among the last `limit` distinct ids.
    package mutating func insert(_ id: String) -> Bool {
        let d = Digest(id)
        if seen.contains(d) { return false }
        if ring.count < limit {
            ring.append(d)
        } else {
            seen.remove(ring[next])
            ring[next] = d
            next = (next + 1) % limit
        }
        seen.insert(d)
        return true
    }
}

/// What the tally needs of a saved id: its video's size and cost.
package struct SavedFacts: Sendable {
    package var bytes: Int64
    package var cost: Double?
    package var currency: String?
}
