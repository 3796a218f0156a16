import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

/// What yt-dlp and aria2c users reach for (issue 19): a dry run, finishing a folder's partial
/// downloads without their ids, and times on plain lines.
@Suite(.removesTempDirs) struct FetchConveniencesTests {
    @Test func aDryRunSaysWhatWouldHappenAndWritesNothing() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let key = ["LUMENFALL_API_KEY": server.apiKey]
            let ready = server.createJob(spec(bytes: 123_456) { $0.queuedPolls = 0 })
            let waiting = server.createJob(spec { $0.queuedSeconds = 600 })
            let saved = server.createJob(spec(bytes: 1000) { $0.queuedPolls = 0 })
            #expect(try await server.runCLI([saved, "-o", dir + "/v"], env: key).status == 0)
            let before = server.requests().count
            let r = try await server.runCLI([ready, waiting, saved, "-o", dir + "/v", "--dry-run"], env: key)
            #expect(r.status == 0, "\(r.stderr)")
            let lines = r.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first?.hasPrefix("ID") == true)
            let row = { (id: String) in lines.first { $0.hasPrefix(id) } ?? "" }
            #expect(row(ready).contains("completed") && row(ready).contains("120.6 KiB") && row(ready).contains("download it"))
            #expect(row(waiting).contains("queued") && row(waiting).contains("wait for it"))
            #expect(row(saved).contains("yes") && row(saved).contains("already saved"))
            #expect(r.stderr.contains("1 to download now (120.6 KiB), 1 still generating, 1 already saved"))
            // Nothing fetched, nothing written: no media GET, only the folder the first run made.
            #expect(!server.requests().dropFirst(before).contains { $0.method == "GET" && $0.path.hasPrefix("/media/") })
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/v").sorted() == ["\(saved).json", "\(saved).mp4"])
            let nowhere = try await server.runCLI([ready, "-o", dir + "/never", "--dry-run"], env: key)
            #expect(nowhere.status == 0)
            #expect(!FileManager.default.fileExists(atPath: dir + "/never"), "no folder is made")
        }
    }

    @Test func partialsFinishesWhatAnEarlierRunLeftWithoutItsIds() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let key = ["LUMENFALL_API_KEY": server.apiKey]
            let id = server.createJob(
                spec(bytes: 2_000_000) {
                    $0.queuedPolls = 0
                    $0.faults.dropAfterBytes = 700_000
                })
            // The first run gives up after the drop, keeping the .part.
            let first = try await server.runCLI([id, "-o", dir, "--retries", "0"], env: key)
            #expect(first.status == 1)
            #expect(FileManager.default.fileExists(atPath: "\(dir)/\(id).mp4.part"))
            let r = try await server.runCLI(["--partials", "-o", dir, "--timestamps", "--progress", "plain"], env: key)
            #expect(r.status == 0, "\(r.stderr)")
            try expectSaved(server, id, dir: dir)
            #expect(r.stderr.contains("resuming from"))
            // --timestamps: every line starts with the UTC time.
            for line in r.stderr.split(separator: "\n") {
                #expect(
                    line.range(of: #"^20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ lumenfall-fetch: "#, options: .regularExpression) != nil, "\(line)")
            }
            let none = try await server.runCLI(["--partials", "-o", dir], env: key)
            #expect(none.status == 0)
            #expect(none.stderr.contains("no partial downloads in the folder"))
        }
    }
}
