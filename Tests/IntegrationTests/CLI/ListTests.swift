import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

@Suite(.removesTempDirs) struct ListTests {
    @Test func listingPagesThroughMoreThanOnePage() async throws {
        try await withSandbox { server in
            let ids = (0..<7).map { _ in server.createJob(spec(bytes: 10_000)) }
            let failed = server.createJob(
                spec {
                    $0.outcome = "failed"
                    $0.queuedPolls = 0
                })
            let r = try await server.runCLI(
                ["list", "--page-size", "3"],
                env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(r.status == 0, "\(r.stderr)")
            let lines = r.stdout.split(separator: "\n")
            #expect(lines.first?.hasPrefix("ID") == true)
            #expect(lines.count == 9)
            // Newest first, across three pages of three.
            #expect(lines.dropFirst().map { String($0.split(separator: " ")[0]) } == (ids + [failed]).reversed())
            let pages = server.requests().filter { $0.path == "/openai/v1/videos" }
            #expect(pages.count == 3)
        }
    }

    /// The table says when each was created, what it was asked for (or why it failed), and with
    /// -o DIR whether it is saved there; --model and --status filter.
    @Test func theTableShowsCreatedPromptErrorAndOnDisk() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let saved = server.createJob(spec(bytes: 1000) { $0.queuedPolls = 0 })
            let other = server.createJob(
                spec(bytes: 1000) {
                    $0.queuedPolls = 0
                    $0.model = "sora-2-pro"
                    $0.prompt = "A lighthouse in a storm, waves crashing over the rocks at night"
                })
            let bad = server.createJob(
                spec {
                    $0.outcome = "failed"
                    $0.queuedPolls = 0
                })
            let key = ["LUMENFALL_API_KEY": server.apiKey]
            #expect(try await server.runCLI([saved, "-o", dir], env: key).status == 0)
            let r = try await server.runCLI(["list", "-o", dir], env: key)
            #expect(r.status == 0, "\(r.stderr)")
            let lines = r.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first?.contains("CREATED") == true && lines.first?.contains("ON DISK") == true)
            let row = { (id: String) in lines.first { $0.hasPrefix(id) } ?? "" }
            #expect(row(saved).contains(" yes "))
            #expect(row(other).contains(" no ") && row(other).contains("A lighthouse in a storm, waves crashing…"))
            #expect(row(bad).contains("content_policy_violation"))
            #expect(row(saved).range(of: #"20\d\d-\d\d-\d\d \d\d:\d\d"#, options: .regularExpression) != nil)
            let pro = try await server.runCLI(["list", "--model", "sora-2-pro"], env: key)
            #expect(pro.stdout.split(separator: "\n").count == 2 && pro.stdout.contains(other))
            // fetch --all takes the same filters.
            let f = try await server.runCLI(["--all", "--model", "sora-2-pro", "-o", dir + "/pro", "--poll-interval", "0.05"], env: key)
            #expect(f.status == 0, "\(f.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/pro").filter { $0.hasSuffix(".mp4") } == ["\(other).mp4"])
            #expect(f.stderr.contains("left out by --status, --model or --until"))
        }
    }

    @Test func listingFiltersByStatusAndPrintsJSON() async throws {
        try await withSandbox { server in
            _ = (0..<3).map { _ in server.createJob(spec(bytes: 10_000) { $0.queuedPolls = 0 }) }
            let bad = server.createJob(
                spec {
                    $0.outcome = "failed"
                    $0.queuedPolls = 0
                })
            let r = try await server.runCLI(
                ["list", "--status", "failed", "--json"],
                env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(r.status == 0)
            let lines = r.stdout.split(separator: "\n")
            #expect(lines.count == 1)
            let obj = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
            #expect(obj["id"] as? String == bad)
            #expect(obj["status"] as? String == "failed")
        }
    }

    @Test func listingStopsAtSinceAndLimit() async throws {
        try await withSandbox { server in
            let api = APIClient(baseURL: server.baseURL, key: APIKey(server.apiKey)!)
            _ = (0..<5).map { _ in server.createJob(spec(bytes: 10_000)) }
            let limited = try await api.listAll(since: nil, limit: 2, pageSize: 100)
            #expect(limited.count == 2)
            let none = try await api.listAll(since: Date().addingTimeInterval(3600), limit: nil, pageSize: 2)
            #expect(none.isEmpty)
            #expect(server.requests().filter { $0.path == "/openai/v1/videos" }.count == 2)
        }
    }

    @Test func aServerWithoutTheListSaysSoClearly() async throws {
        try await withSandbox(offersList: false) { server in
            let r = try await server.runCLI(["list"], env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(r.status == 1)
            #expect(r.stderr.contains("does not list videos (GET /videos answered 404); pass the ids instead"))
            let f = try await server.runCLI(
                ["--all", "-o", makeTempDir()], env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(f.status == 1)
            #expect(f.stderr.contains("does not list videos"))
        }
    }

    @Test func fetchAllTakesItsIdsFromTheListSkippingFailedOnes() async throws {
        try await withSandbox { server in
            let good = (0..<4).map { _ in server.createJob(spec(bytes: 20_000) { $0.queuedPolls = 0 }) }
            _ = server.createJob(
                spec {
                    $0.outcome = "failed"
                    $0.queuedPolls = 0
                })
            let dir = makeTempDir()
            let r = try await server.runCLI(
                ["--all", "-o", dir, "--poll-interval", "0.05"],
                env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stderr.contains("the API listed 4 videos to fetch (1 failed or cancelled left out)"))
            for id in good { try expectSaved(server, id, dir: dir) }
        }
    }
}
