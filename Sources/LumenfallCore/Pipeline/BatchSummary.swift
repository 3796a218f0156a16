import Foundation

/// The end-of-batch numbers, printed and (with `fetch --archive`) put in the manifest.
public struct BatchSummary: Sendable, Equatable {
    public var saved: Int
    public var alreadySaved: Int
    public var failed: Int
    public var expired: Int
    public var bytes: Int64
    public var cost: [String: Double]
    /// Saved ids whose cost is unknown (none given, or not a finite number).
    public var costUnknown: Int
    public var elapsedSeconds: Double

    public init(saved: Int, alreadySaved: Int, failed: Int, expired: Int, bytes: Int64,
                cost: [String: Double], costUnknown: Int = 0, elapsedSeconds: Double) {
        self.costUnknown = costUnknown
        self.saved = saved
        self.alreadySaved = alreadySaved
        self.failed = failed
        self.expired = expired
        self.bytes = bytes
        self.cost = cost
        self.elapsedSeconds = elapsedSeconds
    }

    func json() -> [String: Any] {
        ["saved": saved, "already_saved": alreadySaved, "failed": failed, "expired": expired,
         "bytes": bytes, "cost": cost, "cost_unknown": costUnknown,
         "elapsed_seconds": elapsedSeconds.isFinite ? (elapsedSeconds * 10).rounded() / 10 : 0]
    }
}
