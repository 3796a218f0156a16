import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

/// `--name` (issue 19): files named from the video object, found again by their id on a rerun,
/// archived, verified, browsed and resumed as any other.
@Suite(.removesTempDirs) struct NameTemplateCLITests {
    @Test func namedFilesAreSkippedArchivedAndResumedByTheirId() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let key = ["LUMENFALL_API_KEY": server.apiKey]
            let a = server.createJob(
                spec(bytes: 50_000) {
                    $0.queuedPolls = 0
                    $0.prompt = "A fox / in snow"
                })
            let b = server.createJob(
                spec(bytes: 600_000) {
                    $0.queuedPolls = 0
                    $0.prompt = "A fox / in snow"
                    $0.faults.dropAfterBytes = 200_000
                })
            let template = "{model}_{prompt:9}"
            // b drops and is given up on: its named .part stays.
            let first = try await server.runCLI([a, b, "-o", dir, "--name", template, "--retries", "0"], env: key)
            #expect(first.status == 1)
            // Both want the same name; whichever came second has its id after it.
            let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            let stems = ["sora-2_A fox - i", "sora-2_A fox - i_\(a)", "sora-2_A fox - i_\(b)"]
            #expect(files.filter { $0.hasSuffix(".mp4") }.count == 1 && files.filter { $0.hasSuffix(".mp4.part") }.count == 1, "\(files)")
            #expect(files.allSatisfy { f in f.hasPrefix(".") || stems.contains { f.hasPrefix($0 + ".") } }, "\(files)")
            #expect(files.filter { $0.hasSuffix(".json") }.count == 1)
            // A rerun, even without --name: a is found by its id (no request), b resumes its part.
            let before = server.requests().count
            let second = try await server.runCLI(["--partials", a, "-o", dir, "--progress", "plain"], env: key)
            #expect(second.status == 0, "\(second.stderr)")
            #expect(second.stderr.contains("\(a): already saved"))
            #expect(second.stderr.contains("\(b): resuming from"))
            #expect(!server.requests().dropFirst(before).contains { $0.path.hasSuffix("/\(a)") }, "no request for a saved id")
            let after = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            #expect(after.filter { $0.hasSuffix(".mp4") }.count == 2 && !after.contains { $0.hasSuffix(".part") }, "\(after)")
            // archive and verify take them; the manifest names the real ids.
            let tar = makeTempDir() + "/named.tar"
            let archived = try await runCLI(["archive", dir, "-o", tar])
            #expect(archived.status == 0, "\(archived.stderr)")
            #expect(try await runCLI(["verify", tar]).status == 0)
            let list = try await server.runCLI(["list", "-o", dir], env: key)
            #expect(list.stdout.split(separator: "\n").filter { $0.contains(" yes ") }.count == 2, "\(list.stdout)")
        }
    }

    @Test func aBadTemplateIsBadUsage() async throws {
        let r = try await runCLI(["video_1", "--name", "{title}"], env: ["LUMENFALL_API_KEY": "lmnfl_0123456789"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("unknown field {title}"))
    }
}
