import Foundation
import LumenfallCore
import Testing

/// Claims in the bucket (issue 18): who holds an id, a worker that comes back after a kill,
/// a stale claim taken over, renewal while a worker lives, and release never dropping a claim
/// that another worker took.
@Suite(.removesTempDirs, .serialized) struct S3ClaimTests {
    func holder(_ moto: MotoServer, _ key: String) async throws -> (worker: String, at: Int64)? {
        let sink = S3ClientTests.Collect()
        guard try await moto.client(prefix: "").get(key, into: sink) == 200 else { return nil }
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(sink.bytes)) as? [String: Any])
        return (obj["worker"] as? String ?? "", (obj["claimed_at"] as? NSNumber)?.int64Value ?? 0)
    }

    @Test func aWorkerThatComesBackHoldsItsOwnClaimAndAStaleOneIsTakenOver() async throws {
        try await withMoto { moto in
            let prefix = "claims-\(UInt32.random(in: 0...UInt32.max))/"
            let client = try moto.client(prefix: prefix)
            let a = S3Destination(client: client, claimTTL: 600, worker: "host-a/0123")
            let b = S3Destination(client: client, claimTTL: 600, worker: "host-b/4567")
            #expect(try await a.claim("video_1") == .ours)
            #expect(try await b.claim("video_1") == .heldBy("host-a/0123"))
            // A killed and started again on its work folder: the same name, its claim at once.
            let aAgain = S3Destination(client: client, claimTTL: 600, worker: "host-a/0123")
            #expect(try await aAgain.claim("video_1") == .ours)
            // A's claim not renewed for longer than the TTL: B takes it over.
            #expect(try await b.claim("video_1", now: Date().addingTimeInterval(700)) == .ours)
            #expect(try await holder(moto, "\(prefix).claims/video_1")?.worker == "host-b/4567")
            // A, cut off meanwhile, finishes and releases: B's claim stays.
            await aAgain.release("video_1")
            #expect(try await holder(moto, "\(prefix).claims/video_1")?.worker == "host-b/4567")
            await b.release("video_1")
            #expect(try await holder(moto, "\(prefix).claims/video_1") == nil)
        }
    }

    @Test func aLiveWorkerRenewsItsClaimsUntilItReleasesThem() async throws {
        try await withMoto { moto in
            let prefix = "renew-\(UInt32.random(in: 0...UInt32.max))/"
            // A TTL of 3 s renews every second (the command's floor is 60 s; the type has none).
            let a = S3Destination(client: try moto.client(prefix: prefix), claimTTL: 3, worker: "host-a/89ab")
            let key = "\(prefix).claims/video_r"
            #expect(try await a.claim("video_r") == .ours)
            let first = try #require(try await holder(moto, key)).at
            let deadline = Date().addingTimeInterval(30)
            var renewed = false
            while Date() < deadline, !renewed {
                renewed = (try await holder(moto, key)?.at ?? 0) > first
                if !renewed { try await Task.sleep(nanoseconds: 100_000_000) }
            }
            #expect(renewed, "the claim's time never moved forward")
            await a.release("video_r")
            #expect(try await holder(moto, key) == nil)
        }
    }

    @Test func theWorkerNameIsKeptInTheWorkFolderAndJunkThereIsReplaced() throws {
        let dir = makeTempDir()
        let first = try WorkerIdentity.load(directory: dir, host: "box\n\"1\"")
        #expect(first.hasPrefix("box1/"), "\(first)")
        #expect(try WorkerIdentity.load(directory: dir, host: "box1") == first)
        // Someone else's bytes there are not a name: a fresh token replaces them.
        try Data("../../etc/passwd\r\n".utf8).write(to: URL(fileURLWithPath: "\(dir)/\(WorkerIdentity.fileName)"))
        let replaced = try WorkerIdentity.load(directory: dir, host: "box1")
        #expect(replaced != first && replaced.hasPrefix("box1/") && replaced.count == "box1/".count + 32)
    }
}
