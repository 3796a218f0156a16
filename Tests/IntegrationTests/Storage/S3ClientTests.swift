import Foundation
import LumenfallCore
import LumenfallCurl
import Testing

/// A moto S3 server with SigV4 checked (Tests/S3/moto_harness.py), for one test. Scripts/test
/// makes its venv (.build/moto-venv); `MOTO_PYTHON` names another interpreter.
final class MotoServer: @unchecked Sendable {
    let process = Process()
    private let input = Pipe()
    let endpoint: String
    let accessKey: String
    let secretKey: String
    let bucket: String

    init() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let python = ProcessInfo.processInfo.environment["MOTO_PYTHON"] ?? root.appendingPathComponent(".build/moto-venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            Issue.record("no moto venv at \(python): run Scripts/test (it makes .build/moto-venv), or set MOTO_PYTHON")
            throw POSIXError(.ENOENT)
        }
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [root.appendingPathComponent("Tests/S3/moto_harness.py").path]
        let out = Pipe()
        process.standardOutput = out
        // MOTO_LOG=PATH keeps moto's request log, for debugging a test.
        process.standardError =
            ProcessInfo.processInfo.environment["MOTO_LOG"].flatMap { path -> FileHandle? in
                _ = FileManager.default.createFile(atPath: path, contents: nil)
                return FileHandle(forWritingAtPath: path)
            } ?? FileHandle.nullDevice
        process.standardInput = input
        try process.run()
        // The harness prints one JSON line when the server is up (moto prints a line of its own first).
        var buffer = Data()
        var info: [String: String]?
        let handle = out.fileHandleForReading
        while info == nil {
            let chunk = handle.availableData
            guard !chunk.isEmpty else { break }
            buffer += chunk
            for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n") where line.hasPrefix("{") {
                info = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
            }
        }
        guard let info, let e = info["endpoint"], let a = info["access_key"], let s = info["secret_key"], let b = info["bucket"] else {
            process.terminate()
            Issue.record("the moto harness did not start")
            throw POSIXError(.EIO)
        }
        endpoint = e
        accessKey = a
        secretKey = s
        bucket = b
    }

    var env: [String: String] {
        ["AWS_ACCESS_KEY_ID": accessKey, "AWS_SECRET_ACCESS_KEY": secretKey, "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint]
    }

    func client(prefix: String = "videos/", env extra: [String: String] = [:]) throws -> S3Client {
        let config = try S3Config.fromEnvironment(env.merging(extra) { $1 }).get()
        return S3Client(config: config, location: try S3Location.parse("s3://\(bucket)/\(prefix)").get())
    }
}

/// One moto for the whole test run: starting it costs seconds of CPU (boto3 and moto import),
/// and 19 starts at the suite's beginning starved the timing-sensitive tests running beside
/// them. Tests keep apart by key prefix. It ends with the test process (its stdin closes).
enum SharedMoto {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var server: MotoServer?  // sound: only under `lock`

    static func get() throws -> MotoServer {
        try lock.withLock {
            if let server { return server }
            let s = try MotoServer()
            server = s
            return s
        }
    }
}

func withMoto(_ body: (MotoServer) async throws -> Void) async throws {
    let moto = try await withCheckedThrowingContinuation { c in Thread { c.resume(with: Result { try SharedMoto.get() }) }.start() }
    try await body(moto)
}

/// The S3 client against moto over real loopback sockets, signed by libcurl (issue 12's base).
@Suite(.removesTempDirs, .serialized) struct S3ClientTests {
    /// Collects a GET's body.
    final class Collect: HTTPResponseSink {
        var bytes: [UInt8] = []
        var status = 0
        func didReceiveHead(_ head: HTTPResponseHead) -> SinkVerdict {
            status = head.status
            return .proceed
        }
        func didReceiveBody(_ b: UnsafeRawBufferPointer) -> SinkVerdict {
            bytes.append(contentsOf: b)
            return .proceed
        }
    }

    @Test func anObjectGoesUpWithItsChecksumAndComesBackIdentical() async throws {
        try await withMoto { moto in
            let s3 = try moto.client()
            let dir = makeTempDir()
            var bytes = [UInt8](repeating: 0, count: 3_000_000)
            for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 2_654_435_761 >> 13) }
            let path = dir + "/video_abc.mp4"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let sha = sha256Hex(bytes)
            let key = "video_abc.mp4"
            #expect(try await s3.head(key) == nil)
            let info = try await s3.put(
                key, .file(path: path, offset: 0, length: Int64(bytes.count)), sha256Hex: sha, contentType: "video/mp4")
            #expect(info.size == Int64(bytes.count))
            #expect(info.metaSHA256 == sha)
            let back = Collect()
            #expect(try await s3.get(key, into: back) == 200)
            #expect(sha256Hex(back.bytes) == sha, "read back, the object is the file")
            // A key with spaces, Unicode and slashes is encoded so that its signature holds.
            let odd = "dir one/温泉 clip+1.json"
            try await s3.put(odd, .bytes(Array("{}".utf8)), sha256Hex: sha256Hex(Array("{}".utf8)), contentType: "application/json")
            let oddBack = Collect()
            #expect(try await s3.get(odd, into: oddBack) == 200 && oddBack.bytes == Array("{}".utf8))
        }
    }

    @Test func aClaimIsCreatedOnceOnly() async throws {
        try await withMoto { moto in
            let s3 = try moto.client()
            #expect(try await s3.putIfAbsent(".claims/video_a", Array(#"{"worker":"a"}"#.utf8)))
            #expect(try await !s3.putIfAbsent(".claims/video_a", Array(#"{"worker":"b"}"#.utf8)), "412: someone holds it")
            try await s3.delete(".claims/video_a")
            #expect(try await s3.putIfAbsent(".claims/video_a", Array(#"{"worker":"b"}"#.utf8)))
        }
    }

    @Test func aMultipartUploadResumesFromItsListedPartsAndCompletes() async throws {
        try await withMoto { moto in
            let s3 = try moto.client(prefix: "")
            let part = 5 << 20
            var whole: [UInt8] = []
            for i in 0..<3 { whole += [UInt8](repeating: UInt8(i + 1), count: i < 2 ? part : 1234) }
            let key = "mp/archive one.tar"
            let id = try await s3.createMultipartUpload(key, contentType: "application/x-tar")
            var parts: [S3Client.Part] = []
            let first = try await s3.uploadPart(key, uploadID: id, number: 1, Array(whole[0..<part]))
            parts.append(.init(number: 1, etag: first, size: Int64(part)))
            // As after a crash: what the store already holds, then only the rest.
            let listed = try await s3.listParts(key, uploadID: id)
            #expect(listed.map(\.number) == [1] && listed.first?.size == Int64(part) && listed.first?.etag == first)
            #expect(try await s3.listMultipartUploads(prefix: "mp/").map(\.uploadID).contains(id))
            for n in 2...3 {
                let slice = Array(whole[(n - 1) * part..<min(whole.count, n * part)])
                parts.append(.init(number: n, etag: try await s3.uploadPart(key, uploadID: id, number: n, slice), size: Int64(slice.count)))
            }
            try await s3.completeMultipartUpload(key, uploadID: id, parts: parts)
            let back = Collect()
            #expect(try await s3.get(key, into: back) == 200)
            #expect(back.bytes.count == whole.count && sha256Hex(back.bytes) == sha256Hex(whole))
            // An abandoned upload is aborted and leaves the list.
            let stray = try await s3.createMultipartUpload("mp/stray.tar", contentType: "application/x-tar")
            try await s3.abortMultipartUpload("mp/stray.tar", uploadID: stray)
            #expect(try await !s3.listMultipartUploads(prefix: "mp/").map(\.uploadID).contains(stray))
        }
    }

    @Test func wrongCredentialsAndAMissingBucketAreClearErrors() async throws {
        try await withMoto { moto in
            let wrong = try moto.client(env: ["AWS_SECRET_ACCESS_KEY": "not-the-secret"])
            do {
                _ = try await wrong.head("x")
                Issue.record("a wrong secret was accepted")
            } catch let e as S3Error {
                guard case .credentials(let m) = e else { throw e }
                #expect(m.contains("AWS_SECRET_ACCESS_KEY") && !m.contains("not-the-secret"))
            }
            let config = try S3Config.fromEnvironment(moto.env).get()
            let missing = S3Client(config: config, location: try S3Location.parse("s3://no-such-bucket/x/").get())
            do {
                _ = try await missing.head("x")
                Issue.record("a missing bucket went unnoticed")
            } catch let e as S3Error {
                guard case .noSuchBucket(let m) = e else { throw e }
                #expect(m.contains("no-such-bucket"))
            }
        }
    }

    @Test func addressesAndSettingsAreChecked() throws {
        #expect(try S3Location.parse("s3://my-bucket/a/b").get().description == "s3://my-bucket/a/b/")
        #expect(try S3Location.parse("s3://my-bucket").get().prefix == "")
        for bad in ["s3://AB/x", "s3://a/x", "http://bucket/x", "s3://bucket/../x", "s3://bucket/a//b", "s3://bucket/\u{1B}x"] {
            guard case .failure = S3Location.parse(bad) else {
                Issue.record("\(bad) was accepted")
                continue
            }
        }
        guard case .failure(.usage(let m)) = S3Config.fromEnvironment([:]) else {
            Issue.record("no credentials accepted")
            return
        }
        #expect(m.contains("AWS_ACCESS_KEY_ID"))
        let keys = ["AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "SECRETVALUE"]
        guard case .failure = S3Config.fromEnvironment(keys.merging(["AWS_ENDPOINT_URL": "http://s3.example.com"]) { $1 }) else {
            Issue.record("plain http to another host accepted")
            return
        }
        let aws = try S3Config.fromEnvironment(keys.merging(["AWS_DEFAULT_REGION": "eu-west-1"]) { $1 }).get()
        #expect(aws.endpoint == "https://s3.eu-west-1.amazonaws.com" && !aws.pathStyle)
        #expect(!"\(aws)".contains("SECRETVALUE"))
        let s3 = S3Client(config: aws, location: try S3Location.parse("s3://my-bucket/p/").get())
        #expect(s3.url("p/a b.mp4") == "https://my-bucket.s3.eu-west-1.amazonaws.com/p/a%20b.mp4")
        #expect(S3Client.encode("a/b") == "a%2Fb")
        // Issue 17: a password in the endpoint is refused and never echoed.
        for endpoint in ["http://user:hunter2pass@127.0.0.1:9000", "https://user:hunter2pass@s3.example.com", "https://user:hunter2pass@/"]
        {
            guard case .failure(let e) = S3Config.fromEnvironment(keys.merging(["AWS_ENDPOINT_URL": endpoint]) { $1 }) else {
                Issue.record("\(endpoint) was accepted")
                continue
            }
            #expect(!"\(e)".contains("hunter2pass"), "\(e)")
        }
    }
}
