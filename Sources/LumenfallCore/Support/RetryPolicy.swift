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

    /// Transient failures (429, 5xx, timeouts, resets) of the API, the media hosts and the store:
    /// doubling waits, half of each random, so many ids that failed together spread out.
    var backoff: Backoff { Backoff(initial: initialDelay, cap: maxDelay, factor: 2, jitter: 0.5) }

    /// S3 requests: a transient answer (5xx, 429, 408, a dropped connection) is tried 4 more
    /// times, from 0.25 s up to 8 s, as the AWS SDKs' standard mode does; an archive part that
    /// meets one 500 is sent again rather than failing the whole upload.
    public static let storage = RetryPolicy(initialDelay: 0.25, maxDelay: 8, maxRetries: 4)
}

extension Backoff {
    /// Polling a job that is still running: waits grow by half, 20 % of each random. Not an
    /// error, so gentler than `RetryPolicy.backoff`; every backoff shape lives in this file.
    static func polling(_ p: PollPolicy) -> Backoff {
        Backoff(initial: p.interval, cap: p.maxInterval, factor: 1.5, jitter: 0.2)
    }
}
