import Foundation
import Testing

@testable import LumenfallCore

@Suite struct APIClientTests {
    @Test func listPagesKeepTheirCursorAndRefuseEntriesThatAreNotObjects() throws {
        let page = try APIClient.parsePage(Array("{\"data\":[\(Mutator.base)],\"has_more\":true,\"last_id\":\"video_abc\"}".utf8))
        #expect(page.hasMore && page.lastID == "video_abc")
        #expect(throws: APIError.self) { try APIClient.parsePage(Array("{\"data\":[1]}".utf8)) }
    }
}
