import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

/// The sandbox against OpenAI's VideoResource and Error objects (issue 10's first points; the
/// official SDK's conformance test is still to come): fields always present and typed as the
/// spec has them, errors with `param`, list bounds, and multipart create.
@Suite struct SandboxSpecTests {
    func get(_ server: SandboxServer, _ path: String) throws -> (Int, [String: Any]) {
        let (status, out) = try run(
            "curl", ["-sS", "-w", "\n%{http_code}", "-H", "Authorization: Bearer \(server.apiKey)", server.baseURL + path])
        #expect(status == 0)
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false)
        let code = Int(lines.last ?? "") ?? 0
        let body = lines.dropLast().joined(separator: "\n")
        return (code, (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:])
    }

    @Test func everyStateHasTheSpecsFields() async throws {
        try await withSandbox { server in
            let queued = server.createJob(spec { $0.queuedPolls = 1 })
            let running = server.createJob(
                spec {
                    $0.queuedSeconds = 0
                    $0.processingSeconds = 3600
                })
            let done = server.createJob(spec { $0.queuedPolls = 0 })
            let failed = server.createJob(
                spec {
                    $0.queuedPolls = 0
                    $0.outcome = "failed"
                })
            for (id, status, progress) in [(queued, "queued", 0), (done, "completed", 100), (failed, "failed", 0)] {
                let (code, o) = try get(server, "/videos/\(id)")
                #expect(code == 200)
                #expect(o["status"] as? String == status)
                #expect((o["progress"] as? NSNumber)?.intValue == progress, "\(status): \(o["progress"] ?? "missing")")
                for key in ["remixed_from_video_id", "size", "seconds", "error", "completed_at", "expires_at", "created_at", "model"] {
                    #expect(o.keys.contains(key), "\(status) lacks \(key)")
                }
            }
            let (_, r) = try get(server, "/videos/\(running)")
            let p = try #require(r["progress"] as? NSNumber)
            #expect(Double(p.intValue) == p.doubleValue, "progress is an integer: \(p)")
        }
    }

    @Test func errorsNameTheirParamAndListBoundsHold() async throws {
        try await withSandbox { server in
            _ = server.createJob()
            let (c404, e404) = try get(server, "/videos/video_nope")
            #expect(c404 == 404)
            #expect(((e404["error"] as? [String: Any])?.keys.contains("param")) == true)
            let (c0, e0) = try get(server, "/videos?limit=0")
            #expect(c0 == 400)
            #expect((e0["error"] as? [String: Any])?["param"] as? String == "limit")
            let (cAfter, eAfter) = try get(server, "/videos?after=video_unknown")
            #expect(cAfter == 400)
            #expect((eAfter["error"] as? [String: Any])?["param"] as? String == "after")
        }
    }

    @Test func createTakesMultipartAsTheSDKSendsIt() async throws {
        try await withSandbox { server in
            let (status, out) = try run(
                "curl",
                [
                    "-sS", "-H", "Authorization: Bearer \(server.apiKey)", "-F", "model=sora-2", "-F", "prompt=a fox in snow",
                    "-F", "seconds=8", "-F", #"sandbox={"bytes":1234,"queuedSeconds":0,"processingSeconds":0}"#,
                    server.baseURL + "/videos",
                ])
            #expect(status == 0)
            let o = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], "\(out)")
            #expect(o["prompt"] as? String == "a fox in snow")
            #expect(o["seconds"] as? String == "8")
            let id = try #require(o["id"] as? String)
            #expect(server.content(for: id)?.size == 1234)
        }
    }
}
