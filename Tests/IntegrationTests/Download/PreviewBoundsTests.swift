import Foundation
import LumenfallCurl
import LumenfallSandbox
import Testing

@testable import LumenfallCore

/// Previews are extras: what a server says of one is bounded, and one that cannot be had is a
/// note, never the loss of the video's sidecar (issue 17, findings 6 and 7).
@Suite(.removesTempDirs) struct PreviewBoundsTests {
    @Test func aPreviewClaimingGigabytesIsRefusedAtItsHead() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(spec(bytes: 50_000) { $0.faults.previewClaimedLength = 5 << 30 })
            let events = EventLog()
            let report = await fetch(server, [id], dir: dir, events: events) { $0.previews = ["thumbnail"] }
            #expect(report.allSucceeded)
            try expectSaved(server, id, dir: dir)
            let noted = events.all.contains {
                if case .assetUnavailable(_, "thumbnail", let why) = $0 { return why.contains("5368709120 bytes") }
                return false
            }
            #expect(noted)
            #expect((AtomicFile.size(of: "\(dir)/\(id).thumbnail.webp.part") ?? 0) == 0, "nothing of the claimed size is written")
        }
    }

    @Test func aPreviewRedirectedToAFileIsANoteAndTheVideoIsSaved() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(spec(bytes: 50_000) { $0.faults.previewRedirectTo = "file:///etc/passwd" })
            let report = await fetch(server, [id], dir: dir) { $0.previews = ["thumbnail"] }
            #expect(report.allSucceeded)
            try expectSaved(server, id, dir: dir)
            let entry = try #require((try sidecar(dir, id)["assets"] as? [String: [String: Any]])?["thumbnail"])
            #expect((entry["unavailable"] as? String)?.contains("could not be fetched") == true, "\(entry)")
            // A rerun settles at once: the id is saved, the note stands.
            let again = await fetch(server, [id], dir: dir) { $0.previews = ["thumbnail"] }
            #expect(again.allSucceeded)
        }
    }
}
