import Foundation
import Testing

@testable import LumenfallCore

@Suite struct VideoIDTests {
    @Test func onlySafeIdsPass() {
        #expect(VideoID.problem(with: "video_abc-123.v2") == nil)
        for bad in ["", ".", "..", "../x", "a/b", "a\\b", "with space", "ü", String(repeating: "a", count: 129), "a\u{0}b"] {
            #expect(VideoID.problem(with: bad) != nil, "\(bad) must be refused")
        }
    }

    @Test func idListsSkipBlankLinesAndComments() {
        let text = "# my batch\nvideo_a\n\n  video_b  # second\n#video_c\r\nvideo_d\n"
        #expect(VideoID.parseList(text) == ["video_a", "video_b", "video_d"])
    }
}
