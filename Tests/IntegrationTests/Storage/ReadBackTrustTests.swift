import Foundation
import LumenfallCurl
import LumenfallSandbox
import Testing

@testable import LumenfallCore

/// What the tool reads back from places it once wrote (a `.part.state` in a shared folder) is
/// input from outside: it never reaches a request as it is.
@Suite(.removesTempDirs) struct ReadBackTrustTests {
    /// Issue 17, finding 1: an ETag in a planted `.part.state` that ends the If-Range line and
    /// starts a second request. The state is set aside (renamed `.rejected`, an event says so),
    /// the `.part` resumes without it, and no request carries the injected text.
    @Test(arguments: [
        "\"w1\"\r\nContent-Length: 0\r\n\r\nDELETE /openai/v1/videos/video_victim HTTP/1.1\r\nHost: x\r\nX-Pad: x",
        "\"m1\"\r\nX-Injected: yes",
        "\"n1\"\u{0}X-Injected: yes",
    ])
    func aPlantedStateCannotInjectHeaders(etag: String) async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(spec(bytes: 60_000))
            let expected = try #require(server.content(for: id)).allBytes()
            try Data(expected.prefix(10_000)).write(to: URL(fileURLWithPath: "\(dir)/\(id).mp4.part"))
            let state = try JSONSerialization.data(withJSONObject: ["etag": etag, "total": expected.count])
            try state.write(to: URL(fileURLWithPath: "\(dir)/\(id).mp4.part.state"))
            let events = EventLog()
            let report = await fetch(server, [id], dir: dir, events: events)
            #expect(report.allSucceeded)
            try expectSaved(server, id, dir: dir)
            #expect(FileManager.default.fileExists(atPath: "\(dir)/\(id).mp4.part.state.rejected"))
            let setAside = events.all.contains {
                if case .download(_, .stateSetAside(let file, let reason)) = $0 {
                    return file.hasSuffix(".rejected") && reason.contains("etag")
                }
                return false
            }
            #expect(setAside, "the set-aside state must be reported")
            for r in server.requests() {
                #expect(r.method != "DELETE")
                #expect(!(r.ifRange ?? "").contains("X-"), "an injected header reached the server: \(r.ifRange ?? "")")
            }
            #expect(mediaRequests(server, id).first?.range == "bytes=10000-", "the .part is kept and resumed")
        }
    }

    /// The finding as reported: the planted record beside a preview's `.part`, after the video
    /// was saved (`--with thumbnail` on a rerun).
    @Test func aPlantedPreviewStateCannotInjectEither() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(spec(bytes: 30_000))
            #expect(await fetch(server, [id], dir: dir).allSucceeded)
            let preview = server.preview(for: id, variant: "thumbnail")
            try Data(preview.prefix(10)).write(to: URL(fileURLWithPath: "\(dir)/\(id).thumbnail.webp.part"))
            let etag = "\"w1\"\r\nContent-Length: 0\r\n\r\nDELETE /openai/v1/videos/\(id) HTTP/1.1\r\nHost: x\r\nX-Pad: x"
            try JSONSerialization.data(withJSONObject: ["etag": etag, "contentType": "image/webp"])
                .write(to: URL(fileURLWithPath: "\(dir)/\(id).thumbnail.webp.part.state"))
            let report = await fetch(server, [id], dir: dir) { $0.previews = ["thumbnail"] }
            #expect(report.allSucceeded)
            #expect(fileBytes("\(dir)/\(id).thumbnail.webp") == preview)
            #expect(!server.requests().contains { $0.method == "DELETE" })
            #expect(FileManager.default.fileExists(atPath: "\(dir)/\(id).thumbnail.webp.part.state.rejected"))
        }
    }

    /// A state whose numbers cannot describe one file (a total past 1 PiB, a plan with ranges
    /// that do not meet) is set aside the same way.
    @Test func aStateWithImpossibleNumbersIsSetAside() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(spec(bytes: 30_000))
            let expected = try #require(server.content(for: id)).allBytes()
            try Data(expected.prefix(5_000)).write(to: URL(fileURLWithPath: "\(dir)/\(id).mp4.part"))
            let state = #"{"etag":"\"ok\"","total":9000000000000000000}"#
            try Data(state.utf8).write(to: URL(fileURLWithPath: "\(dir)/\(id).mp4.part.state"))
            let report = await fetch(server, [id], dir: dir)
            #expect(report.allSucceeded)
            try expectSaved(server, id, dir: dir)
            #expect(FileManager.default.fileExists(atPath: "\(dir)/\(id).mp4.part.state.rejected"))
        }
    }

    /// The one place requests are built refuses a control character anywhere on the wire,
    /// whatever the value came from, before anything is sent.
    @Test(arguments: [
        ("headers", "If-Range: \"a\"\r\nX-Injected: 1"),
        ("headers", "X-A: b\nc"),
        ("headers", "Bad Name: x"),
        ("url", "http://127.0.0.1:9/a\r\nX: y"),
        ("url", "http://127.0.0.1:9/a b"),
        ("method", "GET /x HTTP/1.1\r\n"),
        ("agent", "lf\r\nX: 1"),
    ])
    func everyRequestIsCheckedWhereItIsBuilt(field: String, value: String) async throws {
        var r = HTTPRequest(url: "http://127.0.0.1:9/ok")
        switch field {
        case "headers": r.headers = ["Accept: */*", value]
        case "url": r.url = value
        case "method": r.method = value
        default: r.userAgent = value
        }
        await #expect(throws: UnsafeRequestError.self) {
            _ = try await CurlMulti.shared.perform(r, sink: DiscardSink())
        }
        var fine = HTTPRequest(url: "http://127.0.0.1:9/ok", headers: ["If-Range: W/\"x\" \t", "X-Obs: caf\u{E9}"])
        fine.userAgent = "lumenfall-fetch/1"
        #expect(throws: Never.self) { try fine.validate() }
    }
}
