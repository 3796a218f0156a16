import Crypto
import Foundation
import LumenfallSandbox
import Testing

@testable import LumenfallCore

/// Objects planted in the prefix by someone with write access (issue 17, findings 2 and 7),
/// against moto: user metadata is no proof, and a planted sidecar names no path of its own.
@Suite(.removesTempDirs, .serialized) struct PlantedObjectTests {
    func run(_ moto: MotoServer, _ server: SandboxServer, _ args: [String]) async throws -> CLIRun {
        try await server.runCLI(
            args + ["--poll-interval", "0.05"],
            env: moto.env.merging(["LUMENFALL_API_KEY": server.apiKey, "XDG_CACHE_HOME": makeTempDir()]) { $1 })
    }

    @Test func anObjectWithTheRightSizeAndMetadataButOtherBytesIsReplaced() async throws {
        try await withMoto { moto in
            try await withSandbox { server in
                let id = server.createJob(spec(bytes: 300_000))
                let content = try #require(server.content(for: id)).allBytes()
                let s3 = try moto.client(prefix: "")
                let wrong = [UInt8](repeating: 0x41, count: content.count)
                let key = "planted1/\(id).mp4"
                // As anyone with write access could: the right size, our metadata, other bytes.
                _ = try await s3.send(
                    "PUT", key, headers: ["x-amz-meta-sha256: \(sha256Hex(content))"], upload: .bytes(wrong),
                    payloadSHA256: sha256Hex(wrong))
                let r = try await run(moto, server, [id, "-o", "s3://\(moto.bucket)/planted1/", "--work-dir", makeTempDir()])
                #expect(r.status == 0, "\(r.stderr)")
                let sink = S3ClientTests.Collect()
                #expect(try await s3.get(key, into: sink) == 200)
                #expect(sha256Hex(sink.bytes) == sha256Hex(content), "the planted bytes must be replaced by the video")
            }
        }
    }

    @Test func aPlantedSidecarDoesNotMarkAnIdStoredNorNameAPath() async throws {
        try await withMoto { moto in
            try await withSandbox { server in
                let id = server.createJob(spec(bytes: 100_000))
                let s3 = try moto.client(prefix: "")
                let planted = #"""
                    {"schema":"lumenfall-fetch.sidecar/1","download":{"file":"../../../../etc/passwd","bytes":1,"sha256":"\#(String(repeating: "a", count: 64))",\#
                    "content_type":null,"media_host":"h","source":"s","downloaded_at":"2026-01-01T00:00:00Z","tool":"lumenfall-fetch",\#
                    "tool_version":"1"},"video":{"id":"\#(id)","object":"video","status":"completed","created_at":1780000000,\#
                    "model":"sora-2","prompt":"p"}}
                    """#
                #expect(Sidecar.read(Array(planted.utf8)) != nil, "the planted sidecar must parse, or the test proves nothing")
                _ = try await s3.send(
                    "PUT", "planted2/\(id).json", upload: .bytes(Array(planted.utf8)), payloadSHA256: sha256Hex(Array(planted.utf8)))
                let r = try await run(moto, server, [id, "-o", "s3://\(moto.bucket)/planted2/", "--work-dir", makeTempDir()])
                #expect(r.status == 0, "\(r.stderr)")
                #expect(!r.stdout.contains("passwd") && !r.stderr.contains("passwd"), "\(r.stdout)")
                #expect(r.stdout == "s3://\(moto.bucket)/planted2/\(id).mp4\n", "the id is fetched and stored: \(r.stdout)")
            }
        }
    }
}

/// A thread-safe counter for a server's handler.
final class Counter: @unchecked Sendable {  // sound: `n` only under `lock`
    private let lock = NSLock()
    private var n = 0
    func next() -> Int {
        lock.withLock {
            n += 1
            return n
        }
    }
}
