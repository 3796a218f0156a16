import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

/// `archive` and `verify` speak as `fetch` does (issue 19): `-q`, `--json`, and progress.
@Suite(.removesTempDirs) struct ArchiveOutputTests {
    @Test func archiveAndVerifyTakeQuietJSONAndPlainProgress() async throws {
        try await withSandbox { server in
            let (dir, ids) = try await savedFolder(server, count: 3, bytes: 400_000)
            let path = makeTempDir() + "/all.tar"
            let plain = try await runCLI(["archive", dir, "-o", path, "--progress", "plain"])
            #expect(plain.status == 0, "\(plain.stderr)")
            #expect(plain.stderr.contains("archiving into \(path):") && plain.stderr.contains("(100%)"), "\(plain.stderr)")
            #expect(plain.stdout == path + "\n")

            let json = try await runCLI(["archive", dir, "-o", makeTempDir() + "/j.tar", "--json", "-q"])
            #expect(json.status == 0)
            #expect(json.stderr.isEmpty, "-q: \(json.stderr)")
            let event = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            #expect(event["event"] as? String == "archived" && event["members"] as? Int == ids.count)

            let verified = try await runCLI(["verify", path, "--json"])
            #expect(verified.status == 0)
            let v = try #require(try JSONSerialization.jsonObject(with: Data(verified.stdout.utf8)) as? [String: Any])
            #expect(v["event"] as? String == "verified" && v["ok"] as? Bool == true && (v["problems"] as? [Any])?.isEmpty == true)
            let quiet = try await runCLI(["verify", path, "-q"])
            #expect(quiet.status == 0 && quiet.stdout.isEmpty, "-q prints only failures: \(quiet.stdout)")
            let missing = try await runCLI(["verify", path + ".nope", "--json"])
            #expect(missing.status == 1)
            let m = try #require(try JSONSerialization.jsonObject(with: Data(missing.stdout.utf8)) as? [String: Any])
            #expect(m["ok"] as? Bool == false)
            #expect(((m["problems"] as? [[String: Any]])?.first?["member"]) is NSNull)
        }
    }

    /// `--level` reaches the compressor (a different level, different bytes; both verify) and is
    /// bad usage for a plain .tar or out of range.
    @Test func levelReachesTheCompressor() async throws {
        try await withSandbox { server in
            let (dir, _) = try await savedFolder(server, count: 2, bytes: 200_000)
            let out = makeTempDir()
            #expect(try await runCLI(["archive", dir, "-o", out + "/a.tar.gz", "--level", "1", "-q"]).status == 0)
            #expect(try await runCLI(["archive", dir, "-o", out + "/b.tar.gz", "--level", "9", "-q"]).status == 0)
            #expect(fileBytes(out + "/a.tar.gz") != fileBytes(out + "/b.tar.gz"))
            #expect(try await runCLI(["verify", out + "/a.tar.gz", out + "/b.tar.gz", "-q"]).status == 0)
            let plain = try await runCLI(["archive", dir, "-o", out + "/c.tar", "--level", "3"])
            #expect(plain.status == 64 && plain.stderr.contains("--level goes with a compressed archive"))
            let range = try await runCLI(["archive", dir, "-o", out + "/d.tar.zst", "--level", "30"])
            #expect(range.status == 64 && range.stderr.contains("1 to 22"))
        }
    }
}
