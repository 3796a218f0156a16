import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

/// `gallery DIR`, `fetch --gallery` and `archive --gallery` (issue 10). Chromium loads a real
/// page in Scripts/gallery-browser-test; these check the files and the archive.
@Suite(.removesTempDirs) struct GalleryCommandTests {
    func articles(_ path: String) -> [String] {
        let page = String(decoding: fileBytes(path) ?? [], as: UTF8.self)
        return page.components(separatedBy: "<article class=\"video\" id=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
    }

    @Test func galleryWritesThePageAndPrintsItsPath() async throws {
        try await withSandbox { server in
            let (dir, ids) = try await savedFolder(server, count: 3, bytes: 50_000)
            let r = try await runCLI(["gallery", dir])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout == "\(dir)/index.html\n")
            #expect(r.stderr.contains("lists 3 videos"))
            #expect(Set(articles("\(dir)/index.html")) == Set(ids))
            // Written again from the folder: a video removed by hand leaves the page.
            unlink("\(dir)/\(ids[0]).mp4")
            let again = try await runCLI(["gallery", dir])
            #expect(again.status == 0)
            #expect(again.stderr.contains("skipped"))
            #expect(Set(articles("\(dir)/index.html")) == Set(ids.dropFirst()))
            let missing = try await runCLI(["gallery", dir + "/nope"])
            #expect(missing.status == 2)
            #expect(missing.stderr.contains("cannot read the folder"))
        }
    }

    @Test func archivesCarryAPagePerPartAndVerify() async throws {
        try await withSandbox { server in
            let (dir, ids) = try await savedFolder(server, count: 4, bytes: 100_000)
            let tar = dir + "/out.tar"
            let r = try await runCLI(["archive", dir, "-o", tar, "--gallery", "--max-size", "250000"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(FileManager.default.fileExists(atPath: "\(dir)/index.html"))
            var listed: [String] = []
            for part in ["\(dir)/out-0001.tar", "\(dir)/out-0002.tar"] {
                #expect(try memberNames(part).contains("index.html"))
                let x = makeTempDir()
                #expect(try run("bsdtar", ["-xf", part, "-C", x]).0 == 0)
                let here = articles("\(x)/index.html")
                // Each part's page lists its own videos, whose files are in that part.
                for id in here { #expect(FileManager.default.fileExists(atPath: "\(x)/\(id).mp4")) }
                listed += here
                let manifest = try #require(try JSONSerialization.jsonObject(with: Data(try extractManifest(part))) as? [String: Any])
                #expect((manifest["gallery"] as? [String: Any])?["file"] as? String == "index.html")
            }
            #expect(listed.sorted() == ids.sorted())
            let v = try await runCLI(["verify", "\(dir)/out-0001.tar", "\(dir)/out-0002.tar"])
            #expect(v.status == 0, "\(v.stderr)")
        }
    }

    @Test func aFolderWithAPageIsArchivedWithOneAndTheRemovalRewritesIt() async throws {
        try await withSandbox { server in
            let (dir, ids) = try await savedFolder(server, count: 2, bytes: 50_000)
            #expect(try await runCLI(["gallery", dir]).status == 0)
            let tar = dir + "/a.tar.zst"
            let r = try await runCLI(["archive", dir, "-o", tar, "--remove-after-archive"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(try memberNames(tar).contains("index.html"), "a folder's page goes into its archive")
            #expect(articles("\(dir)/index.html").isEmpty, "the page no longer lists the removed videos")
            #expect(ids.allSatisfy { !FileManager.default.fileExists(atPath: "\(dir)/\($0).mp4") })
        }
    }
}
