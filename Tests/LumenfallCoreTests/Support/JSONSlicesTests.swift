import Foundation
import Testing

@testable import LumenfallCore

/// A list page's objects are kept as the server wrote them (issue 10: `list --json` prints each
/// object exactly as received).
@Suite struct JSONSlicesTests {
    func slices(_ text: String, _ key: String = "data") -> [String]? {
        let b = Array(text.utf8)
        return JSONSlices.elements(ofMember: key, in: b).map { $0.map { String(decoding: b[$0], as: UTF8.self) } }
    }

    @Test func elementsComeOutByteForByte() {
        let page =
            #"{"object":"list", "data" : [ {"id":"a","p":"x ] } , \" [","n":0.210} ,{"id":"b","v":[1,[2,{"data":[9]}]]}, 3 , "s,]" , null ], "has_more":false}"#
        #expect(
            slices(page) == [#"{"id":"a","p":"x ] } , \" [","n":0.210}"#, #"{"id":"b","v":[1,[2,{"data":[9]}]]}"#, "3", #""s,]""#, "null"])
    }

    @Test func onlyTheTopLevelMemberCounts() {
        #expect(slices(#"{"meta":{"data":[1,2]},"data":[]}"#) == [])
        #expect(slices(#"{"meta":{"data":[1,2]}}"#) == nil)
        #expect(slices(#"{"x":"data","data":[{"id":"z"}]}"#) == [#"{"id":"z"}"#], "a value that reads data is not a key")
        #expect(slices(#"{"d\u0061ta":[ 1 ]}"#) == ["1"], "an escaped key is decoded")
        #expect(slices(#"{"data":{"id":"a"}}"#) == nil, "not an array")
        #expect(slices(#"{"data":[1],"data":[2,3]}"#) == ["2", "3"], "the last one wins, as in the parsed object")
    }

    @Test func aListPageKeepsEachObjectAsItCame() throws {
        let first =
            #"{"status":"completed","id":"video_1","metadata":{"cost_estimate":0.210,"cost_currency":"USD"},"prompt":"caf\u00e9 \/ 1e2","n":1E2}"#
        let second = #"{ "id" : "video_2", "status" : "queued" }"#
        let page = try APIClient.parsePage(Array("{\"object\":\"list\",\"data\":[\n  \(first),\n  \(second)\n],\"has_more\":false}".utf8))
        #expect(page.videos.map { String(decoding: $0.raw, as: UTF8.self) } == [first, second])
        #expect(page.videos.map(\.id) == ["video_1", "video_2"])
        #expect(page.videos[0].cost == 0.21)
    }
}
