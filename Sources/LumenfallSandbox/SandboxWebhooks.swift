import Crypto
import Foundation
import LumenfallCurl

/// Where and how the sandbox sends webhooks, as Lumenfall does: a signed POST (Standard
/// Webhooks) when a job completes, fails or is cancelled, to the job's `webhook_url` or the
/// server-wide `--webhook-url`; a non-2xx or unreachable receiver gets the delivery again after
/// each of `retryDelays` (Lumenfall: 5, 15 and 45 s), then never.
public struct SandboxWebhookConfig: Sendable {
    public var url: String?
    /// `whsec_...`; also served at `GET /v1/webhooks/secret` with the API key.
    public var secret: String
    public var retryDelays: [Double] = [5, 15, 45]
    /// A CA bundle for https receivers (tests with their own CA).
    public var caFile: String?

    public init(url: String?, secret: String, retryDelays: [Double] = [5, 15, 45], caFile: String? = nil) {
        self.url = url
        self.secret = secret
        self.retryDelays = retryDelays
        self.caFile = caFile
    }
}

/// Per-job webhook faults (the `webhook` object of a job spec).
public struct SandboxWebhookFaults: Codable, Sendable {
    /// Send nothing at all: the receiver must find the video by sweeping.
    public var drop = false
    /// Send this many extra copies of the delivery, same webhook-id.
    public var duplicates = 0
    /// The first attempt carries a signature made with another key (the retries are right).
    public var badSignature = false
    /// Every attempt's timestamp is this many seconds old (a replay: over 300 is refused).
    public var staleSeconds: Double = 0
    /// Deliver this long after the job ends (events then arrive out of order).
    public var delaySeconds: Double = 0

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        drop = try c.decodeIfPresent(Bool.self, forKey: .drop) ?? false
        duplicates = try c.decodeIfPresent(Int.self, forKey: .duplicates) ?? 0
        badSignature = try c.decodeIfPresent(Bool.self, forKey: .badSignature) ?? false
        staleSeconds = try c.decodeIfPresent(Double.self, forKey: .staleSeconds) ?? 0
        delaySeconds = try c.decodeIfPresent(Double.self, forKey: .delaySeconds) ?? 0
    }
}

/// One delivery attempt as the receiver answered it, for tests and `/sandbox/stats`.
public struct WebhookDelivery: Sendable {
    public var jobID: String
    public var messageID: String
    public var attempt: Int
    /// The receiver's status; 0 when it could not be reached.
    public var status: Int
    public var at: Date
}

enum WebhookSigner {
    /// `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` keyed with the secret's base64 part.
    static func sign(secret: String, id: String, timestamp: Int64, body: [UInt8]) -> String {
        let b64 = secret.hasPrefix("whsec_") ? String(secret.dropFirst(6)) : secret
        let key = SymmetricKey(data: Data(base64Encoded: b64) ?? Data(secret.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(id).\(timestamp).".utf8) + body, using: key)
        return "v1," + Data(mac).base64EncodedString()
    }
}

/// Collects a receiver's status and drops its body. `@unchecked Sendable` is sound: libcurl's
/// loop thread alone calls it during the transfer, and `status` is read after `perform` returns.
final class StatusSink: HTTPResponseSink, @unchecked Sendable {
    var status = 0
    func didReceiveHead(_ head: HTTPResponseHead) -> SinkVerdict {
        status = head.status
        return .proceed
    }
    func didReceiveBody(_ bytes: UnsafeRawBufferPointer) -> SinkVerdict { .proceed }
}

extension SandboxState {
    /// Called at creation: schedules the job's deliveries for when it ends (time-based
    /// schedules only; a job counted in polls ends when polled, with no clock to wake).
    func scheduleWebhook(for id: String) {
        let found = store.withLock { s in s.webhooks.flatMap { config in s.jobs[id].map { (config, $0) } } }
        guard let (config, job) = found, job.spec.queuedPolls == nil,
            let url = job.spec.webhookURL ?? config.url, !job.spec.webhook.drop
        else { return }
        let due = job.completedAt.timeIntervalSinceNow + job.spec.webhook.delaySeconds
        DispatchQueue.global().asyncAfter(deadline: .now() + max(0, due) + 0.02) { [self] in
            let messageID = "msg_" + String(UInt64.random(in: 0..<UInt64.max), radix: 36)
            guard let body = store.withLock({ s in s.jobs[id].map { s.webhookBody($0) } }) else { return }
            let copies = 1 + max(0, job.spec.webhook.duplicates)
            for _ in 0..<copies {
                send(url: url, config: config, jobID: id, messageID: messageID, body: body, attempt: 0, faults: job.spec.webhook)
            }
        }
    }

    private func send(
        url: String, config: SandboxWebhookConfig, jobID: String, messageID: String, body: [UInt8], attempt: Int,
        faults: SandboxWebhookFaults
    ) {
        let ts = Int64(Date().timeIntervalSince1970 - faults.staleSeconds)
        let secret = attempt == 0 && faults.badSignature ? "whsec_" + Data("not the right key".utf8).base64EncodedString() : config.secret
        let signature = WebhookSigner.sign(secret: secret, id: messageID, timestamp: ts, body: body)
        let request = HTTPRequest(
            url: url, method: "POST",
            headers: [
                "Content-Type: application/json", "webhook-id: \(messageID)", "webhook-timestamp: \(ts)",
                "webhook-signature: \(signature)", "Expect:",
            ],
            body: body, connectTimeout: 5, totalTimeout: 30, userAgent: "lumenfall-sandbox-webhooks", caFile: config.caFile)
        Task {
            let sink = StatusSink()
            let result = try? await CurlMulti.shared.perform(request, sink: sink)
            let status = result?.head?.status ?? 0
            store.withLock {
                $0.webhookLog.append(WebhookDelivery(jobID: jobID, messageID: messageID, attempt: attempt, status: status, at: Date()))
            }
            if !(200..<300).contains(status), attempt < config.retryDelays.count {
                DispatchQueue.global().asyncAfter(deadline: .now() + config.retryDelays[attempt]) { [self] in
                    send(url: url, config: config, jobID: jobID, messageID: messageID, body: body, attempt: attempt + 1, faults: faults)
                }
            }
        }
    }
}

extension SandboxStore {
    /// A Lumenfall event: `video.completed`, `video.failed` or `video.cancelled`.
    func webhookBody(_ job: SandboxJob) -> [UInt8] {
        let (status, _) = job.status()
        var data: [String: Any] = ["object": "video.generation", "id": job.id, "model": job.spec.model, "status": status]
        if status == "completed", !job.spec.contentEndpointOnly { data["output"] = ["url": mediaURL(job)] }
        let type = status == "completed" ? "video.completed" : status == "failed" ? "video.failed" : "video.cancelled"
        let event: [String: Any] = ["type": type, "timestamp": Int(Date().timeIntervalSince1970), "data": data]
        return Array((try? JSONSerialization.data(withJSONObject: event, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data())
    }
}
