import Foundation
import LumenfallCore
import LumenfallCurl
import LumenfallSandbox
import Testing

/// `fetch -o s3://bucket/prefix/` against moto (SigV4 enforced) and the sandbox (issue 12).
@Suite(.removesTempDirs, .serialized) struct S3FetchTests {
    func object(_ moto: MotoServer, _ key: String) async throws -> [UInt8]? {
        let sink = S3ClientTests.Collect()
        let status = try await moto.client(prefix: "").get(key, into: sink)
        return status == 200 ? sink.bytes : nil
    }

    func run(_ moto: MotoServer, _ server: SandboxServer, _ args: [String], env: [String: String] = [:]) async throws -> CLIRun {
        try await server.runCLI(
            args + ["--poll-interval", "0.05"],
            env: moto.env.merging(["LUMENFALL_API_KEY": server.apiKey, "XDG_CACHE_HOME": makeTempDir()].merging(env) { $1 }) { $1 })
    }

    /// `-o s3://... --archive s3://...` (issue 18): each id goes up and is proved, the batch's
    /// archive streams from the work folder into a multipart upload, then the work folder is
    /// emptied; the archive verifies and holds every id.
    @Test func idsAndTheirArchiveBothGoToTheBucket() async throws {
        try await withMoto { moto in
            try await withSandbox { server in
                let ids = (0..<3).map { _ in server.createJob(spec(bytes: 300_000)) }
                let work = makeTempDir()
                let archive = "s3://\(moto.bucket)/both-archives/batch.tar"
                let r = try await run(moto, server, ids + ["-o", "s3://\(moto.bucket)/both/", "--work-dir", work, "--archive", archive])
                #expect(r.status == 0, "\(r.stderr)")
                #expect(r.stderr.contains("archived 3 videos"), "\(r.stderr)")
                for id in ids {
                    let video = try #require(try await object(moto, "both/\(id).mp4"))
                    #expect(sha256Hex(video) == server.content(for: id)!.sha256Hex())
                }
                let v = try await runCLI(["verify", archive], env: moto.env)
                #expect(v.status == 0, "\(v.stdout)\(v.stderr)")
                #expect(v.stdout.contains("OK (8 members"), "\(v.stdout)")  // 3 videos, 3 sidecars, manifest, sums
                let left = try FileManager.default.contentsOfDirectory(atPath: work).filter {
                    $0.hasSuffix(".mp4") || $0.hasSuffix(".json")
                }
                #expect(left.isEmpty, "the work folder keeps \(left)")
            }
        }
    }

    /// The same run killed with -9 in the middle of a download (issue 18): the rerun on the work
    /// folder is the same worker, holds its claims at once, resumes the `.part` where it stopped,
    /// and the bucket then holds every id and one archive of them that verifies; the archive
    /// never lay whole in the work folder.
    @Test func aKilledRunWithAnS3ArchiveResumesOnTheNextOne() async throws {
        try await withMoto { moto in
            try await withSandbox { server in
                let big = server.createJob(spec(bytes: 6 << 20) { $0.faults.throttleBytesPerSecond = 1 << 20 })
                let ids = [big] + (0..<2).map { _ in server.createJob(spec(bytes: 300_000)) }
                let work = makeTempDir()
                let target = "s3://\(moto.bucket)/killed/"
                let archive = "s3://\(moto.bucket)/killed-archives/batch.tar.zst"
                let args = ids + ["-o", target, "--work-dir", work, "--archive", archive, "--poll-interval", "0.05", "-q"]
                let env = moto.env.merging(["LUMENFALL_API_KEY": server.apiKey]) { $1 }
                let first = try server.launchCLI(args, env: env)
                let part = "\(work)/\(big).mp4.part"
                let deadline = Date().addingTimeInterval(60)
                while (AtomicFile.size(of: part) ?? 0) < 1 << 20, Date() < deadline, first.process.isRunning {
                    try await Task.sleep(nanoseconds: 50_000_000)
                }
                kill(first.process.processIdentifier, SIGKILL)
                _ = await first.result()
                let kept = try #require(AtomicFile.size(of: part))
                #expect(kept >= 1 << 20, "killed in the middle of the big download")

                let again = try await server.runCLI(args, env: env)
                #expect(again.status == 0, "\(again.stderr)")
                let ranges = mediaRequests(server, big).map { $0.range ?? "bytes=0-" }
                #expect(ranges.filter { $0.hasPrefix("bytes=0-") }.count == 1, "downloaded from the start twice: \(ranges)")
                for id in ids {
                    #expect(try await object(moto, "killed/\(id).mp4").map(sha256Hex) == server.content(for: id)!.sha256Hex())
                }
                let v = try await runCLI(["verify", archive], env: moto.env)
                #expect(v.status == 0, "\(v.stdout)\(v.stderr)")
                #expect(v.stdout.contains("OK (8 members"), "\(v.stdout)")
                let left = try FileManager.default.contentsOfDirectory(atPath: work).filter { !$0.hasPrefix(".") }
                #expect(left.isEmpty, "the work folder keeps \(left)")
            }
        }
    }

    @Test func videosPreviewsAndSidecarsGoUpVerifiedAndARerunSendsNothing() async throws {
        try await withMoto { moto in
            try await withSandbox { server in
                let ids = (0..<3).map { _ in server.createJob(spec(bytes: 1_500_000)) }
                let work = makeTempDir()
                let target = "s3://\(moto.bucket)/archive/2026/"
                let r = try await run(moto, server, ids + ["-o", target, "--work-dir", work, "--with", "thumbnail"])
                #expect(r.status == 0, "\(r.stderr)")
                #expect(r.stdout.split(separator: "\n").sorted() == ids.map { "\(target)\($0).mp4" }.sorted())
                for id in ids {
                    let video = try #require(try await object(moto, "archive/2026/\(id).mp4"))
                    #expect(sha256Hex(video) == server.content(for: id)!.sha256Hex(), "read back, the object is the video")
                    #expect(try await object(moto, "archive/2026/\(id).thumbnail.webp") == server.preview(for: id, variant: "thumbnail"))
                    let sidecar = try #require(try await object(moto, "archive/2026/\(id).json"))
                    let doc = try #require(try JSONSerialization.jsonObject(with: Data(sidecar)) as? [String: Any])
                    let storage = try #require(doc["storage"] as? [String: [String: Any]])
                    let entry = try #require(storage["\(id).mp4"])
                    #expect(entry["url"] as? String == "\(target)\(id).mp4")
                    #expect(entry["sha256"] as? String == sha256Hex(video))
                    #expect((entry["etag"] as? String)?.isEmpty == false)
                    #expect(storage["\(id).thumbnail.webp"] != nil)
                }
                let left = try FileManager.default.contentsOfDirectory(atPath: work).filter { !$0.hasPrefix(".") }
                #expect(left.isEmpty, "the work folder keeps nothing once uploaded: \(left)")

                // A rerun asks S3, downloads nothing and sends nothing.
                let media = server.requests().filter { $0.path.hasPrefix("/media/") }.count
                let etags = try await ids.asyncMap { try await moto.client(prefix: "archive/2026/").head("\($0).mp4")?.etag }
                let again = try await run(moto, server, ids + ["-o", target, "--work-dir", work, "--with", "thumbnail"])
                #expect(again.status == 0)
                #expect(again.stderr.contains("0 saved, 3 already saved"))
                #expect(server.requests().filter { $0.path.hasPrefix("/media/") }.count == media)
                #expect(try await ids.asyncMap { try await moto.client(prefix: "archive/2026/").head("\($0).mp4")?.etag } == etags)
            }
        }
    }

    @Test func filesSavedButNotUploadedGoUpOnTheNextRunWithoutADownload() async throws {
        try await withMoto { moto in
            try await withSandbox { server in
                let work = makeTempDir()
                let id = server.createJob(spec(bytes: 800_000))
                // As if a run saved it and died before the upload: a whole local save.
                #expect(await fetch(server, [id], dir: work).allSucceeded)
                let media = mediaRequests(server, id).count
                let r = try await run(moto, server, [id, "-o", "s3://\(moto.bucket)/v/", "--work-dir", work])
                #expect(r.status == 0, "\(r.stderr)")
                #expect(mediaRequests(server, id).count == media, "not downloaded again")
                #expect(try await object(moto, "v/\(id).mp4").map(sha256Hex) == server.content(for: id)!.sha256Hex())
                #expect(!FileManager.default.fileExists(atPath: "\(work)/\(id).mp4"))
            }
        }
    }

    /// A run killed after an id's objects went up and before its claim went: the next run on
    /// the work folder finds the files whole there, proves the objects, and drops the claim,
    /// which names it (issue 18). Without that the claim stayed until its TTL.
    @Test func aClaimLeftByAKilledRunOfThisWorkFolderIsReleasedByTheNext() async throws {
        try await withMoto { moto in
            try await withSandbox { server in
                let work = makeTempDir()
                let id = server.createJob(spec(bytes: 300_000))
                #expect(await fetch(server, [id], dir: work).allSucceeded)
                let me = try WorkerIdentity.load(directory: work)
                let client = try moto.client(prefix: "")
                #expect(try await client.putIfAbsent("left/.claims/\(id)", Array(#"{"worker":"\#(me)","claimed_at":1}"#.utf8)))
                let r = try await run(moto, server, [id, "-o", "s3://\(moto.bucket)/left/", "--work-dir", work])
                #expect(r.status == 0, "\(r.stderr)")
                #expect(try await object(moto, "left/\(id).mp4").map(sha256Hex) == server.content(for: id)!.sha256Hex())
                #expect(try await object(moto, "left/.claims/\(id)") == nil, "the claim is still there")
            }
        }
    }

    @Test func shardsSplitABacklogWithoutOverlap() async throws {
        try await withMoto { moto in
            try await withSandbox { server in
                let ids = (0..<8).map { _ in server.createJob(spec(bytes: 100_000)) }
                var seen: [String] = []
                for k in 1...2 {
                    let r = try await run(moto, server, ids + ["-o", "s3://\(moto.bucket)/s/", "--shard", "\(k)/2"])
                    #expect(r.status == 0, "\(r.stderr)")
                    let mine = r.stdout.split(separator: "\n").map { String($0.split(separator: "/").last!.dropLast(4)) }
                    #expect(mine.allSatisfy { ShardIDSource.shard(of: $0, count: 2) == k })
                    seen += mine
                }
                #expect(seen.sorted() == ids.sorted(), "each id in exactly one shard")
                #expect(!ids.allSatisfy { ShardIDSource.shard(of: $0, count: 2) == 1 }, "8 ids do not all hash to one shard")
                let bad = try await runCLI(["video_a", "--shard", "3/2"])
                #expect(bad.status == 64)
            }
        }
    }

    @Test func twoWorkersWithOverlappingListsFetchEachIdOnce() async throws {
        try await withMoto { moto in
            try await withSandbox { server in
                let ids = (0..<6).map { _ in server.createJob(spec(bytes: 1_000_000) { $0.faults.throttleBytesPerSecond = 3_000_000 }) }
                let env = moto.env.merging(["LUMENFALL_API_KEY": server.apiKey]) { $1 }
                let target = "s3://\(moto.bucket)/shared/"
                // Worker A has ids 0-4, worker B ids 1-5, in another order: 4 overlap.
                let a = try server.launchCLI(
                    // --json: the claimed_elsewhere events go to the schema check.
                    Array(ids[0...4]) + [
                        "-o", target, "--work-dir", makeTempDir(), "--poll-interval", "0.05", "--jobs", "2", "--json",
                    ], env: env)
                let b = try server.launchCLI(
                    Array(ids[1...5].reversed()) + [
                        "-o", target, "--work-dir", makeTempDir(), "--poll-interval", "0.05", "--jobs", "2", "--json",
                    ],
                    env: env)
                let (ra, rb) = (await a.result(), await b.result())
                #expect(ra.status == 0, "\(ra.stderr)")
                #expect(rb.status == 0, "\(rb.stderr)")
                for id in ids {
                    #expect(
                        try await object(moto, "shared/\(id).mp4").map(sha256Hex) == server.content(for: id)!.sha256Hex(), "\(id) stored")
                    let full = mediaRequests(server, id).filter { $0.range == nil }.count
                    #expect(full == 1, "\(id) downloaded \(full) times")
                }
                let claimedOrHad =
                    (ra.stderr + rb.stderr).components(separatedBy: "claimed by").count - 1
                    + (ra.stderr + rb.stderr).components(separatedBy: "already saved as").count - 1
                #expect(claimedOrHad >= 4, "each of the 4 shared ids was left to the other worker or found stored")
                // The claims go once the ids are stored.
                // (S3Client's keys are whole keys: the prefix is the destination's business.)
                for id in ids { #expect(try await moto.client(prefix: "").head("shared/.claims/\(id)") == nil) }
            }
        }
    }

    @Test func aStaleClaimIsTakenOverAndAFreshOneRespected() async throws {
        try await withMoto { moto in
            try await withSandbox { server in
                let stale = server.createJob(spec(bytes: 100_000))
                let fresh = server.createJob(spec(bytes: 100_000))
                let s3 = try moto.client(prefix: "")
                let old = Int(Date().timeIntervalSince1970) - 7200
                #expect(try await s3.putIfAbsent("c/.claims/\(stale)", Array(#"{"worker":"dead-host:1","claimed_at":\#(old)}"#.utf8)))
                #expect(
                    try await s3.putIfAbsent("c/.claims/\(fresh)", Array(#"{"worker":"busy-host:2","claimed_at":\#(old + 7000)}"#.utf8)))
                let r = try await run(moto, server, [stale, fresh, "-o", "s3://\(moto.bucket)/c/", "--claim-ttl", "1h"])
                #expect(r.status == 0, "\(r.stderr)")
                #expect(r.stdout == "s3://\(moto.bucket)/c/\(stale).mp4\n")
                #expect(r.stderr.contains("\(fresh): claimed by busy-host:2; left to that worker"))
                #expect(r.stderr.contains("1 claimed by other workers"))
                #expect(try await object(moto, "c/\(fresh).mp4") == nil)
                #expect(try await s3.head("c/.claims/\(fresh)") != nil, "another worker's claim is never removed")
                #expect(try await s3.head("c/.claims/\(stale)") == nil, "ours, taken over, goes once stored")
            }
        }
    }

    @Test func anIdThatFailsHereLeavesNoClaimBehind() async throws {
        try await withMoto { moto in
            try await withSandbox { server in
                let failed = server.createJob(spec { $0.outcome = "failed" })
                let expired = server.createJob(spec(bytes: 100_000) { $0.urlTTL = -1 })
                let r = try await run(moto, server, [failed, expired, "-o", "s3://\(moto.bucket)/f/"])
                #expect(r.status == 1)
                for id in [failed, expired] {
                    #expect(try await moto.client(prefix: "").head("f/.claims/\(id)") == nil, "another worker may try \(id)")
                }
            }
        }
    }

    @Test func wrongCredentialsAndAMissingBucketStopBeforeAnyWork() async throws {
        try await withMoto { moto in
            try await withSandbox { server in
                let id = server.createJob(spec(bytes: 100_000))
                let wrong = try await run(moto, server, [id, "-o", "s3://\(moto.bucket)/x/"], env: ["AWS_SECRET_ACCESS_KEY": "nope-nope"])
                #expect(wrong.status == 2)
                #expect(wrong.stderr.contains("S3 refused the credentials") && !wrong.stderr.contains("nope-nope"))
                let missing = try await run(moto, server, [id, "-o", "s3://no-such-bucket/x/"])
                #expect(missing.status == 2)
                #expect(missing.stderr.contains("the bucket no-such-bucket does not exist"))
                let noKeys = try await server.runCLI(
                    [id, "-o", "s3://\(moto.bucket)/x/"], env: ["LUMENFALL_API_KEY": server.apiKey])
                #expect(noKeys.status == 2)
                #expect(noKeys.stderr.contains("AWS_ACCESS_KEY_ID"))
                #expect(apiRequests(server, id).isEmpty, "nothing was asked of the API")
                let usage = try await runCLI([id, "-o", "s3://\(moto.bucket)/x/", "--gallery"])
                #expect(usage.status == 64)
            }
        }
    }
}

extension Array {
    func asyncMap<T>(_ f: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for e in self { out.append(try await f(e)) }
        return out
    }
}
