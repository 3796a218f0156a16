import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

@Suite(.removesTempDirs) struct ListingStreamTests {
    @Test func anEndlessListIsCappedByMaxItemsAndDownloadsStartWhileListing() async throws {
        try await withSandbox(listMode: .endless) { server in
            let dir = makeTempDir()
            let r = try await server.runCLI(
                [
                    "--all", "--max-items", "250", "-o", dir,
                    "--poll-interval", "0.05",
                ], env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stderr.contains("the API listed 250 videos to fetch (stopped at --max-items 250)"))
            #expect(r.stdout.split(separator: "\n").count == 250)
            // Pages are read as downloads go: a media request comes before the last page.
            let log = server.requests()
            let firstMedia = try #require(log.firstIndex { $0.path.hasPrefix("/media/") })
            let lastList = try #require(log.lastIndex { $0.path == "/openai/v1/videos" })
            #expect(firstMedia < lastList)
        }
    }

    /// A completed video in the listing is downloaded on the listing's word: no poll request
    /// per id (10 000 videos, 10 000 requests fewer); one still being made is polled as ever.
    @Test func listedCompletedVideosAreNotPolledAgain() async throws {
        try await withSandbox { server in
            let done = (0..<3).map { _ in server.createJob(spec(bytes: 5_000) { $0.queuedPolls = 0 }) }
            let pending = server.createJob(spec(bytes: 5_000) { $0.queuedPolls = 2 })
            let dir = makeTempDir()
            let r = try await server.runCLI(
                ["--all", "-o", dir, "--poll-interval", "0.05"], env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(r.status == 0, "\(r.stderr)")
            for id in done + [pending] { try expectSaved(server, id, dir: dir) }
            for id in done { #expect(apiRequests(server, id).isEmpty, "\(id) was polled") }
            #expect(!apiRequests(server, pending).isEmpty)
        }
    }

    @Test func aCursorThatComesBackIsAnErrorNamingIt() async throws {
        try await withSandbox(listMode: .loop) { server in
            let ids = (0..<3).map { _ in server.createJob(spec(bytes: 5_000) { $0.queuedPolls = 0 }) }
            let env = ["LUMENFALL_API_KEY": server.apiKey]
            // Newest first, two a page: the second request asks after ids[1] and gets page one again.
            let list = try await server.runCLI(["list", "--page-size", "2"], env: env)
            #expect(list.status == 1)
            #expect(list.stderr.contains("came back to the cursor '\(ids[1])'"), "\(list.stderr)")

            // fetch --all saves what the first page gave, then reports the loop and exits 1.
            let dir = makeTempDir()
            let fetch = try await server.runCLI(["--all", "-o", dir, "--poll-interval", "0.05"], env: env)
            #expect(fetch.status == 1)
            #expect(fetch.stderr.contains("came back to the cursor '\(ids[0])'"), "\(fetch.stderr)")
            #expect(fetch.stderr.contains("the ids listed before it were fetched"))
            for id in ids { try expectSaved(server, id, dir: dir) }
        }
    }

    /// Issue 17: a listing read without an item limit (watch's sweep) against a server whose
    /// `has_more` never ends with fresh cursors stops at the page bound with an error.
    @Test func anEndlessListWithoutALimitStopsAtThePageBound() async throws {
        try await withSandbox(listMode: .endless) { server in
            var cursor = ListCursor(api: APIClient(baseURL: server.baseURL, key: APIKey(server.apiKey)!), since: nil, pageSize: 5)
            cursor.maxPages = 20
            var pages = 0
            await #expect(throws: APIError.self) {
                while try await cursor.nextPage() != nil { pages += 1 }
            }
            #expect(pages == 20)
        }
    }
}
