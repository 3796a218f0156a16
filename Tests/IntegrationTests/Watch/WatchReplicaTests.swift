import Foundation
import LumenfallCore
import LumenfallCurl
import Testing

@testable import LumenfallSandbox

/// Two `watch -o s3://...` replicas behind one (imagined) load balancer, sharing a bucket prefix
/// (issue 18): each delivery lands on one of them at random, and a sender's retry of it on the
/// other. Claims in the bucket decide who fetches each id; a replica killed with -9 in the middle
/// of a download comes back on the same work folder, takes back its own claim at once and
/// resumes the `.part` where it stopped.
@Suite(.removesTempDirs, .serialized) struct WatchReplicaTests {
    static let secret = "whsec_" + Data("lumenfall watch replica secret 01".utf8).base64EncodedString()

    struct Replica {
        let process: CLIProcess
        let hook: String
    }

    func start(_ server: SandboxServer, _ moto: MotoServer, work: String, prefix: String) async throws -> Replica {
        let addressFile = makeTempDir() + "/address"
        let p = try server.launchCLI(
            [
                "watch", "-o", "s3://\(moto.bucket)/\(prefix)", "--work-dir", work, "--listen", "127.0.0.1:0",
                "--address-file", addressFile, "--sweep", "off", "--poll-interval", "0.05", "--retry-delay", "0.05",
                // The hanging answer is waited on, not retried, until the kill.
                "--stall-timeout", "600",
            ],
            env: moto.env.merging(["LUMENFALL_API_KEY": server.apiKey, "LUMENFALL_WEBHOOK_SECRET": Self.secret]) { $1 })
        try await until(20, "the replica listening") { !(fileBytes(addressFile) ?? []).isEmpty || !p.process.isRunning }
        let address = String(decoding: fileBytes(addressFile) ?? [], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !address.isEmpty else {
            let r = await p.result()
            Issue.record("watch did not start: \(r.stderr)")
            throw POSIXError(.ETIMEDOUT)
        }
        return Replica(process: p, hook: "http://\(address)/webhooks/lumenfall")
    }

    func until(_ seconds: Double, _ what: String, _ cond: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while try await !cond() {
            guard Date() < deadline else {
                Issue.record("timed out after \(seconds) s waiting for: \(what)")
                throw POSIXError(.ETIMEDOUT)
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    /// One signed `video.completed` delivery, as the sandbox (and Lumenfall) sends it.
    func deliver(_ id: String, message: String, to replica: Replica) async throws -> Int {
        let body = Array(#"{"type":"video.completed","timestamp":\#(Int(Date().timeIntervalSince1970)),"data":{"id":"\#(id)"}}"#.utf8)
        let ts = Int64(Date().timeIntervalSince1970)
        let signature = WebhookSigner.sign(secret: Self.secret, id: message, timestamp: ts, body: body)
        let sink = HeadRecorder()
        let r = try await CurlMulti.shared.perform(
            HTTPRequest(
                url: replica.hook, method: "POST",
                headers: [
                    "Content-Type: application/json", "webhook-id: \(message)", "webhook-timestamp: \(ts)",
                    "webhook-signature: \(signature)", "Expect:",
                ], body: body, totalTimeout: 20), sink: sink)
        return r.head?.status ?? 0
    }

    func object(_ moto: MotoServer, _ key: String) async throws -> [UInt8]? {
        let sink = S3ClientTests.Collect()
        return try await moto.client(prefix: "").get(key, into: sink) == 200 ? sink.bytes : nil
    }

    @Test func twoReplicasStoreEveryIDOnceAndAKilledOneLosesNothing() async throws {
        try await withMoto { moto in
            try await withSandbox { server in
                let prefix = "replicas-\(UInt32.random(in: 0...UInt32.max))/"
                // The big one's first answer stops after 2 MiB and hangs: the replica that takes it
                // is in its middle, however slowly this test is scheduled, until it is killed. (A
                // crawl at 1 MiB/s was once over before a test starved by its neighbours looked.)
                let big = server.createJob(
                    spec(bytes: 6 << 20) {
                        $0.faults.stallAfterBytes = 2 << 20
                        $0.faults.stallTimes = 1
                    })
                let small = (0..<8).map { _ in server.createJob(spec(bytes: 200_000)) }
                let (workA, workB) = (makeTempDir(), makeTempDir())
                var a = try await start(server, moto, work: workA, prefix: prefix)
                let b = try await start(server, moto, work: workB, prefix: prefix)

                // Every delivery goes to one replica at random, and its retry to the other; the
                // big one to A first, which is the one killed.
                #expect(try await deliver(big, message: "msg_big", to: a) == 200)
                // A holds the claim (its `.part` exists) before B hears of the id: on a loaded
                // machine A's first bucket request can be slower than the deliveries below, and
                // then B rightly claims it first and A has nothing to be killed in the middle of.
                let part = "\(workA)/\(big).mp4.part"
                try await until(60, "A downloading the big one") { AtomicFile.size(of: part) != nil }
                for (i, id) in small.enumerated() {
                    let first = Bool.random() ? a : b
                    #expect(try await deliver(id, message: "msg_\(i)", to: first) == 200)
                }
                #expect(try await deliver(big, message: "msg_big", to: b) == 200)
                for (i, id) in small.enumerated() where i % 2 == 0 {
                    #expect(try await deliver(id, message: "msg_\(i)", to: Bool.random() ? a : b) == 200)
                }

                try await until(60, "A in the middle of the big download") { (AtomicFile.size(of: part) ?? 0) >= 1 << 20 }
                kill(a.process.process.processIdentifier, SIGKILL)
                _ = await a.process.result()
                let kept = AtomicFile.size(of: part) ?? 0
                #expect(kept >= 1 << 20, "the .part survives the kill")

                // A comes back on the same work folder: its journal replays the id, its claim is
                // its own, and the download resumes.
                a = try await start(server, moto, work: workA, prefix: prefix)
                try await until(120, "every id stored in the bucket") {
                    for id in small + [big] where try await object(moto, "\(prefix)\(id).json") == nil { return false }
                    return true
                }
                for id in small + [big] {
                    let video = try #require(try await object(moto, "\(prefix)\(id).mp4"))
                    #expect(sha256Hex(video) == server.content(for: id)!.sha256Hex(), "\(id) in the bucket is the video")
                }
                // Stored once: each small id downloaded by one replica, once; the big one from
                // byte 0 once, then resumed past what the killed replica had.
                for id in small {
                    #expect(mediaRequests(server, id).count == 1, "\(id) was downloaded \(mediaRequests(server, id).count) times")
                }
                let bigRanges = mediaRequests(server, big).map { $0.range ?? "bytes=0-" }
                #expect(bigRanges.filter { $0.hasPrefix("bytes=0-") }.count == 1, "\(bigRanges)")
                #expect(bigRanges.contains { r in Int64(r.dropFirst(6).prefix { $0 != "-" }).map { $0 >= kept } ?? false }, "\(bigRanges)")
                // No claim is left behind once the ids are stored.
                try await until(30, "every claim released") {
                    for id in small + [big] where try await object(moto, "\(prefix).claims/\(id)") != nil { return false }
                    return true
                }

                for r in [a, b] { r.process.process.terminate() }
                for r in [a, b] {
                    let done = await r.process.result()
                    #expect(done.status == 0, "\(done.stderr)")
                }
            }
        }
    }
}
