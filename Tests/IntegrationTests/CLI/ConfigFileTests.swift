import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

/// Defaults from `$XDG_CONFIG_HOME/lumenfall-fetch/config.toml` or `--config`; the command line
/// wins; unknown keys and keys are refused naming the key and the file.
@Suite(.removesTempDirs) struct ConfigFileTests {
    func config(_ text: String) throws -> (home: String, file: String) {
        let home = makeTempDir()
        try FileManager.default.createDirectory(atPath: home + "/lumenfall-fetch", withIntermediateDirectories: true)
        let file = home + "/lumenfall-fetch/config.toml"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return (home, file)
    }

    @Test func defaultsComeFromTheFileAndTheCommandLineWins() async throws {
        try await withSandbox { server in
            let out = makeTempDir()
            let (home, _) = try config(
                """
                # defaults for every run
                [fetch]
                output = "\(out)/from-config"
                base_url = "\(server.baseURL)"
                poll_interval = 0.05
                quiet = true
                """)
            let id = server.createJob(spec(bytes: 100_000))
            let env = ["LUMENFALL_API_KEY": server.apiKey, "XDG_CONFIG_HOME": home]
            let r = try await runCLI([id], env: env)
            #expect(r.status == 0, "\(r.stderr)")
            try expectSaved(server, id, dir: out + "/from-config")
            #expect(!r.stderr.contains("downloading from"), "quiet = true applies")
            let other = server.createJob(spec(bytes: 100_000))
            let r2 = try await runCLI([other, "-o", out + "/from-cli"], env: env)
            #expect(r2.status == 0)
            try expectSaved(server, other, dir: out + "/from-cli")
            // --no-config: the file's base_url is not used (none is given: the default host).
            let r3 = try await runCLI([other, "--no-config", "-o", out + "/none", "--retries", "0", "--connect-timeout", "0.5"], env: env)
            #expect(r3.status != 0)
        }
    }

    @Test(arguments: [
        ("[fetch]\nbogus_option = 1\n", "bogus_option"),
        ("jobs = 3\n", "'jobs'"),
        ("[fetch]\njobs = true\n", "jobs"),
        ("[fetch]\nquiet = \"yes\"\n", "quiet"),
        ("[fetch\n", "not valid TOML"),
        ("[fetch]\n\"jobs|x\" = 1\n", "jobs|x"),  // a key is text, never a pattern
    ])
    func badFilesAreNamedWithTheirKey(text: String, named: String) async throws {
        let (home, file) = try config(text)
        let r = try await runCLI(["video_a"], env: ["LUMENFALL_API_KEY": "lmnfl_0123456789", "XDG_CONFIG_HOME": home])
        #expect(r.status == 2)
        #expect(r.stderr.contains(named), "\(r.stderr)")
        #expect(r.stderr.contains(file))
        // --no-config skips the broken file.
        let skipped = try await runCLI(
            ["video_a", "--no-config", "--base-url", "http://127.0.0.1:9/v1", "--retries", "0"], env: ["XDG_CONFIG_HOME": home])
        #expect(skipped.stderr.contains("no API key"), "\(skipped.stderr)")
    }

    @Test func anAPIKeyInTheFileIsRefusedAndNeverShown() async throws {
        for text in ["[fetch]\napi_key = \"lmnfl_secret_0123456789\"\n", "[fetch]\nbase_url = \"lmnfl_secret_0123456789\"\n"] {
            let (home, _) = try config(text)
            let r = try await runCLI(["video_a"], env: ["XDG_CONFIG_HOME": home])
            #expect(r.status == 2)
            #expect(r.stderr.contains("api_key_file"), "\(r.stderr)")
            #expect(!r.stderr.contains("lmnfl_secret"))
        }
    }

    @Test func aMissingExplicitFileIsAnError() async throws {
        let r = try await runCLI(["video_a", "--config", "/nonexistent/config.toml"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("/nonexistent/config.toml"))
    }
}
