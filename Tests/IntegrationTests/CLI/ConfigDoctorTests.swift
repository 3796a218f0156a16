import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

/// `config` shows each setting and where it comes from, never a secret; `doctor` checks what a
/// fetch needs and says what to do (issue 19).
@Suite(.removesTempDirs) struct ConfigDoctorTests {
    func configHome(_ toml: String) throws -> String {
        let home = makeTempDir()
        try FileManager.default.createDirectory(atPath: "\(home)/lumenfall-fetch", withIntermediateDirectories: true)
        try Data(toml.utf8).write(to: URL(fileURLWithPath: "\(home)/lumenfall-fetch/config.toml"))
        return home
    }

    @Test func configSaysWhereEachSettingComesFrom() async throws {
        let home = try configHome("[fetch]\njobs = 8\n[list]\nlimit = 50\n")
        let env = [
            "XDG_CONFIG_HOME": home, "LUMENFALL_BASE_URL": "http://127.0.0.1:9/openai/v1",
            "LUMENFALL_API_KEY": "lmnfl_secret_value_42",
        ]
        let r = try await runCLI(["config"], env: env)
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "config file: \(home)/lumenfall-fetch/config.toml")
        #expect(lines.contains { $0.contains("--jobs") && $0.contains("8") && $0.contains("(config file)") })
        #expect(
            lines.contains {
                $0.contains("--base-url") && $0.contains("http://127.0.0.1:9/openai/v1") && $0.contains("($LUMENFALL_BASE_URL)")
            })
        #expect(lines.contains { $0.contains("--poll-interval") && $0.contains("5") && $0.contains("(default)") })
        #expect(lines.contains { $0.contains("API key: read from $LUMENFALL_API_KEY (not shown)") })
        #expect(!r.stdout.contains("lmnfl_secret_value_42"))
        let list = try await runCLI(["config", "list"], env: env)
        #expect(
            list.stdout.contains { _ in true }
                && list.stdout.split(separator: "\n").contains { $0.contains("--limit") && $0.contains("50") })
        #expect(try await runCLI(["config", "nosuch"], env: env).status == 64)
    }

    /// A URL is shown without what it may carry (user, password, query); a value that begins
    /// with `--` is still the value of its option.
    @Test func configShowsURLsWithoutTheirCredentials() async throws {
        let home = try configHome(
            "[fetch]\nbase_url = \"http://me:hunter2@127.0.0.1:9/openai/v1?token=t0p\"\nname = \"--{id}\"\n")
        let r = try await runCLI(["config"], env: ["XDG_CONFIG_HOME": home, "LUMENFALL_API_KEY": "lmnfl_x"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("http://127.0.0.1:9/openai/v1"), "\(r.stdout)")
        #expect(!r.stdout.contains("hunter2") && !r.stdout.contains("t0p"), "\(r.stdout)")
        #expect(r.stdout.split(separator: "\n").contains { $0.contains("--name") && $0.contains("--{id}") }, "\(r.stdout)")
    }

    @Test func doctorPassesWhenAllIsWellAndSaysWhatToDoWhenNot() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            // doctor reads fetch's table: the base URL comes from the config file.
            let home = try configHome("[fetch]\nbase_url = \"\(server.baseURL)\"\njobs = 8\n")
            let good = try await runCLI(["doctor", "-o", dir], env: ["XDG_CONFIG_HOME": home, "LUMENFALL_API_KEY": server.apiKey])
            #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
            #expect(good.stdout.contains("the key was accepted"))
            #expect(good.stdout.range(of: #"ok    clock: -?\d+ s from the API's"#, options: .regularExpression) != nil, "\(good.stdout)")
            #expect(good.stdout.contains("is writable") && good.stdout.contains("free"))
            #expect(good.stdout.hasSuffix("doctor: every check passed\n"))
            #expect((try FileManager.default.contentsOfDirectory(atPath: dir)).isEmpty, "its probe file is gone")
            let wrongKey = try await runCLI(
                ["doctor", "-o", dir], env: ["XDG_CONFIG_HOME": home, "LUMENFALL_API_KEY": "lmnfl_not_the_key_0000"])
            #expect(wrongKey.status == 1)
            #expect(wrongKey.stdout.contains("refused the key (HTTP 401)"))
            let dead = try await runCLI(
                ["doctor", "-o", dir, "--base-url", "http://127.0.0.1:1/openai/v1"], env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(dead.status == 1)
            #expect(dead.stdout.contains("could not be reached") && dead.stdout.contains("check --base-url"))
        }
    }
}
