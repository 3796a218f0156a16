import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

/// `watch --archive-every 1d --archive-dir D` (issue 11): each finished UTC day's saved videos
/// into D/<day>.tar.zst by the archive rules, once; the current day waits.
@Suite(.removesTempDirs) struct ArchiveRotationTests {
    func setDownloadedAt(_ dir: String, _ id: String, _ at: String) throws {
        let path = "\(dir)/\(id).json"
        let text = String(decoding: try #require(fileBytes(path)), as: UTF8.self)
        let changed = text.replacingOccurrences(
            of: #""downloaded_at" : "[^"]*""#, with: "\"downloaded_at\" : \"\(at)\"", options: .regularExpression)
        #expect(changed != text)
        try Data(changed.utf8).write(to: URL(fileURLWithPath: path))
    }

    @Test func eachFinishedDayGetsOneVerifiedArchive() async throws {
        try await withSandbox { server in
            let (dir, ids) = try await savedFolder(server, count: 4, bytes: 60_000)
            try setDownloadedAt(dir, ids[0], "2026-11-20T00:00:00Z")
            try setDownloadedAt(dir, ids[1], "2026-11-20T23:59:59Z")
            try setDownloadedAt(dir, ids[2], "2026-11-21T12:00:00Z")
            try setDownloadedAt(dir, ids[3], "2026-11-22T08:00:00Z")
            let out = makeTempDir()
            let rotation = ArchiveRotation(folder: dir, archiveDirectory: out, period: 86_400, removeAfterArchive: true)
            let now = try #require(ISO8601DateFormatter().date(from: "2026-11-22T09:30:00Z"))
            #expect(rotation.nextBoundary(after: now) == ISO8601DateFormatter().date(from: "2026-11-23T00:00:00Z"))
            let written = try rotation.run(now: now)
            #expect(written.map { ($0.path as NSString).lastPathComponent } == ["2026-11-20.tar.zst", "2026-11-21.tar.zst"])
            #expect(written.map(\.videos) == [2, 1])
            #expect(
                Set(try memberNames(out + "/2026-11-20.tar.zst").filter { $0.hasSuffix(".mp4") })
                    == Set(["\(ids[0]).mp4", "\(ids[1]).mp4"]))
            let v = try await runCLI(["verify", out + "/2026-11-20.tar.zst", out + "/2026-11-21.tar.zst"])
            #expect(v.status == 0, "\(v.stderr)")
            // Archived and verified: the originals went; today's stays.
            for id in ids.prefix(3) { #expect(!FileManager.default.fileExists(atPath: "\(dir)/\(id).mp4")) }
            #expect(FileManager.default.fileExists(atPath: "\(dir)/\(ids[3]).mp4"))
            // Once only.
            #expect(try rotation.run(now: now).isEmpty)
            #expect(
                try rotation.run(now: now.addingTimeInterval(86_400)).map { ($0.path as NSString).lastPathComponent } == [
                    "2026-11-22.tar.zst"
                ])
            let hourly = ArchiveRotation(folder: dir, archiveDirectory: out, period: 3600, removeAfterArchive: false)
            #expect(hourly.name(now) == "2026-11-22T09-30")
            #expect(hourly.name(hourly.periodStart(now)) == "2026-11-22T09-00")
        }
    }
}
