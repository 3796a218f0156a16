import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

/// A folder holding `count` saved ids, fetched from the sandbox the real way.
func savedFolder(_ server: SandboxServer, count: Int, bytes: Int = 300_000) async throws -> (String, [String]) {
    let dir = makeTempDir()
    let ids = (0..<count).map { i in server.createJob(spec(bytes: bytes + i * 1000) { $0.costEstimate = 0.25 }) }
    let report = await fetch(server, ids, dir: dir)
    #expect(report.allSucceeded)
    return (dir, ids.sorted())
}

/// A completed video object with a hostile twist, filled in by the sandbox.
func hostileObject(_ extra: String = "", status: String = "completed", prompt: String = "p", model: String = "sora-2") -> String {
    """
    {"id":"{{id}}","object":"video","status":"\(status)","created_at":1780000000,"completed_at":1780000100,\
    "expires_at":1900000000,"model":"\(model)","prompt":"\(prompt)","output":{"url":"{{url}}"},"error":null,\
    "metadata":{"cost_estimate":0.21,"cost_currency":"USD"}\(extra)}
    """
}

/// A fresh sandbox on an ephemeral loopback port for one test, shut down after it.
func withSandbox(
    offersList: Bool = true, listMode: SandboxListMode = .normal,
    apiKey: String = SandboxServer.defaultAPIKey, webhooks: SandboxWebhookConfig? = nil,
    _ body: (SandboxServer) async throws -> Void
) async throws {
    let server = try await SandboxServer.start(apiKey: apiKey, offersList: offersList, listMode: listMode, webhooks: webhooks)
    do {
        try await body(server)
    } catch {
        try? await server.shutdown()
        throw error
    }
    try await server.shutdown()
}

/// Quick schedules for tests: polls every 50 ms, first retry after 50 ms. The stall timeout is
/// 5 s so a busy machine never takes a slow moment for a stall; the stall test sets its own.
func testConfig(_ server: SandboxServer, dir: String, key: String? = nil, retries: Int = 6) -> FetchConfiguration {
    let api = APIClient(baseURL: server.baseURL, key: APIKey(key ?? server.apiKey)!)
    var c = FetchConfiguration(outputDirectory: dir, api: api)
    let retry = RetryPolicy(initialDelay: 0.05, maxDelay: 0.5, maxRetries: retries)
    c.poll = PollPolicy(interval: 0.05, maxInterval: 0.2, maxWait: 60, retry: retry)
    c.download.retry = retry
    c.download.stallTimeout = 5
    c.download.connectTimeout = 5
    return c
}

/// Collects events for assertions.
/// `@unchecked Sendable` is sound: `items` is only touched under `lock`.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [FetchEvent] = []
    func add(_ e: FetchEvent) {
        lock.lock()
        items.append(e)
        lock.unlock()
    }
    var all: [FetchEvent] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }
}

func fetch(
    _ server: SandboxServer, _ ids: [String], dir: String, key: String? = nil, retries: Int = 6,
    events: EventLog? = nil, configure: (inout FetchConfiguration) -> Void = { _ in }
) async -> FetchReport {
    var config = testConfig(server, dir: dir, key: key, retries: retries)
    configure(&config)
    let fetcher = Fetcher(config: config, events: { e in events?.add(e) })
    return await fetcher.run(ids)
}

/// The media requests for one job, in order (the sandbox's log).
func mediaRequests(_ server: SandboxServer, _ id: String) -> [LoggedRequest] {
    server.requests().filter { $0.path.hasPrefix("/media/") && $0.path.contains(id) }
}

func apiRequests(_ server: SandboxServer, _ id: String) -> [LoggedRequest] {
    server.requests().filter { $0.path == "/openai/v1/videos/\(id)" }
}

/// Asserts that the id's file holds exactly the bytes the sandbox serves and the sidecar agrees.
func expectSaved(_ server: SandboxServer, _ id: String, dir: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let expected = try #require(server.content(for: id), sourceLocation: sourceLocation).allBytes()
    let got = try #require(fileBytes("\(dir)/\(id).mp4"), "no \(id).mp4", sourceLocation: sourceLocation)
    #expect(got.count == expected.count, sourceLocation: sourceLocation)
    #expect(sha256Hex(got) == sha256Hex(expected), "\(id).mp4 differs from what the server serves", sourceLocation: sourceLocation)
    let side = try sidecar(dir, id)
    let dl = try #require(side["download"] as? [String: Any], sourceLocation: sourceLocation)
    #expect(dl["sha256"] as? String == sha256Hex(expected), sourceLocation: sourceLocation)
    #expect((dl["bytes"] as? NSNumber)?.intValue == expected.count, sourceLocation: sourceLocation)
    #expect(!FileManager.default.fileExists(atPath: "\(dir)/\(id).mp4.part"), "the .part must be gone", sourceLocation: sourceLocation)
    #expect(!FileManager.default.fileExists(atPath: "\(dir)/\(id).mp4.part.state"), sourceLocation: sourceLocation)
}

func spec(bytes: Int = 1 << 20, _ change: (inout SandboxJobSpec) -> Void = { _ in }) -> SandboxJobSpec {
    var s = SandboxJobSpec()
    s.bytes = bytes
    s.queuedSeconds = 0.05
    s.processingSeconds = 0.1
    change(&s)
    return s
}

/// The failure of the id at `index`, or a recorded issue (and a thrown error) if it succeeded.
func failure(
    of report: FetchReport, at index: Int, _ why: Comment,
    sourceLocation: SourceLocation = #_sourceLocation
) throws -> FetchFailure {
    guard case .failed(let f) = report.outcomes[index].outcome else {
        Issue.record(why, sourceLocation: sourceLocation)
        throw UnexpectedSuccess()
    }
    return f
}

struct UnexpectedSuccess: Error {}

extension SandboxServer {
    /// Two jobs for the link-at-risk warning, fetched one at a time: the first (1 MB in about
    /// 2 s, a stall in its middle) teaches the meter its speed; 32 MB at that speed need about
    /// 64 s and the second link lives 45 s from creation, so it is at risk by the meter, yet
    /// loopback fetches it in about a second, with 40 s of slack for a loaded machine (a 12 s
    /// link expired under CI's load before its turn came, as a 6 s one had before).
    func createExpiryAtRiskPair() -> (first: String, risky: String) {
        let first = createJob(
            spec(bytes: 1_000_000) {
                $0.queuedPolls = 0
                $0.faults.stallAfterBytes = 500_000
                $0.faults.stallSeconds = 2
            })
        let risky = createJob(
            spec(bytes: 32_000_000) {
                $0.queuedPolls = 3
                $0.urlTTL = 45
            })
        return (first, risky)
    }
}
