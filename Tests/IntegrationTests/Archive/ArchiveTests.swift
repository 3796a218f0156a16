import Foundation
import LumenfallArchive
import LumenfallCore
import LumenfallSandbox
import Testing

@Suite(.removesTempDirs) struct ArchiveTests {
    @Test(arguments: ["batch.tar", "batch.tar.gz", "batch.tgz", "batch.tar.zst", "batch.tzst", "batch.tar.xz"])
    func anArchiveReadsBackWithOurReaderBsdtarAndSha256sum(name: String) async throws {
        try await withSandbox { server in
            let (dir, ids) = try await savedFolder(server, count: 3)
            let path = makeTempDir() + "/" + name
            let items = try ArchiveItem.scan(directory: dir).items
            let result = try Archiver(directory: dir, path: path).write(items)
            #expect(result.parts == [path])
            #expect(ArchiveVerifier.verify(path: path).ok)

            var expected = [Manifest.memberName, Manifest.sumsName]
            expected += ids.flatMap { ["\($0).json", "\($0).mp4"] }.sorted()
            #expect(try memberNames(path) == expected)

            let out = makeTempDir()
            let (x, xout) = try run("bsdtar", ["-xf", path, "-C", out])
            #expect(x == 0, "\(xout)")
            let (c, cout) = try run("sha256sum", ["-c", Manifest.sumsName], in: out)
            #expect(c == 0, "\(cout)")
            #expect(cout.components(separatedBy: ": OK").count - 1 == 6)
            for id in ids {
                #expect(fileBytes("\(out)/\(id).mp4") == fileBytes("\(dir)/\(id).mp4"))
            }
            // Fixed metadata: owner 0/0, no names, mode 0644.
            let (_, listing) = try run("bsdtar", ["-tvf", path])
            for line in listing.split(separator: "\n") {
                #expect(line.hasPrefix("-rw-r--r--  0 0      0 "), "\(line)")
            }
        }
    }

    @Test func theManifestCarriesTheBatchFacts() async throws {
        try await withSandbox { server in
            let (dir, ids) = try await savedFolder(server, count: 3)
            let path = makeTempDir() + "/m.tar"
            let items = try ArchiveItem.scan(directory: dir).items
            try Archiver(directory: dir, path: path).write(items)
            let out = makeTempDir()
            try run("bsdtar", ["-xf", path, "-C", out])
            let m = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/manifest.json"))) as? [String: Any])
            #expect(m["count"] as? Int == 3)
            #expect((m["total_bytes"] as? NSNumber)?.int64Value == items.reduce(0) { $0 + $1.videoBytes })
            #expect((m["total_cost"] as? [String: Any])?["USD"] as? Double == 0.75)
            #expect(m["created_at"] as? String == utcString(Date(timeIntervalSince1970: TimeInterval(items.map(\.completedAt).max()!))))
            #expect(m["batch"] == nil)
            let videos = try #require(m["videos"] as? [[String: Any]])
            #expect(videos.map { $0["id"] as? String } == ids)
            #expect(videos.allSatisfy { $0["model"] as? String == "sora-2" && $0["cost"] as? Double == 0.25 })
        }
    }

    @Test(arguments: ["r.tar", "r.tar.gz", "r.tar.zst", "r.tar.xz"])
    func twoRunsGiveIdenticalBytes(name: String) async throws {
        try await withSandbox { server in
            let (dir, _) = try await savedFolder(server, count: 2, bytes: 50_000)
            let items = try ArchiveItem.scan(directory: dir).items
            let a = makeTempDir() + "/" + name
            let b = makeTempDir() + "/" + name
            try Archiver(directory: dir, path: a).write(items)
            try await Task.sleep(nanoseconds: 1_100_000_000)  // a wall-clock stamp would now differ
            try Archiver(directory: dir, path: b).write(items)
            let x = try #require(fileBytes(a))
            #expect(x == fileBytes(b))
            if name.hasSuffix(".gz") { #expect(x[4..<8] == [0, 0, 0, 0], "the gzip header must carry no time") }
        }
    }

    @Test func aBatchSplitsBySizeIntoNumberedParts() async throws {
        try await withSandbox { server in
            let (dir, ids) = try await savedFolder(server, count: 5, bytes: 300_000)
            let base = makeTempDir()
            let items = try ArchiveItem.scan(directory: dir).items
            let result = try Archiver(directory: dir, path: base + "/set.tar.zst", maxSize: 700_000).write(items)
            #expect(result.parts == (1...3).map { String(format: "%@/set-%04d.tar.zst", base, $0) })
            var seen: [String] = []
            for part in result.parts {
                #expect(ArchiveVerifier.verify(path: part).ok)
                seen += try memberNames(part).filter { $0.hasSuffix(".mp4") }
            }
            #expect(seen == ids.map { "\($0).mp4" })
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: base).sorted() == [
                    "set-0001.tar.zst", "set-0002.tar.zst", "set-0003.tar.zst",
                ])
        }
    }

    @Test func aFlippedByteMakesVerifyFailAndNameTheMember() async throws {
        try await withSandbox { server in
            let (dir, ids) = try await savedFolder(server, count: 2, bytes: 100_000)
            let path = makeTempDir() + "/f.tar"
            try Archiver(directory: dir, path: path).write(try ArchiveItem.scan(directory: dir).items)
            var bytes = try #require(fileBytes(path))
            let victim = try #require(fileBytes("\(dir)/\(ids[1]).mp4"))
            let needle = Array(victim[50_000..<50_064])
            let at = try #require((0..<(bytes.count - 64)).first { bytes[$0] == needle[0] && Array(bytes[$0..<($0 + 64)]) == needle })
            bytes[at + 10] ^= 0x01
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let report = ArchiveVerifier.verify(path: path)
            #expect(report.problems.map(\.member) == ["\(ids[1]).mp4"])
            #expect(report.problems.first?.kind == .corrupt)

            let cli = try await runCLI(["verify", path])
            #expect(cli.status == 1)
            #expect(cli.stdout.contains("corrupt: \(ids[1]).mp4"))
        }
    }

    @Test func missingAndExtraMembersAreNamed() async throws {
        try await withSandbox { server in
            let (dir, ids) = try await savedFolder(server, count: 2, bytes: 40_000)
            let path = makeTempDir() + "/e.tar"
            try Archiver(directory: dir, path: path).write(try ArchiveItem.scan(directory: dir).items)
            let out = makeTempDir()
            try run("bsdtar", ["-xf", path, "-C", out])
            try "extra".write(toFile: "\(out)/stowaway.txt", atomically: true, encoding: .utf8)
            let edited = makeTempDir() + "/edited.tar"
            let (rc, msg) = try run(
                "bsdtar", ["-cf", edited, "manifest.json", "SHA256SUMS", "\(ids[0]).json", "\(ids[0]).mp4", "stowaway.txt"], in: out)
            #expect(rc == 0, "\(msg)")
            let report = ArchiveVerifier.verify(path: edited)
            let named = Set(report.problems.map { "\($0.kind.rawValue) \($0.member)" })
            #expect(named == ["extra stowaway.txt", "missing \(ids[1]).json", "missing \(ids[1]).mp4"])
        }
    }

    @Test func unsafeMembersAreReportedNeverFollowed() throws {
        let src = makeTempDir()
        try "x".write(toFile: "\(src)/x", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: "\(src)/link", withDestinationPath: "/etc/passwd")
        let path = makeTempDir() + "/evil.tar"
        // -P keeps '..' and '/' as given; -s renames members on the way in.
        let (rc, msg) = try run("bsdtar", ["-cf", path, "-P", "-s", "|^x$|../x|", "-s", "|^y$|/etc/x|", "x", "link"], in: src)
        #expect(rc == 0, "\(msg)")
        try FileManager.default.copyItem(atPath: "\(src)/x", toPath: "\(src)/y")
        let abs = makeTempDir() + "/abs.tar"
        _ = try run("bsdtar", ["-cf", abs, "-P", "-s", "|^y$|/etc/x|", "y"], in: src)
        let r1 = ArchiveVerifier.verify(path: path)
        let r2 = ArchiveVerifier.verify(path: abs)
        let unsafe = (r1.problems + r2.problems).filter { $0.kind == .unsafe }.map(\.member).sorted()
        #expect(unsafe == ["../x", "/etc/x", "link"])
        #expect(!r1.ok && !r2.ok)
        #expect(!FileManager.default.fileExists(atPath: (makeTempDir() as NSString).deletingLastPathComponent + "/x"))
    }

    @Test func aFailedArchiveLeavesNothingBehind() async throws {
        try await withSandbox { server in
            let (dir, ids) = try await savedFolder(server, count: 3, bytes: 60_000)
            let items = try ArchiveItem.scan(directory: dir).items
            // The last video changes after it was saved: same size, other bytes.
            var bytes = try #require(fileBytes("\(dir)/\(ids[2]).mp4"))
            bytes[100] ^= 0xFF
            try Data(bytes).write(to: URL(fileURLWithPath: "\(dir)/\(ids[2]).mp4"))
            let out = makeTempDir()
            #expect(throws: Archiver.Failure.self) {
                try Archiver(directory: dir, path: out + "/b.tar.zst", maxSize: 100_000, verify: true).write(items)
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: out).isEmpty)
            #expect(throws: (any Error).self) {
                try Archiver(directory: dir, path: out + "/no/such/folder/b.tar").write(items)
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: out).isEmpty)
        }
    }

    @Test func removeAfterArchiveDeletesOnlyWhatWasArchivedAndVerified() async throws {
        try await withSandbox { server in
            let (dir, ids) = try await savedFolder(server, count: 2, bytes: 30_000)
            try "keep me".write(toFile: "\(dir)/notes.txt", atomically: true, encoding: .utf8)
            let path = makeTempDir() + "/rm.tar.gz"
            let ok = try await runCLI(["archive", dir, "-o", path, "--remove-after-archive"])
            #expect(ok.status == 0, "\(ok.stderr)")
            #expect(ok.stdout == path + "\n")
            let left = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
            #expect(left == ["notes.txt"])  // the lock file goes with the run
            #expect(ArchiveVerifier.verify(path: path).ok)
            #expect(try memberNames(path).count == 2 + 2 * ids.count)

            // A failing archive removes nothing.
            let (dir2, ids2) = try await savedFolder(server, count: 1, bytes: 30_000)
            var b = try #require(fileBytes("\(dir2)/\(ids2[0]).mp4"))
            b[0] ^= 1
            try Data(b).write(to: URL(fileURLWithPath: "\(dir2)/\(ids2[0]).mp4"))
            let bad = try await runCLI(["archive", dir2, "-o", makeTempDir() + "/x.tar", "--remove-after-archive"])
            #expect(bad.status == 1)
            #expect(bad.stderr.contains("does not match its sidecar"))
            #expect(FileManager.default.fileExists(atPath: "\(dir2)/\(ids2[0]).mp4"))
        }
    }

    @Test func fetchWithArchiveBundlesTheSavedIdsAndRecordsTheBatch() async throws {
        try await withSandbox { server in
            let good = (0..<2).map { _ in server.createJob(spec(bytes: 40_000)) }
            let bad = server.createJob(spec { $0.outcome = "failed" })
            let dir = makeTempDir()
            let path = dir + "/batch.tar.xz"
            let r = try await server.runCLI(
                good + [
                    bad, "-o", dir + "/out", "--poll-interval", "0.05",
                    "--archive", path,
                ], env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(r.status == 1)
            #expect(r.stderr.contains("done: 2 saved, 0 already saved, 1 failed, 0 expired"))
            #expect(r.stderr.contains("cost USD 0.42"))
            #expect(r.stdout.hasSuffix(path + "\n"))
            #expect(ArchiveVerifier.verify(path: path).ok)
            let out = makeTempDir()
            try run("bsdtar", ["-xf", path, "-C", out, "manifest.json"])
            let m = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/manifest.json"))) as? [String: Any])
            let batch = try #require(m["batch"] as? [String: Any])
            #expect(batch["saved"] as? Int == 2)
            #expect(batch["failed"] as? Int == 1)
            #expect(m["count"] as? Int == 2)
        }
    }
}
