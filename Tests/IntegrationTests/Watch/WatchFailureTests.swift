import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

@testable import LumenfallWatch

/// `watch` run as a service is, under conditions a test arranges with the shell (issue 17,
/// finding 8): a journal that cannot grow (a full disk, played by `ulimit -f`) and a log
/// reader that went away with SIGPIPE ignored (systemd's way).
@Suite(.removesTempDirs, .serialized) struct WatchFailureTests {
    /// `watch` under `bash -c 'SETUP; exec lumenfall-fetch watch ...'`, stderr into a pipe.
    final class Wrapped: @unchecked Sendable {  // sound: set up in init, then only read
        let process = Process()
        let stderr = Pipe()
        var address = ""
        var url: String { "http://\(address)" }

        init(_ setup: String, server: SandboxServer, dir: String) async throws {
            let addressFile = makeTempDir() + "/address"
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = [
                "-c", "\(setup); exec \"$0\" \"$@\"", try fetchBinary(), "watch", "-o", dir, "--base-url", server.baseURL,
                "--listen", "127.0.0.1:0", "--address-file", addressFile, "--sweep", "off",
            ]
            var env = ProcessInfo.processInfo.environment
            env["LUMENFALL_API_KEY"] = server.apiKey
            env["LUMENFALL_WEBHOOK_SECRET"] = WatchTests.secret
            env["XDG_CONFIG_HOME"] = "/nonexistent/lumenfall-test-config"
            process.environment = env
            process.standardError = stderr
            process.standardOutput = FileHandle.nullDevice
            process.standardInput = FileHandle.nullDevice
            try process.run()
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline, process.isRunning {
                if let a = fileBytes(addressFile).map({
                    String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                }),
                    !a.isEmpty
                {
                    address = a
                    return
                }
                try await Task.sleep(nanoseconds: 50_000_000)
            }
            process.terminate()
            Issue.record("watch did not start")
            throw POSIXError(.ETIMEDOUT)
        }

        func stop() {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
    }

    func signedDelivery(_ id: String, webhookID: String) -> (headers: [String], body: [UInt8]) {
        let body = Array(#"{"type":"video.completed","data":{"id":"\#(id)"}}"#.utf8)
        let ts = Int64(Date().timeIntervalSince1970)
        let sig = WebhookVerifier.sign(secret: WebhookSecret(WatchTests.secret)!, id: webhookID, timestamp: ts, body: body)
        return (
            ["webhook-id: \(webhookID)", "webhook-timestamp: \(ts)", "webhook-signature: \(sig)", "Content-Type: application/json"], body
        )
    }

    /// A journal write that fails answers 503, and the sender's retry with the same webhook-id
    /// is tried again (503 while the disk is full), never answered 200 "duplicate" and lost.
    @Test func aDeliveryWhoseJournalWriteFailedIsNotADuplicateOnItsRetry() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            // The journal is all but 20 bytes of the 1 KiB the shell will let the process write.
            try FileManager.default.createDirectory(atPath: "\(dir)/.lumenfall-watch", withIntermediateDirectories: true)
            try Data(String(repeating: "s 1000000000\n", count: 77).utf8).write(to: URL(fileURLWithPath: "\(dir)/.lumenfall-watch/journal"))
            let w = try await Wrapped("trap '' XFSZ; ulimit -f 1", server: server, dir: dir)
            defer { w.stop() }
            let d = signedDelivery("video_fullDisk01", webhookID: "msg_full_disk_1")
            let first = try await WatchTests().call(w.url + "/webhooks/lumenfall", method: "POST", headers: d.headers, body: d.body)
            #expect(first.0 == 503, "\(first)")
            let retry = try await WatchTests().call(w.url + "/webhooks/lumenfall", method: "POST", headers: d.headers, body: d.body)
            #expect(retry.0 == 503, "the retry must be journaled again, not taken as a duplicate: \(retry)")
            #expect(!retry.1.contains("duplicate"))
        }
    }

    /// With SIGPIPE ignored and nobody reading stderr, the warnings an unsigned request causes
    /// are dropped; the receiver stays up and keeps answering.
    @Test func aLostLogReaderDoesNotStopTheReceiver() async throws {
        try await withSandbox { server in
            let w = try await Wrapped("trap '' PIPE", server: server, dir: makeTempDir())
            defer { w.stop() }
            try w.stderr.fileHandleForReading.close()
            for _ in 0..<3 {
                let (status, _) = try await WatchTests().call(w.url + "/webhooks/lumenfall", method: "POST", body: Array("{}".utf8))
                #expect(status == 401)
            }
            let (health, _) = try await WatchTests().call(w.url + "/healthz")
            #expect(health == 200)
            #expect(w.process.isRunning)
        }
    }
}
