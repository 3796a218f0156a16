import Foundation

/// Walks `GET /videos` one page at a time, so a caller consumes pages as they arrive instead of
/// holding the whole listing. A server whose `has_more` never ends is bounded by the caller
/// (`--max-items`); one whose cursor comes back round is an error that names the cursor,
/// rather than an endless loop. Memory: one page, plus one cursor string per page seen.
package struct ListCursor: Sendable {
    package let api: APIClient
    package let since: Date?
    package let pageSize: Int
    private var after: String?
    private var seenCursors = Set<String>()
    private var finished = false
    private var pages = 0
    /// A listing longer than this many pages (10 million videos at 100 a page) is a server
    /// whose `has_more` never ends with fresh cursors: stopped with an error, not followed for
    /// ever (the sweep of `watch` lists with no item limit).
    package var maxPages = 100_000

    package init(api: APIClient, since: Date?, pageSize: Int = 100) {
        self.api = api
        self.since = since
        self.pageSize = max(1, min(100, pageSize))
    }

    /// The next page's videos (possibly empty), or nil once the listing is over.
    package mutating func nextPage(limit: Int? = nil) async throws -> [VideoObject]? {
        if finished { return nil }
        guard pages < maxPages else {
            throw APIError.malformed("the list did not end after \(maxPages) pages; stopping the listing")
        }
        pages += 1
        let page = try await api.list(after: after, limit: max(1, min(pageSize, limit ?? pageSize)))
        var out: [VideoObject] = []
        for v in page.videos {
            // Newest first: the first video older than --since ends the walk.
            if let since, let created = v.createdAt, created < since {
                finished = true
                return out
            }
            out.append(v)
        }
        guard page.hasMore else {
            finished = true
            return out
        }
        guard let last = page.lastID, !page.videos.isEmpty else {
            throw APIError.malformed("the list says has_more but its page is empty or names no last_id; stopping the listing")
        }
        guard seenCursors.insert(last).inserted else {
            throw APIError.malformed(
                "the list came back to the cursor '\(last)' (after=\(last) was already asked for): its pages loop; stopping the listing")
        }
        after = last
        return out
    }
}
