import Foundation
import LumenfallCore
import LumenfallCurl
import LumenfallSandbox
import Testing

/// `lumenfall-fetch watch` end to end (issue 11): the sandbox POSTs signed webhooks to the
/// real binary over loopback (and TLS), which saves each video; lost, duplicate, forged and
/// replayed deliveries; a SIGKILL with ids queued; SIGTERM; /metrics.
@Suite(.removesTempDirs, .serialized) struct WatchTests {
    static let secret = "whsec_" + Data("lumenfall watch test secret 0123".utf8).base64EncodedString()

    /// A running `watch` and where it listens.
    struct Watch {
        let process: CLIProcess
        let address: String
        var url: String
        var hook: String { url + "/webhooks/lumenfall" }
    }

    func startWatch(
        _ server: SandboxServer, dir: String, extra: [String] = [], tls: TestPKI? = nil, env: [String: String] = [:]
    ) async throws -> Watch {
        let addressFile = makeTempDir() + "/address"
        var args = [
            "watch", "-o", dir, "--base-url", server.baseURL, "--listen", "127.0.0.1:0", "--address-file", addressFile,
            "--poll-interval", "0.05", "--retry-delay", "0.05", "--first-sweep", "1h",
        ]
        if let tls { args += ["--tls-cert", tls.certFile, "--tls-key", tls.keyFile] }
        let p = try CLIProcess(
            args + extra, env: ["LUMENFALL_API_KEY": server.apiKey, "LUMENFALL_WEBHOOK_SECRET": Self.secret].merging(env) { $1 })
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let a = fileBytes(addressFile).map({ String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }),
                !a.isEmpty
            {
                return Watch(process: p, address: a, url: (tls == nil ? "http://" : "https://") + a)
            }
            guard p.process.isRunning else { break }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        p.process.terminate()
        let r = await p.result()
        Issue.record("watch did not start: \(r.stderr)")
        throw POSIXError(.ETIMEDOUT)
    }

    func until(_ seconds: Double, _ what: String, _ cond: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !cond() {
            guard Date() < deadline else {
                Issue.record("timed out after \(seconds) s waiting for: \(what)")
                throw POSIXError(.ETIMEDOUT)
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    func saved(_ dir: String, _ id: String) -> Bool { FileManager.default.fileExists(atPath: "\(dir)/\(id).json") }

    /// An HTTP exchange with the receiver: status and body.
    func call(
        _ url: String, method: String = "GET", headers: [String] = [], body: [UInt8]? = nil, ca: String? = nil
    ) async throws
        -> (Int, String)
    {
        let sink = HeadRecorder()
        let r = try await CurlMulti.shared.perform(
            HTTPRequest(url: url, method: method, headers: headers + ["Expect:"], body: body, totalTimeout: 20, caFile: ca), sink: sink)
        return (r.head?.status ?? 0, String(decoding: sink.body, as: UTF8.self))
    }

    func metrics(_ w: Watch, ca: String? = nil) async throws -> [String: Double] {
        let (status, text) = try await call(w.url + "/metrics", ca: ca)
        #expect(status == 200)
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let v = Double(parts[1]) else {
                Issue.record("not a Prometheus sample line: \(line)")
                continue
            }
            out[String(parts[0])] = v
        }
        return out
    }

    func webhookSpec(_ url: String, bytes: Int = 150_000, _ change: (inout SandboxJobSpec) -> Void = { _ in }) -> SandboxJobSpec {
        spec(bytes: bytes) {
            $0.webhookURL = url
            $0.queuedSeconds = 0.1
            $0.processingSeconds = 0.3
            change(&$0)
        }
    }

    func withWebhookSandbox(ca: String? = nil, _ body: (SandboxServer) async throws -> Void) async throws {
        try await withSandbox(
            webhooks: SandboxWebhookConfig(url: nil, secret: Self.secret, retryDelays: [0.3, 0.6, 1.2], caFile: ca), body)
    }

    @Test func webhooksSaveEachVideoWithinTwoSecondsAndTheSweepCatchesWhatIsLost() async throws {
        try await withWebhookSandbox { server in
            let dir = makeTempDir()
            // The sweep runs at start and then every 15 s: what is saved sooner came by webhook.
            // (At 8 s, the sandbox's retry of the forged delivery, sent from the test process's
            // loaded pool, was twice overtaken by the sweep in CI once the suite passed 330 tests.)
            // (Under the whole suite's load the sandbox's redelivery of the forged one, due
            // 0.3 s after the refusal, was once seen to take over 3 s.)
            let w = try await startWatch(server, dir: dir, extra: ["--sweep", "15s", "--sweep-margin", "60s", "--log-format", "json"])
            // The jobs are made once the first sweep has run (an event, from /metrics): a first
            // sweep that a loaded machine started late once listed a plain id before its webhook.
            var swept = false
            while !swept {
                swept = (try await metrics(w)["lumenfall_sweeps_total"] ?? 0) >= 1
                if !swept { try await Task.sleep(nanoseconds: 50_000_000) }
            }
            let plain = (0..<4).map { _ in server.createJob(webhookSpec(w.hook)) }
            let dropped = server.createJob(webhookSpec(w.hook) { $0.webhook.drop = true })
            let duplicated = server.createJob(webhookSpec(w.hook) { $0.webhook.duplicates = 3 })
            let forgedFirst = server.createJob(webhookSpec(w.hook) { $0.webhook.badSignature = true })
            let replayed = server.createJob(webhookSpec(w.hook) { $0.webhook.staleSeconds = 600 })
            let late = server.createJob(webhookSpec(w.hook) { $0.webhook.delaySeconds = 0.8 })
            let all = plain + [dropped, duplicated, forgedFirst, replayed, late]
            try await until(60, "every video saved") { all.allSatisfy { saved(dir, $0) } }

            // From the job's end to its sidecar on disk, for those whose webhook arrived.
            var delays: [Double] = []
            for id in plain + [duplicated, forgedFirst] {
                let done = try #require(server.completedAt(id))
                let mtime = try #require(try FileManager.default.attributesOfItem(atPath: "\(dir)/\(id).json")[.modificationDate] as? Date)
                delays.append(mtime.timeIntervalSince(done))
                try expectSaved(server, id, dir: dir)
            }
            // Each id downloaded once, however many deliveries named it.
            #expect(mediaRequests(server, duplicated).count == 1)
            // The sandbox records an answer when its libcurl loop hands it back, which can lag
            // behind the receiver's work when the machine is busy.
            try await until(15, "every delivery answered") {
                let d = server.webhookDeliveries()
                return d.filter { $0.jobID == duplicated }.count == 4 && d.filter { $0.jobID == replayed }.count == 4
                    && plain.allSatisfy { id in d.contains { $0.jobID == id && $0.status == 200 } }
            }
            let answered = plain.compactMap { id in
                server.webhookDeliveries().first { $0.jobID == id && $0.status == 200 }.flatMap { d in
                    server.completedAt(id).map { d.at.timeIntervalSince($0) }
                }
            }
            print(
                "watch: completion to saved on disk, seconds: \(delays.map { String(format: "%.2f", $0) }.joined(separator: " ")); completion to the sandbox's record of the 200: \(answered.map { String(format: "%.2f", $0) }.joined(separator: " "))"
            )
            #expect(answered.count == plain.count)

            for id in [dropped, replayed, late] { try expectSaved(server, id, dir: dir) }

            let m = try await metrics(w)
            #expect(m["lumenfall_ids_saved_total"] == Double(all.count))
            #expect((m["lumenfall_webhooks_duplicate_total"] ?? 0) >= 3)
            #expect((m["lumenfall_webhooks_rejected_total{reason=\"bad_signature\"}"] ?? 0) >= 1)
            #expect((m["lumenfall_webhooks_rejected_total{reason=\"stale_timestamp\"}"] ?? 0) >= 1)
            #expect((m["lumenfall_sweeps_total"] ?? 0) >= 1)
            #expect(m["lumenfall_queue_depth"] == 0)
            #expect(m["lumenfall_saved_bytes_total"].map { $0 > 0 } == true)
            // The histograms: a webhook accepted to its video saved (every saved id that came
            // by webhook), and each saved download's throughput.
            #expect((m["lumenfall_webhook_to_saved_seconds_count"] ?? 0) >= Double(plain.count))
            #expect(m["lumenfall_webhook_to_saved_seconds_bucket{le=\"+Inf\"}"] == m["lumenfall_webhook_to_saved_seconds_count"])
            #expect(m["lumenfall_download_throughput_bytes_per_second_count"] == Double(all.count))
            #expect(m["lumenfall_nearest_expiry_seconds"].map { $0.isNaN } == true, "no link pending: NaN")

            // What the listener answers besides deliveries.
            #expect(try await call(w.url + "/healthz").0 == 200)
            #expect(try await call(w.url + "/nope").0 == 404)
            #expect(try await call(w.hook).0 == 405)
            #expect(try await call(w.hook, method: "POST", body: [UInt8](repeating: 0x41, count: (1 << 20) + 1)).0 == 413)
            let forged = try await call(
                w.hook, method: "POST",
                headers: [
                    "webhook-id: msg_forged", "webhook-timestamp: \(Int(Date().timeIntervalSince1970))", "webhook-signature: v1,AAAA",
                ],
                body: Array(#"{"type":"video.completed","data":{"id":"video_x"}}"#.utf8))
            #expect(forged.0 == 401)

            kill(w.process.process.processIdentifier, SIGTERM)
            let r = await w.process.result()
            #expect(r.status == 0, "\(r.stderr)")
            // The log (JSON lines, times in milliseconds): each webhook-borne id was saved within
            // 2 s of its delivery reaching watch. (Completion to delivery is the sandbox's own
            // sending, which the whole suite's load can slow; measured above.)
            let log = r.stderr.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String]
            }
            func time(_ msg: String, _ id: String) -> Date? {
                log.first { $0["msg"] == msg && $0["id"] == id }.flatMap { $0["time"] }.flatMap {
                    let f = ISO8601DateFormatter()
                    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
                    return f.date(from: $0)
                }
            }
            var receiverDelays: [Double] = []
            for id in plain + [duplicated, forgedFirst] {
                let accepted = try #require(time("webhook accepted", id), "\(id) came by webhook, not by the sweep")
                let done = try #require(time("saved", id))
                receiverDelays.append(done.timeIntervalSince(accepted))
            }
            print("watch: delivery accepted to saved, seconds: \(receiverDelays.map { String(format: "%.3f", $0) }.joined(separator: " "))")
            #expect(receiverDelays.allSatisfy { $0 >= 0 && $0 < 2 }, "\(receiverDelays)")
            #expect(log.contains { $0["msg"] == "webhook rejected" && $0["reason"] == "bad_signature" && $0["webhook_id"] == "msg_forged" })
            #expect(!r.stderr.contains(Self.secret) && !r.stderr.contains(String(Self.secret.dropFirst(6))), "the secret is never logged")
            #expect(!r.stderr.contains(server.apiKey))
        }
    }

    @Test func killedWithIdsQueuedItResumesEveryOneFromTheJournal() async throws {
        try await withWebhookSandbox { server in
            let dir = makeTempDir()
            // No sweep: after the kill, only the journal knows these ids.
            let first = try await startWatch(server, dir: dir, extra: ["--sweep", "off", "--jobs", "2"])
            let ids = (0..<5).map { _ in
                server.createJob(webhookSpec(first.hook, bytes: 3_000_000) { $0.faults.throttleBytesPerSecond = 2_000_000 })
            }
            let journal = "\(dir)/.lumenfall-watch/journal"
            try await until(20, "every webhook accepted and a download under way") {
                let text = String(decoding: fileBytes(journal) ?? [], as: UTF8.self)
                let started = ids.contains { (AtomicFile.size(of: "\(dir)/\($0).mp4.part") ?? 0) > 500_000 }
                return ids.allSatisfy { text.contains("+ \($0) ") } && started
            }
            kill(first.process.process.processIdentifier, SIGKILL)
            _ = await first.process.result()
            let savedBefore = ids.filter { saved(dir, $0) }
            let mediaBefore = Dictionary(uniqueKeysWithValues: ids.map { ($0, mediaRequests(server, $0).count) })
            #expect(savedBefore.count < ids.count, "the kill came with work left")

            let killedAt = Date()
            let second = try await startWatch(server, dir: dir, extra: ["--sweep", "off", "--jobs", "2"])
            try await until(40, "every id saved after the restart") { ids.allSatisfy { saved(dir, $0) } }
            print(
                "watch: after SIGKILL, \(ids.count - savedBefore.count) of \(ids.count) ids resumed from the journal in \(String(format: "%.1f", Date().timeIntervalSince(killedAt))) s"
            )
            for id in ids { try expectSaved(server, id, dir: dir) }
            for id in savedBefore {
                #expect(mediaRequests(server, id).count == mediaBefore[id], "\(id) was saved before the kill: not fetched again")
            }
            // A .part left by the kill continues where it stopped.
            let resumed = ids.filter { id in mediaRequests(server, id).dropFirst(mediaBefore[id] ?? 0).contains { $0.range != nil } }
            #expect(!resumed.isEmpty)
            let text = String(decoding: fileBytes(journal) ?? [], as: UTF8.self)
            for id in ids { #expect(text.contains("- \(id) ")) }
            kill(second.process.process.processIdentifier, SIGTERM)
            #expect(await second.process.result().status == 0)
        }
    }

    @Test func sigtermMidTransferExitsZeroWithinTenSecondsAndKeepsThePart() async throws {
        try await withWebhookSandbox { server in
            let dir = makeTempDir()
            let w = try await startWatch(server, dir: dir, extra: ["--sweep", "off"])
            let id = server.createJob(webhookSpec(w.hook, bytes: 8_000_000) { $0.faults.throttleBytesPerSecond = 1_000_000 })
            try await until(20, "the download under way") {
                (AtomicFile.size(of: "\(dir)/\(id).mp4.part") ?? 0) > 500_000
            }
            let t0 = Date()
            kill(w.process.process.processIdentifier, SIGTERM)
            let r = await w.process.result()
            // When the child was reaped, not when this task was resumed (a loaded pool lags).
            let took = r.ended.timeIntervalSince(t0)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(took < 10, "\(took) s")
            #expect(r.stderr.contains("stopping signal=SIGTERM"))
            #expect((AtomicFile.size(of: "\(dir)/\(id).mp4.part") ?? 0) > 0, "the transfer is checkpointed, not thrown away")
            #expect(!saved(dir, id))
        }
    }

    @Test func aTLSListenerIsReachedWithItsCA() async throws {
        let pki = try TestPKI.make()
        try await withWebhookSandbox(ca: pki.caFile) { server in
            let dir = makeTempDir()
            let w = try await startWatch(server, dir: dir, extra: ["--sweep", "off"], tls: pki)
            #expect(w.url.hasPrefix("https://"))
            let id = server.createJob(webhookSpec(w.hook))
            try await until(20, "saved over a TLS delivery") { saved(dir, id) }
            try expectSaved(server, id, dir: dir)
            // The sandbox records the answer when its curl loop hands it back (it may lag the save).
            try await until(10, "the delivery's answer recorded") { server.webhookDeliveries().contains { $0.jobID == id } }
            #expect(server.webhookDeliveries().first { $0.jobID == id }?.status == 200)
            #expect(try await call(w.url + "/healthz", ca: pki.caFile).0 == 200)
            // Without the CA, a client refuses the listener's certificate.
            await #expect(throws: (any Error).self) { _ = try await call(w.url + "/healthz") }
            kill(w.process.process.processIdentifier, SIGTERM)
            #expect(await w.process.result().status == 0)
        }
    }

    @Test func withoutASecretWebhooksAreRefusedAndTheSweepAloneSaves() async throws {
        // A sandbox with no webhook secret: GET /v1/webhooks/secret answers 404.
        try await withSandbox { server in
            let dir = makeTempDir()
            let w = try await startWatch(
                server, dir: dir, extra: ["--sweep", "1s", "--log-format", "json"], env: ["LUMENFALL_WEBHOOK_SECRET": ""])
            let id = server.createJob(spec(bytes: 100_000))
            try await until(20, "saved by the sweep") { saved(dir, id) }
            let (status, _) = try await call(w.hook, method: "POST", body: Array("{}".utf8))
            #expect(status == 503)
            kill(w.process.process.processIdentifier, SIGTERM)
            let r = await w.process.result()
            #expect(r.status == 0)
            #expect(r.stderr.contains("no webhook secret"))
            // --log-format json: every line one object with time, level and msg.
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.count >= 4)
            for line in lines {
                let obj = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String], "\(line)")
                #expect(obj["time"]?.hasSuffix("Z") == true && obj["level"] != nil && obj["msg"] != nil, "\(line)")
            }
            #expect(lines.contains { $0.contains(#""msg":"saved""#) && $0.contains(id) })
        }
    }
}
