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
}
