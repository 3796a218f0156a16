public struct PollPolicy: Sendable {
    /// The first wait between two polls of a job still running.
    public var interval: Double
    /// Later waits grow by half each time, up to this cap.
    public var maxInterval: Double
    /// How long one id may take to reach a final status; nil waits for ever.
    public var maxWait: Double?
    public var retry: RetryPolicy
    /// Malformed answers (HTML from a proxy, truncated JSON) tolerated before giving up.
    public var maxMalformed: Int

    public init(
        interval: Double = 5, maxInterval: Double = 60, maxWait: Double? = 3600,
        retry: RetryPolicy = RetryPolicy(), maxMalformed: Int = 3
    ) {
        self.interval = interval
        self.maxInterval = max(interval, maxInterval)
        self.maxWait = maxWait
        self.retry = retry
        self.maxMalformed = maxMalformed
    }
}
