import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

/// `--with thumbnail,spritesheet` (issue 10): previews saved beside the video from the content
/// endpoint's `variant`, listed in the sidecar with their SHA-256, resumed like the video,
/// archived and verified; a server without them is a note, never a failure.
@Suite(.removesTempDirs) struct PreviewAssetsTests {
    static let both = ["thumbnail", "spritesheet"]

    func previewRequests(_ server: SandboxServer, _ id: String, _ variant: String) -> [LoggedRequest] {
        server.requests().filter { $0.path == "/openai/v1/videos/\(id)/content" && $0.query == "variant=\(variant)" }
    }

    func assets(_ dir: String, _ id: String) throws -> [String: [String: Any]] {
        try #require(try sidecar(dir, id)["assets"] as? [String: [String: Any]])
    }

    @Test func savesBothPreviewsWithTheirDigestsInTheSidecar() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(spec(bytes: 200_000))
            let log = EventLog()
            let report = await fetch(server, [id], dir: dir, events: log) { $0.previews = Self.both }
            #expect(report.allSucceeded)
            try expectSaved(server, id, dir: dir)
            let entries = try assets(dir, id)
            for (variant, ext, magic) in [("thumbnail", "webp", Array("RIFF".utf8)), ("spritesheet", "png", [0x89, 0x50, 0x4E, 0x47])] {
                let name = "\(id).\(variant).\(ext)"
                let got = try #require(fileBytes("\(dir)/\(name)"), "no \(name)")
                #expect(got == server.preview(for: id, variant: variant))
                #expect(Array(got.prefix(4)) == magic)
                let entry = try #require(entries[variant])
                #expect(entry["file"] as? String == name)
                #expect(entry["sha256"] as? String == sha256Hex(got))
                #expect((entry["bytes"] as? NSNumber)?.intValue == got.count)
                #expect(entry["content_type"] as? String == (ext == "png" ? "image/png" : "image/webp"))
                // With the key, from the content endpoint (OpenAI's way).
                let asks = previewRequests(server, id, variant)
                #expect(asks.count == 1)
                #expect(asks.allSatisfy { $0.authorization == "Bearer \(server.apiKey)" })
            }
            let saved = log.all.compactMap { e -> String? in
                if case .assetSaved(_, let name, _, _) = e { return name }
                return nil
            }
            #expect(saved == Self.both)
            #expect(!(try sidecar(dir, id)).keys.contains("x_sandbox"))
        }
    }

    @Test func aServerWithoutPreviewsGetsANoteNotAFailure() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let none = server.createJob(spec(bytes: 100_000) { $0.previews = "none" })
            let ignored = server.createJob(spec(bytes: 3_000_000) { $0.previews = "ignored" })
            let r = try await server.runCLI(
                [
                    none, ignored, "-o", dir, "--with", "thumbnail,spritesheet", "--progress", "plain",
                    "--poll-interval", "0.05",
                ],
                env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stderr.contains("\(none): note: the server has no thumbnail for this video (HTTP 400)"))
            #expect(
                r.stderr.contains("\(ignored): note: the server has no spritesheet for this video (the answer was video/mp4, not an image)")
            )
            for id in [none, ignored] {
                try expectSaved(server, id, dir: dir)
                let entries = try assets(dir, id)
                #expect(Set(entries.keys) == Set(Self.both))
                #expect(entries.values.allSatisfy { ($0["unavailable"] as? String)?.isEmpty == false && $0["file"] == nil })
                let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter {
                    $0.hasPrefix("\(id).") && !$0.hasSuffix(".mp4") && !$0.hasSuffix(".json")
                }
                #expect(leftovers.isEmpty, "\(leftovers)")
            }
            // A second run asks nothing: "unavailable" is settled.
            let before = server.requests().count
            let again = try await server.runCLI(
                [none, ignored, "-o", dir, "--with", "thumbnail"],
                env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(again.status == 0)
            #expect(server.requests().count == before)
        }
    }

    @Test func aPreviewCutShortResumesWithARange() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(spec(bytes: 100_000) { $0.faults.previewDropAfterBytes = 50_000 })
            let report = await fetch(server, [id], dir: dir) { $0.previews = ["spritesheet"] }
            #expect(report.allSucceeded)
            let expected = server.preview(for: id, variant: "spritesheet")
            #expect(expected.count > 100_000)
            #expect(fileBytes("\(dir)/\(id).spritesheet.png") == expected)
            let asks = previewRequests(server, id, "spritesheet")
            #expect(asks.count == 2)
            #expect(asks.first?.range == nil)
            #expect(asks.last?.range == "bytes=50000-", "the second request continues the .part: \(asks.map { $0.range ?? "-" })")
            #expect(asks.last?.ifRange != nil)
            #expect(!FileManager.default.fileExists(atPath: "\(dir)/\(id).spritesheet.png.part"))
        }
    }

    @Test func previewsAddedLaterDoNotFetchTheVideoAgain() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(spec(bytes: 500_000))
            #expect(await fetch(server, [id], dir: dir).allSucceeded)
            let first = try sidecar(dir, id)
            #expect(first["assets"] == nil)
            let mediaBefore = mediaRequests(server, id).count
            #expect(await fetch(server, [id], dir: dir) { $0.previews = ["thumbnail"] }.allSucceeded)
            #expect(mediaRequests(server, id).count == mediaBefore, "the saved video is not downloaded again")
            #expect(try assets(dir, id)["thumbnail"]?["sha256"] as? String == sha256Hex(server.preview(for: id, variant: "thumbnail")))
            let dl = try #require(try sidecar(dir, id)["download"] as? [String: Any])
            #expect(dl["downloaded_at"] as? String == (first["download"] as? [String: Any])?["downloaded_at"] as? String)
            // A preview deleted by hand is fetched again; with it there, nothing is asked.
            unlink("\(dir)/\(id).thumbnail.webp")
            #expect(await fetch(server, [id], dir: dir) { $0.previews = ["thumbnail"] }.allSucceeded)
            #expect(previewRequests(server, id, "thumbnail").count == 2)
            let requests = server.requests().count
            let report = await fetch(server, [id], dir: dir) { $0.previews = ["thumbnail"] }
            #expect(report.tally.alreadySaved == 1)
            #expect(server.requests().count == requests)
        }
    }

    @Test func archivesCarryAndVerifyThePreviews() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let ids = (0..<2).map { _ in server.createJob(spec(bytes: 150_000)) }
            let tar = dir + "/out.tar.zst"
            let r = try await server.runCLI(
                ids + [
                    "-o", dir, "--with", "thumbnail,spritesheet", "--archive", tar, "--poll-interval", "0.05",
                ],
                env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(r.status == 0, "\(r.stderr)")
            let names = try memberNames(tar)
            for id in ids {
                #expect(names.contains("\(id).thumbnail.webp"))
                #expect(names.contains("\(id).spritesheet.png"))
            }
            let manifest = try #require(try JSONSerialization.jsonObject(with: Data(try extractManifest(tar))) as? [String: Any])
            let entries = try #require(manifest["videos"] as? [[String: Any]])
            #expect(entries.allSatisfy { (($0["assets"] as? [String: Any])?.count ?? 0) == 2 })
            let v = try await runCLI(["verify", tar])
            #expect(v.status == 0, "\(v.stderr)")
            // Damage a preview in the folder: archiving it again refuses the changed file.
            let thumb = "\(dir)/\(ids[0]).thumbnail.webp"
            var bytes = try #require(fileBytes(thumb))
            bytes[bytes.count - 1] ^= 0xFF
            try Data(bytes).write(to: URL(fileURLWithPath: thumb))
            let again = try await runCLI(["archive", dir, "-o", dir + "/again.tar"])
            #expect(again.status != 0)
            #expect(again.stderr.contains("thumbnail.webp does not match its sidecar's sha256"), "\(again.stderr)")
        }
    }
}
