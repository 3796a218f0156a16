import Foundation
import Testing

@testable import LumenfallCore

@Suite struct TerminalTextTests {
    @Test func controlCharactersAreMadeVisible() {
        #expect(TerminalText.safe("a\u{1b}[2Jb") == "a\\x1b[2Jb")
        #expect(TerminalText.safe("bell\u{07}") == "bell\\x07")
        #expect(TerminalText.safe("fake\rOK") == "fake\\x0dOK")
        #expect(TerminalText.safe("c1\u{9b}31m del\u{7f}") == "c1\\x9b31m del\\x7f")
        #expect(TerminalText.safe("rtl\u{202E}txt") == "rtl\\u{202e}txt")
        #expect(TerminalText.safe("line\nnext") == "line\\x0anext")
        #expect(TerminalText.safe("温泉 🎬 ok") == "温泉 🎬 ok")
        let json = "{\"m\":\"a\u{9b}b\u{202E}c\u{7f}温泉\"}"
        let escaped = TerminalText.safeJSON(json)
        #expect(escaped == "{\"m\":\"a\\u009bb\\u202ec\\u007f温泉\"}")
        let back = try? JSONSerialization.jsonObject(with: Data(escaped.utf8)) as? [String: String]
        #expect(back?["m"] == "a\u{9b}b\u{202E}c\u{7f}温泉")
    }
}
