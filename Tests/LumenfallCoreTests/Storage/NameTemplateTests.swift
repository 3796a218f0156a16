import Foundation
import Testing

@testable import LumenfallCore

@Suite struct NameTemplateTests {
    func video(prompt: String = "A fox in fresh snow, slow motion", model: String = "sora-2") throws -> VideoObject {
        let p = String(data: try JSONSerialization.data(withJSONObject: prompt, options: .fragmentsAllowed), encoding: .utf8)!
        let m = String(data: try JSONSerialization.data(withJSONObject: model, options: .fragmentsAllowed), encoding: .utf8)!
        return try VideoObject(
            json: Array(
                #"{"id":"video_abc","object":"video","status":"completed","model":\#(m),"prompt":\#(p),"created_at":1796452800,"seconds":"8","size":"1280x720"}"#
                    .utf8))
    }

    @Test func fieldsAreFilledFromTheVideo() throws {
        let t = try NameTemplate(parsing: "{created:%Y-%m-%d}_{model}_{prompt:10}_{seconds}s_{size}_{id}")
        #expect(t.render(try video()) == "2026-12-05_sora-2_A fox in f_8s_1280x720_video_abc")
        #expect(try NameTemplate(parsing: "{id}").render(try video()) == "video_abc")
        #expect(try NameTemplate(parsing: "{created}").render(try video()) == "2026-12-05")
    }

    @Test func serverTextCannotMakeAPathOrHideCharacters() throws {
        let t = try NameTemplate(parsing: "{model}_{prompt:200}")
        let evil = try video(prompt: "../../etc/passwd\u{1b}[2J\u{202e}gpj.exe", model: "../x")
        let stem = t.render(evil)
        #expect(!stem.contains("/") && !stem.contains("\u{1b}") && !stem.contains("\u{202e}"))
        #expect(!stem.hasPrefix("."))
        #expect(NameTemplate.isValidStem(stem))
        let long = t.render(try video(prompt: String(repeating: "é", count: 300)))
        #expect(long.utf8.count <= NameTemplate.maxBytes)
        #expect(try NameTemplate(parsing: "{prompt:5}").render(try video(prompt: "")) == "video_abc", "empty: the id")
    }

    @Test func badTemplatesAreRefusedWithTheFields() {
        #expect(throws: NameTemplate.ParseError.unknownField("title")) { try NameTemplate(parsing: "{title}") }
        #expect(throws: NameTemplate.ParseError.unclosed) { try NameTemplate(parsing: "{id") }
        #expect(throws: (any Error).self) { try NameTemplate(parsing: "{prompt:0}") }
    }

    @Test func theIndexGivesEachIdOneStemAndAvoidsCollisions() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("names-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let index = NameIndex(directory: dir)
        #expect(try index.assign("video_a", wanted: "fox") == "fox")
        #expect(try index.assign("video_b", wanted: "fox") == "fox_video_b", "taken by another id")
        #expect(try index.assign("video_a", wanted: "other") == "fox", "an id keeps its stem")
        // Read back, with a hostile line among them.
        let text = try String(contentsOfFile: "\(dir)/\(NameIndex.fileName)", encoding: .utf8) + "video_c\t../../x\nbad line\n"
        try Data(text.utf8).write(to: URL(fileURLWithPath: "\(dir)/\(NameIndex.fileName)"))
        let again = NameIndex(directory: dir)
        #expect(again.stem(for: "video_b") == "fox_video_b")
        #expect(again.id(forStem: "fox") == "video_a")
        #expect(again.stem(for: "video_c") == nil)
    }
}
