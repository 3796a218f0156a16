import Foundation
import LumenfallCore
import LumenfallSandbox
import LumenfallWatch
import Synchronization
import Testing

/// `WatchService` in-process: its parts run as swift-service-lifecycle services in one group.
/// A stop mid-download ends every part, keeps the `.part` and the id in the journal, and closes
/// the listener last; a pipeline that ends on its own (the key rejected) stops the whole group.
@Suite(.removesTempDirs, .serialized) struct WatchServiceTests {
    static let secret = "whsec_" + Data("lumenfall watch service secret!!".utf8).base64EncodedString()

    func start(_ server: SandboxServer, dir: String, key: String? = nil, listen: Bool = true) async throws -> WatchService {
        let api = APIClient(baseURL: server.baseURL, key: APIKey(key ?? server.apiKey)!)
        var settings = Watcher.Settings(directory: dir)
        settings.verifier = WebhookSecret.list(Self.secret).map { WebhookVerifier(secrets: $0) }
        settings.sweepInterval = nil
        let watcher = try Watcher(settings: settings, api: api, log: { _, _, _ in })
        var options = WatchService.Options()
        options.port = 0
        options.listen = listen
        return try await WatchService.start(watcher: watcher, fetch: FetchConfiguration(outputDirectory: dir, api: api), options: options)
    }

    func withWebhookSandbox(_ body: (SandboxServer) async throws -> Void) async throws {
        try await withSandbox(
            webhooks: SandboxWebhookConfig(url: nil, secret: Self.secret, retryDelays: [0.3, 0.6, 1.2], caFile: nil), body)
    }

    @Test func aStopMidDownloadEndsEveryPartKeepsThePartAndTheJournalAndClosesTheListener() async throws {
        try await withWebhookSandbox { server in
            let dir = makeTempDir()
            let service = try await start(server, dir: dir)
            let running = Task { await service.run() }
            let hook = "http://\(service.address(host: "127.0.0.1") ?? "")/webhooks/lumenfall"
            let id = server.createJob(
                spec(bytes: 8_000_000) {
                    $0.webhookURL = hook
                    $0.queuedSeconds = 0.1
                    $0.processingSeconds = 0.2
                    $0.faults.throttleBytesPerSecond = 1_000_000
                })
            try await waitUntil("the download under way", timeout: 30) { (AtomicFile.size(of: "\(dir)/\(id).mp4.part") ?? 0) > 300_000 }
            await service.stop()
            let report = await running.value
            #expect(report?.authenticationFailure == nil)
            #expect((AtomicFile.size(of: "\(dir)/\(id).mp4.part") ?? 0) > 0, "the transfer is checkpointed, not thrown away")
            #expect(!FileManager.default.fileExists(atPath: "\(dir)/\(id).json"))
            #expect(service.watcher.journal.pending.contains(id), "the id is fetched after the next start")
            // The listener closed with the rest: nothing answers on its port.
            let refused = try await offPool { () -> Bool in
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                defer { close(fd) }
                var a = sockaddr_in()
                a.sin_family = sa_family_t(AF_INET)
                a.sin_port = in_port_t(UInt16(service.server?.port ?? 0).bigEndian)
                a.sin_addr.s_addr = inet_addr("127.0.0.1")
                return withUnsafePointer(to: &a) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                } != 0
            }
            #expect(refused, "the listener is closed once run() returns")
        }
    }

    /// An app with its own HTTP server: no listener of the service's; the app hands each request
    /// to `Watcher.receive`, which answers 200 for a signed delivery (and 401 for a forged one),
    /// and the video is saved.
    @Test func withoutAListenerAnAppsOwnServerHandsDeliveriesToReceive() async throws {
        try await withWebhookSandbox { server in
            let dir = makeTempDir()
            let service = try await start(server, dir: dir, listen: false)
            #expect(service.address(host: "127.0.0.1") == nil)
            let running = Task { await service.run() }
            let id = server.createJob(spec(bytes: 300_000) { $0.queuedSeconds = 0 })
            let body = Array(#"{"type":"video.completed","data":{"id":"\#(id)"}}"#.utf8)
            let ts = Int64(Date().timeIntervalSince1970)
            let sig = WebhookVerifier.sign(secret: WebhookSecret(Self.secret)!, id: "msg_app_1", timestamp: ts, body: body)
            let headers = [("webhook-id", "msg_app_1"), ("webhook-timestamp", "\(ts)"), ("webhook-signature", sig)]
            let forged = await service.watcher.receive(
                headers: headers.map { ($0.0, $0.0 == "webhook-signature" ? "v1,AAAA" : $0.1) }, body: body)
            #expect(forged.status == 401, "\(forged)")
            let answer = await service.watcher.receive(headers: headers, body: body)
            #expect(answer.status == 200, "\(answer)")
            try await waitUntil("the video saved", timeout: 30) { FileManager.default.fileExists(atPath: "\(dir)/\(id).json") }
            // The counter moves when the saved event is observed, just after the files are in place.
            try await waitUntil("the save counted", timeout: 30) { service.watcher.metricsText().contains("lumenfall_ids_saved_total 1") }
            await service.stop()
            _ = await running.value
        }
    }

    @Test func aRejectedKeyStopsTheWholeServiceWithoutAStop() async throws {
        try await withWebhookSandbox { server in
            let dir = makeTempDir()
            let service = try await start(server, dir: dir, key: "lmnfl_not_the_sandbox_key_0000")
            let ended = Mutex(false)
            let running = Task {
                let r = await service.run()
                ended.withLock { $0 = true }
                return r
            }
            let hook = "http://\(service.address(host: "127.0.0.1") ?? "")/webhooks/lumenfall"
            _ = server.createJob(
                spec(bytes: 100_000) {
                    $0.webhookURL = hook
                    $0.queuedSeconds = 0.1
                    $0.processingSeconds = 0.2
                })
            // No stop(): the pipeline ends on the 401 and takes the group down with it, at once
            // (it used to wait 60 s for the queue's next offer; the deadline only catches that).
            try await waitUntil("the service ended on the rejected key", timeout: 30) { ended.withLock { $0 } }
            let report = await running.value
            #expect(report?.authenticationFailure != nil)
        }
    }
}
