import Foundation
import Testing

@testable import LumenfallCore

@Suite struct ListingFilterTests {
    func video(_ status: String, model: String = "sora-2", created: Int? = 1_800_000_000) throws -> VideoObject {
        let c = created.map { ",\"created_at\":\($0)" } ?? ""
        return try VideoObject(json: Array(#"{"id":"video_1","object":"video","status":"\#(status)","model":"\#(model)"\#(c)}"#.utf8))
    }

    @Test func statusModelAndTimeWindowEachFilter() throws {
        let f = ListingFilter(
            statuses: ["completed"], models: ["Sora-2"], since: Date(timeIntervalSince1970: 1_700_000_000),
            until: Date(timeIntervalSince1970: 1_900_000_000))
        #expect(f.keeps(try video("completed")))
        #expect(!f.keeps(try video("failed")))
        #expect(!f.keeps(try video("completed", model: "sora-2-pro")))
        #expect(!f.keeps(try video("completed", created: 1_600_000_000)), "before --since")
        #expect(!f.keeps(try video("completed", created: 1_900_000_000)), "--until is exclusive")
        #expect(!f.keeps(try video("completed", created: nil)), "no creation time: outside any window")
        #expect(ListingFilter().keeps(try video("completed", created: nil)), "no window: kept")
    }
}
