import ArgumentParser
import LumenfallCore

/// How unfinished jobs are waited for.
struct PollingOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "First wait between polls of an unfinished job; later waits grow with jitter up to --max-poll-interval.", valueName: "SECONDS"))
    var pollInterval = Seconds(5)

    @Option(help: ArgumentHelp("Cap on the wait between two polls.", valueName: "SECONDS"))
    var maxPollInterval = Seconds(60)

    @Option(help: ArgumentHelp("Give up on an id that has not completed after this long (0: wait for ever).", valueName: "SECONDS"))
    var maxWait = Seconds(3600)

    @Option(help: ArgumentHelp("How many ids are polled at once, apart from the downloads.", valueName: "N"))
    var pollJobs: Int = 8

    func validate() throws {
        if !(pollInterval.value > 0) { throw ValidationError("--poll-interval must be more than 0 seconds") }
        if !(maxPollInterval.value > 0) { throw ValidationError("--max-poll-interval must be more than 0 seconds") }
        if pollJobs < 1 || pollJobs > 64 { throw ValidationError("--poll-jobs must be between 1 and 64") }
    }

    func policy(retry: RetryPolicy) -> PollPolicy {
        PollPolicy(
            interval: pollInterval.value, maxInterval: maxPollInterval.value,
            maxWait: maxWait.value == 0 ? nil : maxWait.value, retry: retry)
    }
}
