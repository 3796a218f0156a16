import Foundation
import Testing

@testable import LumenfallCore

@Suite struct LineIDSourceTests {
    func drain(_ text: String) async throws -> [String] {
        let path = NSTemporaryDirectory() + "lumenfall-ids-\(UUID().uuidString)"
        defer { unlink(path) }
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        let source = try LineIDSource(path: path)
        var out: [String] = []
        while let id = try await source.next() { out.append(id) }
        #expect(source.yielded == out.count)
        return out
    }

    /// Lines cross the 64 KiB reads anywhere; comments, blanks and CRLF are handled as
    /// VideoID.parseList does; the last line needs no newline.
    @Test func idsComeOutInOrderAcrossChunkBoundaries() async throws {
        let ids = (0..<20_000).map { "video_\($0)" }
        var text = "# header\r\n\r\n"
        for (i, id) in ids.enumerated() { text += i % 7 == 0 ? "  \(id)  # note\r\n" : "\(id)\n" }
        text += "video_last"
        #expect(try await drain(text) == ids + ["video_last"])
    }

    @Test func aMegabyteWithoutANewlineIsNotBufferedForEver() async throws {
        let out = try await drain(String(repeating: "x", count: 3 << 20))
        #expect(out.count >= 2)
        #expect(out.allSatisfy { VideoID.problem(with: $0) != nil })
    }

    @Test func aMissingFileIsRefusedAtOnce() {
        #expect(throws: (any Error).self) { try LineIDSource(path: "/nonexistent/ids.txt") }
    }
}
