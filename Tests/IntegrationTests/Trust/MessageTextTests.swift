import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

/// Every message a person sees is composed by us (issue 19, finding 6): the error paths a user
/// reaches from the command line, each run for real, and none may show Swift's or Foundation's
/// spelling of an error, or end with an undocumented exit code.
@Suite(.removesTempDirs) struct MessageTextTests {
    static let forbidden = [
        "Optional(", "NSCocoaErrorDomain", "Error Domain=", "The operation could not be completed", "(rawValue:", "Swift.",
        "Foundation.",
    ]
    static let documentedCodes: Set<Int32> = [0, 1, 2, 3, 4, 64]

    @Test func errorPathsSpeakInOurWords() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            _ = FileManager.default.createFile(atPath: "\(dir)/afile", contents: Data("x".utf8))
            try Data("[fetch]\nno_such_key = 1\n".utf8).write(to: URL(fileURLWithPath: "\(dir)/bad.toml"))
            try Data("[fetch\n".utf8).write(to: URL(fileURLWithPath: "\(dir)/broken.toml"))
            try Data("not an archive".utf8).write(to: URL(fileURLWithPath: "\(dir)/junk.tar"))
            let key = ["LUMENFALL_API_KEY": server.apiKey]
            let base = ["--base-url", server.baseURL]
            let runs: [([String], [String: String])] = [
                (["video_1", "-o", "\(dir)/afile/sub"] + base, key),
                (["video_1", "-o", dir] + base, [:]),  // no key
                (["video_1", "-o", dir, "--api-key-file", "\(dir)/nokey"] + base, [:]),
                (["video_1", "-o", dir, "-i", "\(dir)/nolist.txt"] + base, key),
                (["video_1", "-o", dir, "--config", "\(dir)/bad.toml"] + base, key),
                (["video_1", "-o", dir, "--config", "\(dir)/broken.toml"] + base, key),
                (["video_1", "-o", dir, "--cacert", "\(dir)/nocert.pem"] + base, key),
                (["video_1", "-o", dir, "--base-url", "ftp://example.com/v1"], key),
                (["video_nosuch", "-o", dir] + base, key),
                (["video_1", "-o", dir, "--base-url", "http://127.0.0.1:1/openai/v1", "--api-wait", "1s"], key),
                (["verify", "\(dir)/nonexist.tar"], [:]),
                (["verify", "\(dir)/junk.tar"], [:]),
                (["archive", "\(dir)/nofolder", "-o", "\(dir)/x.tar"], [:]),
                (["archive", dir, "-o", "\(dir)/afile/x.tar"], [:]),
                (["gallery", "\(dir)/nofolder"], [:]),
                (["gallery", "\(dir)/afile"], [:]),
                (["list", "--base-url", "http://127.0.0.1:1/openai/v1"], key),
                (["list"] + base, ["LUMENFALL_API_KEY": "lmnfl_wrong_but_long_enough"]),
                (["s3", "cleanup", "not-a-url"], [:]),
                (["lsit"], key),
                (["help", "nosuch"], [:]),
                (["--retries", "-1", "video_1"], key),
            ]
            for (args, env) in runs {
                let r = try await runCLI(args, env: env)
                let text = r.stdout + r.stderr
                for bad in Self.forbidden {
                    #expect(!text.contains(bad), "\(args.joined(separator: " ")) printed \(bad): \(text)")
                }
                for line in text.split(separator: "\n") where line.contains("error") {
                    #expect(!ErrorText.looksDumped(String(line.split(separator: ":").last ?? "")), "\(line)")
                }
                #expect(Self.documentedCodes.contains(r.status), "\(args.joined(separator: " ")) exited \(r.status)")
                #expect(r.status != 0, "\(args.joined(separator: " ")) is an error path")
            }
        }
    }
}
