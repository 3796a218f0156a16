import Foundation
import LumenfallCore
import LumenfallCurl
import LumenfallSandbox
import Testing

@Suite(.removesTempDirs) struct InterimResponseTests {
    /// 100 Continue and 103 Early Hints come before the real answer; only the final head may
    /// reach the resume decision, or a 1xx would be taken for the media host's answer.
    @Test func interimHeadsAreSkippedAndOnlyTheFinalOneDecides() async throws {
        let server = try ConnectProxy(
            cannedAnswer: "HTTP/1.1 100 Continue\r\n\r\n"
                + "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                + "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 5-9/10\r\nContent-Length: 5\r\n\r\nhello")
        defer { server.stop() }
        let sink = HeadRecorder()
        let result = try await CurlMulti.shared.perform(
            HTTPRequest(url: "http://127.0.0.1:\(server.port)/media/x.mp4", headers: ["Range: bytes=5-"]), sink: sink)
        #expect(sink.heads == [206])
        #expect(result.head?.header("Content-Range") == "bytes 5-9/10")
        #expect(sink.body == Array("hello".utf8))
    }
}
