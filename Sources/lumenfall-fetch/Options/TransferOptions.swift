import ArgumentParser
import LumenfallCore

/// Connecting, stalls, retries and how many downloads run at once.
struct TransferOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Abort and resume a transfer slower than --min-speed (by default: one that moves no byte) for this long.", valueName: "SECONDS")
    )
    var stallTimeout = Seconds(30)

    @Option(
        help: ArgumentHelp(
            "A transfer slower than RATE on average over --stall-timeout counts as stalled, as curl's -Y: bytes/s, or 10K, 1M (binary units).",
            valueName: "RATE"))
    var minSpeed = ByteCount(bytes: 1)

    @Option(
        help: ArgumentHelp(
            "Give up on one id's download (all attempts, waits and link refreshes) after this long; the partial file is kept. Default: no limit.",
            valueName: "SECONDS"))
    var maxTime: Seconds?

    @Option(
        help: ArgumentHelp(
            "Cap the total download rate of the run, all transfers together (as curl's and aria2c's): bytes/s, or 500K, 2M (binary units).",
            valueName: "RATE"))
    var limitRate: ByteCount?

    @Option(
        help: ArgumentHelp(
            "Download each file over up to N ranged connections at once (as aria2c -x/-s), for hosts that cap each connection; ranges of at least 1 MiB.",
            valueName: "N"))
    var segments: Int = 1

    @Option(help: ArgumentHelp("Give up connecting to a host after this long.", valueName: "SECONDS"))
    var connectTimeout = Seconds(30)

    @Option(help: ArgumentHelp("Transient failures in a row without progress (429, 5xx, resets, stalls) tolerated per id.", valueName: "N"))
    var retries: Int = 10

    @Option(
        help: ArgumentHelp(
            "First wait after a transient failure; doubles each time (with jitter), up to 60 s. Retry-After wins when sent.",
            valueName: "SECONDS"))
    var retryDelay = Seconds(1)

    @Option(help: ArgumentHelp("How many downloads run at once; they start with the link that expires first.", valueName: "N"))
    var jobs: Int = 4

    func validate() throws {
        if !(stallTimeout.value >= 1) { throw ValidationError("--stall-timeout must be at least 1 second") }
        if !(connectTimeout.value > 0) { throw ValidationError("--connect-timeout must be more than 0 seconds") }
        if let t = maxTime, !(t.value > 0) { throw ValidationError("--max-time must be more than 0 seconds") }
        if minSpeed.bytes > 1 << 40 { throw ValidationError("--min-speed must be at most 1T") }
        if let r = limitRate, r.bytes > 1 << 40 { throw ValidationError("--limit-rate must be at most 1T") }
        // Each of --jobs transfers gets a share of the cap; a floor above that share would
        // abort every transfer as too slow.
        if let r = limitRate, minSpeed.bytes > 1, minSpeed.bytes * Int64(max(1, jobs)) > r.bytes {
            throw ValidationError(
                "--min-speed \(minSpeed.bytes) B/s is above each transfer's share of --limit-rate \(r.bytes) B/s over --jobs \(jobs); lower it"
            )
        }
        if retries < 0 || retries > 1000 { throw ValidationError("--retries must be between 0 and 1000") }
        if jobs < 1 || jobs > 64 { throw ValidationError("--jobs must be between 1 and 64") }
        if segments < 1 || segments > 16 { throw ValidationError("--segments must be between 1 and 16") }
    }

    var retryPolicy: RetryPolicy {
        RetryPolicy(initialDelay: retryDelay.value, maxDelay: max(retryDelay.value, 60), maxRetries: retries)
    }

    func apply(to config: inout FetchConfiguration) {
        config.api.connectTimeout = connectTimeout.value
        config.api.stallTimeout = stallTimeout.value
        config.download.connectTimeout = connectTimeout.value
        config.download.stallTimeout = stallTimeout.value
        config.download.minSpeed = Int(minSpeed.bytes)
        config.download.maxTime = maxTime?.value
        config.download.rateLimiter = limitRate.map { RateLimiter(bytesPerSecond: $0.bytes) }
        config.download.retry = retryPolicy
        config.download.segments = segments
        config.jobs = jobs
    }
}
