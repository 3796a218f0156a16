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

@Suite struct SandboxDeleteAndVariantTests {
    @Test func aDeletedJobAnswers404AndLeavesTheList() async throws {
        try await withSandbox { server in
            let keep = server.createJob(spec { $0.queuedPolls = 0 })
            let gone = server.createJob(spec { $0.queuedPolls = 0 })
            let auth = "Authorization: Bearer \(server.apiKey)"
            let (_, del) = try run("curl", ["-sS", "-X", "DELETE", "-H", auth, server.baseURL + "/videos/\(gone)"])
            #expect(del.contains("\"deleted\":true"), "\(del)")
            let (_, after) = try run(
                "curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", auth, server.baseURL + "/videos/\(gone)"])
            #expect(after == "404")
            let (_, list) = try run("curl", ["-sS", "-H", auth, server.baseURL + "/videos?limit=10"])
            #expect(list.contains(keep) && !list.contains(gone), "\(list)")
        }
    }

    /// Each job has its own thumbnail (lossless WebP) and spritesheet (PNG, a 4 x 4 grid).
    @Test func previewsAreValidImagesOfTheirOwn() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let ids = (0..<2).map { _ in server.createJob(spec { $0.queuedPolls = 0 }) }
            var thumbs: [[UInt8]] = []
            for id in ids {
                for variant in ["thumbnail", "spritesheet"] {
                    let file = "\(dir)/\(id).\(variant)"
                    let (_, type) = try run(
                        "curl",
                        [
                            "-sS", "-o", file, "-w", "%{content_type}", "-H", "Authorization: Bearer \(server.apiKey)",
                            server.baseURL + "/videos/\(id)/content?variant=\(variant)",
                        ])
                    let bytes = try #require(fileBytes(file))
                    if variant == "thumbnail" {
                        #expect(type == "image/webp")
                        #expect(Array(bytes[0..<4]) == Array("RIFF".utf8) && Array(bytes[8..<16]) == Array("WEBPVP8L".utf8))
                        thumbs.append(bytes)
                        if FileManager.default.isExecutableFile(atPath: "/usr/bin/dwebp") {
                            let (code, out) = try run("dwebp", [file, "-o", file + ".png"])
                            #expect(code == 0, "\(out)")
                        }
                    } else {
                        #expect(type == "image/png")
                        // Every chunk's CRC and the zlib stream, checked by Python's own zlib.
                        let check = """
                            import struct, sys, zlib
                            d = open(sys.argv[1], 'rb').read(); assert d[:8] == b'\\x89PNG\\r\\n\\x1a\\n'
                            i, idat = 8, b''
                            while i < len(d):
                                n = struct.unpack('>I', d[i:i+4])[0]; t = d[i+4:i+8]; body = d[i+8:i+8+n]
                                assert zlib.crc32(t + body) == struct.unpack('>I', d[i+8+n:i+12+n])[0], t
                                idat += body if t == b'IDAT' else b''; i += 12 + n
                            w, h = struct.unpack('>II', d[16:24]); assert len(zlib.decompress(idat)) == h * (1 + 3 * w)
                            """
                        let (code, out) = try run("python3", ["-c", check, file])
                        #expect(code == 0, "\(out)")
                    }
                }
            }
            #expect(thumbs[0] != thumbs[1], "each job has its own thumbnail")
        }
    }

    @Test func anUnknownVariantIsA400() async throws {
        try await withSandbox { server in
            let id = server.createJob(spec { $0.queuedPolls = 0 })
            let (_, code) = try run(
                "curl",
                [
                    "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: Bearer \(server.apiKey)",
                    server.baseURL + "/videos/\(id)/content?variant=poster",
                ])
            #expect(code == "400")
        }
    }
}

@Suite(.removesTempDirs) struct ArchiveMemberTimeTests {
    /// A server that leaves `completed_at` null: the member's time is `created_at`, not 1970.
    @Test func aNullCompletedAtFallsBackToCreatedAt() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let raw = hostileObject().replacingOccurrences(of: "\"completed_at\":1780000100", with: "\"completed_at\":null")
            let id = server.createJob(
                spec(bytes: 10_000) {
                    $0.queuedPolls = 0
                    $0.faults.rawObject = raw
                })
            let report = await fetch(server, [id], dir: dir)
            #expect(report.allSucceeded)
            let item = try ArchiveItem.load(directory: dir, id: id)
            #expect(item.completedAt == 1_780_000_000)
            let path = makeTempDir() + "/t.tar"
            try Archiver(directory: dir, path: path).write([item])
            let (_, listing) = try run("bsdtar", ["-tvf", path])
            // Epoch 0 shows as 1970 (or 1969 west of Greenwich); bsdtar prints local time.
            #expect(!listing.contains("1970") && !listing.contains("1969"), "\(listing)")
        }
    }
}
