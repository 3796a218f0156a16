import Foundation
import LumenfallArchive
import LumenfallCore
import LumenfallSandbox
import Testing

@Suite(.removesTempDirs) struct ArchiveDamageTests {
    @Test func garbageAMissingFileAndATruncatedStreamAreReportedNotCrashedOn() async throws {
        let dir = makeTempDir()
        try "not an archive at all".write(toFile: "\(dir)/g.tar", atomically: true, encoding: .utf8)
        for path in ["\(dir)/g.tar", "\(dir)/missing.tar.zst"] {
            let r = ArchiveVerifier.verify(path: path)
            #expect(r.problems.first?.kind == .unreadable, "\(path)")
        }
        try await withSandbox { server in
            let (src, _) = try await savedFolder(server, count: 2, bytes: 200_000)
            let path = dir + "/t.tar.zst"
            try Archiver(directory: src, path: path).write(try ArchiveItem.scan(directory: src).items)
            let bytes = try #require(fileBytes(path))
            try Data(bytes.prefix(bytes.count / 2)).write(to: URL(fileURLWithPath: path))
            let r = ArchiveVerifier.verify(path: path)
            #expect(r.problems.contains { $0.kind == .unreadable && $0.detail.contains("truncated") })
            #expect(r.problems.contains { $0.kind == .missing })
            let cli = try await runCLI(["verify", path, "\(dir)/g.tar"])
            #expect(cli.status == 1)
            #expect(cli.reason == .exit)
        }
    }
}
