import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

@Suite(.removesTempDirs) struct ArchiveMemberTimeTests {
    /// A server that leaves `completed_at` null: the member's time is `created_at`, not 1970.
    @Test func aNullCompletedAtFallsBackToCreatedAt() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let raw = hostileObject().replacingOccurrences(of: "\"completed_at\":1780000100", with: "\"completed_at\":null")
            let id = server.createJob(
                spec(bytes: 10_000) {
                    $0.queuedPolls = 0
                    $0.faults.rawObject = raw
                })
            let report = await fetch(server, [id], dir: dir)
            #expect(report.allSucceeded)
            let item = try ArchiveItem.load(directory: dir, id: id)
            #expect(item.completedAt == 1_780_000_000)
            let path = makeTempDir() + "/t.tar"
            try Archiver(directory: dir, path: path).write([item])
            let (_, listing) = try run("bsdtar", ["-tvf", path])
            // Epoch 0 shows as 1970 (or 1969 west of Greenwich); bsdtar prints local time.
            #expect(!listing.contains("1970") && !listing.contains("1969"), "\(listing)")
        }
    }
}
