import ArgumentParser
import Foundation
import LumenfallSandbox

@main
struct LumenfallSandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lumenfall-sandbox",
        abstract: "An offline Lumenfall-compatible Videos API on loopback, with scheduled jobs and injectable faults.",
        discussion: """
            Start it, then point lumenfall-fetch (or OpenAI's SDK) at the URL it prints:

              lumenfall-sandbox --port 8090 &
              export LUMENFALL_BASE_URL=http://127.0.0.1:8090/openai/v1
              export LUMENFALL_API_KEY=lmnfl_sandbox_0123456789abcdef

            Create a job with POST {base}/videos (JSON or multipart, as OpenAI's API takes it); \
            the answer is the video object, with its id. An optional "sandbox" object sets the \
            job's schedule, size, outcome and faults:

              curl -H "Authorization: Bearer $LUMENFALL_API_KEY" \\
                -H 'Content-Type: application/json' \\
                -d '{"prompt":"a fox","sandbox":{"bytes":5000000,
                     "queuedSeconds":2,"faults":{"dropAfterBytes":1000000}}}' \\
                $LUMENFALL_BASE_URL/videos

            Schedule: queuedSeconds, processingSeconds (or queuedPolls, processingPolls). \
            Outcome: "completed" (the default), "failed", "cancelled"; urlTTL (the seconds a \
            link lives); bytes, contentType, previews. Faults, each for a bounded number of \
            answers so a correct client gets there: dropAfterBytes, stallAfterBytes with \
            stallSeconds, mediaErrorStatus with retryAfter, expireURLAfterRequests, ignoreRange, \
            changeContentAfterRequests, redirect, throttleBytesPerSecond, apiErrors, rawObject \
            (a hostile template).

            For scripts, without a key: GET /sandbox/manifest (the sha256 of every completed \
            job), GET /sandbox/stats, POST /sandbox/jobs?count=N (N jobs from one spec, their \
            ids one a line). Every field and option: docs/sandbox.md.
            """)

    @Option(help: "Address to bind (loopback only).")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on; 0 picks a free one.")
    var port = 0

    @Option(help: "The API key clients must send as 'Authorization: Bearer KEY'.")
    var apiKey = SandboxServer.defaultAPIKey

    @Flag(help: "Answer GET /videos with 404, as a Lumenfall server without the list endpoint may.")
    var noList = false

    @Option(
        help: ArgumentHelp(
            "How GET /videos pages: normal, endless (has_more never ends), loop (the cursor comes back round).", valueName: "MODE"))
    var listMode = "normal"

    @Option(
        help: ArgumentHelp(
            "Random faults on every request, for soak tests: drop=0.1,stall=0.05,5xx=0.05,norange=0.05,expire=0.02,api=0.05,stall-seconds=2,seed=7",
            valueName: "RATES"))
    var chaos: String?

    @Option(
        help: ArgumentHelp(
            "Stream each media answer at most this many bytes a second, every connection on its own (as a CDN's per-connection cap).",
            valueName: "BYTES"))
    var throttle: Int?

    @Option(
        help: ArgumentHelp(
            "Write each job's bytes to DIR/<id>.<ext> (for another web server to serve); needs --media-base.", valueName: "DIR"))
    var mediaDir: String?

    @Option(help: ArgumentHelp("With --media-dir: output.url is URL/<id>.<ext>.", valueName: "URL"))
    var mediaBase: String?

    @Option(help: ArgumentHelp("Serve https with this certificate (PEM); needs --tls-key.", valueName: "PATH"))
    var tlsCert: String?

    @Option(help: ArgumentHelp("The private key (PEM) for --tls-cert.", valueName: "PATH"))
    var tlsKey: String?

    @Option(help: ArgumentHelp("Write the base URL to this file once listening (for scripts).", valueName: "PATH"))
    var urlFile: String?

    @Option(
        help: ArgumentHelp(
            "POST signed webhooks here when jobs end (a job's own webhook_url wins); needs --webhook-secret.", valueName: "URL"))
    var webhookURL: String?

    @Option(
        help: ArgumentHelp(
            "Sign webhooks with this whsec_ secret; also served at GET /v1/webhooks/secret. Enables per-job webhook_url.",
            valueName: "SECRET"))
    var webhookSecret: String?

    @Option(help: ArgumentHelp("Seconds before each redelivery of a refused webhook (Lumenfall: 5,15,45).", valueName: "LIST"))
    var webhookRetryDelays = "5,15,45"

    @Option(help: ArgumentHelp("Trust this CA bundle for https webhook receivers.", valueName: "PATH"))
    var webhookCacert: String?

    func validate() throws {
        guard host == "127.0.0.1" || host == "::1" || host == "localhost" else {
            throw ValidationError("--host must be a loopback address (127.0.0.1, ::1, localhost)")
        }
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        if SandboxListMode(rawValue: listMode) == nil { throw ValidationError("--list-mode: normal, endless or loop") }
        if (mediaDir == nil) != (mediaBase == nil) { throw ValidationError("--media-dir and --media-base go together") }
        if let t = throttle, t < 1 { throw ValidationError("--throttle must be at least 1 byte a second") }
        if webhookURL != nil && webhookSecret == nil { throw ValidationError("--webhook-url needs --webhook-secret") }
        if webhookRetryDelays.split(separator: ",").contains(where: { Double($0).map { !($0 >= 0 && $0 < 86_400) } ?? true }) {
            throw ValidationError("--webhook-retry-delays: seconds separated by commas, e.g. 5,15,45")
        }
        if let c = chaos, SandboxChaos(c) == nil { throw ValidationError("--chaos \(c): give rates such as drop=0.1,stall=0.05") }
    }

    func run() async throws {
        let server = try await SandboxServer.start(
            host: host, port: port, apiKey: apiKey, offersList: !noList,
            listMode: SandboxListMode(rawValue: listMode) ?? .normal,
            chaos: chaos.flatMap(SandboxChaos.init),
            tls: tlsCert.flatMap { c in tlsKey.map { SandboxTLS(certificateFile: c, keyFile: $0) } },
            throttleBytesPerSecond: throttle,
            webhooks: webhookSecret.map {
                SandboxWebhookConfig(
                    url: webhookURL, secret: $0, retryDelays: webhookRetryDelays.split(separator: ",").compactMap { Double($0) },
                    caFile: webhookCacert)
            })
        if let mediaDir, let mediaBase { server.serveMediaExternally(dir: mediaDir, base: mediaBase) }
        FileHandle.standardOutput.write(Data((server.baseURL + "\n").utf8))
        if let urlFile {
            try Data((server.baseURL + "\n").utf8).write(to: URL(fileURLWithPath: urlFile), options: .atomic)
        }
        // Runs until SIGINT/SIGTERM; the default action ends the process, which is all we need.
        while true { try await Task.sleep(nanoseconds: 3_600_000_000_000) }
    }
}
