import Foundation

/// The end-of-batch numbers, printed and (with `fetch --archive`) put in the manifest.
public struct BatchSummary: Sendable, Equatable, Codable {
    public var saved: Int
    public var alreadySaved: Int
    public var failed: Int
    public var expired: Int
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

    enum CodingKeys: String, CodingKey {
        case saved, failed, expired, bytes, cost
        case alreadySaved = "already_saved", costUnknown = "cost_unknown", elapsedSeconds = "elapsed_seconds"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(saved, forKey: .saved)
        try c.encode(alreadySaved, forKey: .alreadySaved)
        try c.encode(failed, forKey: .failed)
        try c.encode(expired, forKey: .expired)
        try c.encode(bytes, forKey: .bytes)
        try c.encode(cost.filter { $0.value.isFinite }, forKey: .cost)
        try c.encode(costUnknown, forKey: .costUnknown)
        // Tenths of a second: enough for a person, and no noise digits in the manifest.
        try c.encode(elapsedSeconds.isFinite ? (elapsedSeconds * 10).rounded() / 10 : 0, forKey: .elapsedSeconds)
    }
}
