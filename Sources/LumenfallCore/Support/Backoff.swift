import Foundation

/// Exponential backoff with jitter, so hundreds of unattended downloads that failed together do
/// not retry together. Pure: the random source is injected so tests can pin it.
struct Backoff: Sendable {
    var initial: Double
    var cap: Double
    var factor: Double
    /// The fraction of each delay that is random: 0.2 gives delays in [0.8 d, 1.2 d].
    var jitter: Double

    init(initial: Double, cap: Double, factor: Double = 2, jitter: Double = 0.2) {
        self.initial = initial
        self.cap = cap
        self.factor = factor
        self.jitter = jitter
    }

    /// The delay before retry number `attempt` (0-based). `random` yields a value in [0, 1).
    func delay(attempt: Int, random: Double) -> Double {
        let base = min(cap, initial * pow(factor, Double(min(attempt, 60))))
        let spread = base * jitter
        return max(0, min(cap, base - spread + 2 * spread * random))
    }
}
