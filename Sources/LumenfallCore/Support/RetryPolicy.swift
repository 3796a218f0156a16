public struct RetryPolicy: Sendable {
    /// The first wait after a transient failure (429, 5xx, timeout, reset); doubles after.
    public var initialDelay: Double
    public var maxDelay: Double
    /// Consecutive transient failures tolerated before giving up on an id.
    public var maxRetries: Int

    public init(initialDelay: Double = 1, maxDelay: Double = 60, maxRetries: Int = 10) {
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.maxRetries = maxRetries
    }

    var backoff: Backoff { Backoff(initial: initialDelay, cap: maxDelay, factor: 2, jitter: 0.5) }
}
