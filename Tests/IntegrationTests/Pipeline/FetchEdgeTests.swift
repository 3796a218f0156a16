import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

@Suite(.removesTempDirs) struct FetchEdgeTests {
    @Test func anAnswerOver8MiBIsRefusedWithoutHoldingIt() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(spec { $0.prompt = String(repeating: "x", count: 9 << 20) })
            let report = await fetch(server, [id], dir: dir)
            let f = try failure(of: report, at: 0, "a 9 MiB answer must be refused")
            #expect(f.message.contains("larger than 8 MiB"))
            #expect(apiRequests(server, id).count == 1)
        }
    }

    @Test func redirectLoopsStopAfterTenHops() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = "video_loop"
            server.createJob(
                spec {
                    $0.id = id
                    $0.faults.redirectTo = "http://127.0.0.1:\(server.port)/media/redirect/\(id)/0.mp4"
                })
            let report = await fetch(server, [id], dir: dir)
            let f = try failure(of: report, at: 0, "a redirect loop must fail")
            #expect(f.message.contains("more than 10 redirects"))
            #expect(mediaRequests(server, id).count == 11)
        }
    }

    @Test func theExtensionFollowsTheContentType() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(
                spec(bytes: 70_000) {
                    $0.contentType = "video/webm"
                    $0.faults.dropAfterBytes = 20_000
                })
            let report = await fetch(server, [id], dir: dir)
            #expect(report.outcomes[0].outcome.succeeded)
            let expected = try #require(server.content(for: id)).allBytes()
            #expect(fileBytes("\(dir)/\(id).webm") == expected)
            #expect(try sidecar(dir, id)["download"].flatMap { ($0 as? [String: Any])?["file"] as? String } == "\(id).webm")
        }
    }

    @Test func aBatchOfTwelveWithDropsArrivesWhole() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let ids = (0..<12).map { _ in server.createJob(spec(bytes: 300_000) { $0.faults.dropAfterBytes = 100_000 }) }
            let report = await fetch(server, ids, dir: dir) { $0.jobs = 3 }
            #expect(report.allSucceeded)
            for id in ids { try expectSaved(server, id, dir: dir) }
        }
    }
}
