import ArgumentParser
import LumenfallCore

/// How long `fetch` waits for an API it cannot reach (`watch`, a service, waits for ever).
struct APIWaitOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Stop (exit 4) when the API has not answered once within this long: a wrong --base-url or a dead host is said in seconds (off: wait for ever).",
            valueName: "DURATION"))
    var apiWait = Interval(15)

    @Option(
        help: ArgumentHelp(
            "Once the API has answered, wait out an outage this long, every id together, before stopping (exit 4) (off: for ever).",
            valueName: "DURATION"))
    var outageLimit = Interval(1800)

    var policy: APIHealthPolicy { APIHealthPolicy(firstContact: apiWait.seconds, outage: outageLimit.seconds) }
}
