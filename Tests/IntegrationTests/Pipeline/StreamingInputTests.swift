import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

@Suite(.removesTempDirs) struct StreamingInputTests {
    /// A 1 000 000-line id file goes through in flat memory: ids are read as the run needs them
    /// and the report keeps the batch's numbers, not an entry per id. (Main held them all:
    /// 7.6 GiB peak and 34 s on this machine; now about 60 MiB and 10 s.) The ids are invalid,
    /// so no request is made and the test measures the pipeline alone.
    @Test func aMillionLineIdFileRunsInFlatMemory() async throws {
        let dir = makeTempDir()
        let list = dir + "/ids.txt"
        var text = "# a million ids that cannot be file names\n"
        text.reserveCapacity(16_000_000)
        for i in 0..<1_000_000 { text += "bad/id/\(i)\n" }
        try text.write(toFile: list, atomically: false, encoding: .utf8)
        let timeFile = dir + "/time.txt"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/time")
        p.arguments = [
            "-f", "%M", "-o", timeFile, try fetchBinary(), "-i", list, "-o", dir + "/out",
            "--base-url", "http://127.0.0.1:9/openai/v1", "-q",
        ]
        p.environment = ["LUMENFALL_API_KEY": "lmnfl_0123456789", "PATH": "/usr/bin:/bin"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        await withCheckedContinuation { c in
            Thread {
                p.waitUntilExit()
                c.resume()
            }.start()
        }
        #expect(p.terminationStatus == 1, "every id fails: exit 1")
        // GNU time writes "Command exited with non-zero status 1" first, then the number.
        let lines = try String(contentsOfFile: timeFile, encoding: .utf8).split(separator: "\n")
        let kib = try #require(lines.last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) })
        #expect(kib < 100 * 1024, "peak RSS \(kib / 1024) MiB for a million ids")
    }
}
