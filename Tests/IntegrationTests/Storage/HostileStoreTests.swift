import Crypto
import Foundation
import LumenfallSandbox
import Testing

@testable import LumenfallCore

/// A store that says what it likes (issue 17, findings 2-4 and 7): only what the store
/// computed, or a read-back, proves an object; listings are bounded; keys from a listing stay
/// under the prefix asked for.
@Suite(.removesTempDirs) struct HostileStoreTests {
    /// A small S3 in memory on a `ScriptedServer`: multipart uploads and plain objects, with
    /// knobs for the lies and faults under test.
    final class FakeS3: @unchecked Sendable {  // sound: `state` only under `lock`
        struct State {
            var parts: [Int: [UInt8]] = [:]
            var objects: [String: [UInt8]] = [:]
            var uploadPartFailures = 0
            var listedUploads: [(key: String, id: String)] = []
        }
        let lock = NSLock()
        var state = State()
        /// Complete says 200 but stores nothing; HEAD gives the right size and a plain ETag.
        var lieOnComplete = false
        /// Fail this many UploadPart requests with 500 first.
        var failUploadParts = 0
        /// Answer Complete with a space every `spacePause` s, `spaces` times, before its XML.
        var spaces = 0
        var spacePause = 0.0
        var server: ScriptedServer!

        init() throws {
            server = try ScriptedServer { [unowned self] r in self.answer(r) }
        }

        var env: [String: String] {
            [
                "AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret-test", "AWS_REGION": "us-east-1",
                "AWS_ENDPOINT_URL": server.baseURL,
            ]
        }

        func client(prefix: String = "") throws -> S3Client {
            S3Client(config: try S3Config.fromEnvironment(env).get(), location: try S3Location.parse("s3://bkt/\(prefix)").get())
        }

        func answer(_ r: ScriptedServer.Request) -> ScriptedServer.Answer {
            let path = String(r.target.prefix { $0 != "?" })
            let query = r.target.contains("?") ? String(r.target.split(separator: "?", maxSplits: 1)[1]) : ""
            let key = path.hasPrefix("/bkt/") ? String(path.dropFirst(5)) : ""
            return lock.withLock {
                switch r.method {
                case "GET" where query.contains("uploads"):
                    let blocks = state.listedUploads.map {
                        "<Upload><Key>\($0.key)</Key><UploadId>\($0.id)</UploadId><Initiated>2020-01-01T00:00:00.000Z</Initiated></Upload>"
                    }
                    return ScriptedServer.ok(
                        "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>\(blocks.joined())</ListMultipartUploadsResult>")
                case "POST" where query.hasPrefix("uploads"):
                    state.parts = [:]
                    return ScriptedServer.ok("<InitiateMultipartUploadResult><UploadId>up1</UploadId></InitiateMultipartUploadResult>")
                case "PUT" where query.contains("partNumber="):
                    if failUploadParts > 0 {
                        failUploadParts -= 1
                        state.uploadPartFailures += 1
                        return .http(status: 500, headers: [], body: Array("<Error><Code>InternalError</Code></Error>".utf8))
                    }
                    let n = Int(query.split(separator: "&").first { $0.hasPrefix("partNumber=") }!.dropFirst(11))!
                    state.parts[n] = r.body
                    return .http(status: 200, headers: [("ETag", "\"\(md5(r.body))\"")], body: [])
                case "POST" where query.hasPrefix("uploadId"):
                    let ordered = state.parts.keys.sorted().map { state.parts[$0]! }
                    let etag =
                        "\(Hex.string(Array(Insecure.MD5.hash(data: ordered.flatMap { Array(Insecure.MD5.hash(data: $0)) }))))-\(ordered.count)"
                    if lieOnComplete {
                        state.objects[key + "#size"] = Array("\(ordered.reduce(0) { $0 + $1.count })".utf8)
                    } else {
                        state.objects[key] = ordered.flatMap { $0 }
                        state.objects[key + "#etag"] = Array(etag.utf8)
                    }
                    let xml = Array("<CompleteMultipartUploadResult><ETag>\"\(etag)\"</ETag></CompleteMultipartUploadResult>".utf8)
                    guard spaces > 0 else { return .http(status: 200, headers: [], body: xml) }
                    var pieces: [(bytes: [UInt8], pauseAfter: Double)] = [
                        (Array("HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nTransfer-Encoding: chunked\r\n\r\n".utf8), 0)
                    ]
                    for _ in 0..<spaces { pieces.append((Array("1\r\n \r\n".utf8), spacePause)) }
                    pieces.append((Array(String(format: "%x\r\n", xml.count).utf8) + xml + Array("\r\n0\r\n\r\n".utf8), 0))
                    return .raw(pieces)
                case "HEAD":
                    if let size = state.objects[key + "#size"] {
                        return .http(
                            status: 200,
                            headers: [
                                ("Content-Length", String(decoding: size, as: UTF8.self)), ("ETag", "\"0123456789abcdef0123456789abcdef\""),
                            ], body: [])
                    }
                    if key.isEmpty { return ScriptedServer.ok() }
                    guard let o = state.objects[key] else { return .http(status: 404, headers: [], body: []) }
                    let etag = state.objects[key + "#etag"].map { String(decoding: $0, as: UTF8.self) } ?? md5(o)
                    return .http(status: 200, headers: [("Content-Length", "\(o.count)"), ("ETag", "\"\(etag)\"")], body: [])
                case "GET":
                    guard let o = state.objects[key] else {
                        return .http(status: 404, headers: [], body: Array("<Error><Code>NoSuchKey</Code></Error>".utf8))
                    }
                    return .http(status: 200, headers: [], body: o)
                case "DELETE":
                    return .http(status: 204, headers: [], body: [])
                default:
                    return .http(status: 400, headers: [], body: [])
                }
            }
        }

        func md5(_ b: [UInt8]) -> String { Hex.string(Array(Insecure.MD5.hash(data: b))) }
    }

    /// Finding 2: CompleteMultipartUpload answers 200 and HEAD the right size with a dash-less
    /// ETag, but the store holds nothing. The read-back finds it out: exit 1, originals kept.
    @Test func aStoreThatHoldsNothingIsNotTakenAtItsWord() async throws {
        try await withSandbox { server in
            let (dir, ids) = try await savedFolder(server, count: 2, bytes: 200_000)
            let s3 = try FakeS3()
            s3.lieOnComplete = true
            let r = try await runCLI(["archive", dir, "-o", "s3://bkt/a/x.tar", "--remove-after-archive"], env: s3.env)
            #expect(r.status != 0, "\(r.stderr)")
            #expect(r.stderr.contains("read back") || r.stderr.contains("cannot read it back"), "\(r.stderr)")
            for id in ids { #expect(FileManager.default.fileExists(atPath: "\(dir)/\(id).mp4"), "an original went without proof") }
        }
    }

    /// Finding 7: one 500 on UploadPart is tried again, not the end of the archive; and a
    /// CompleteMultipartUpload kept alive with spaces (as S3 does while it assembles) is waited
    /// for, however slow, though the stall check of other requests is 2 s here.
    @Test func aFailedPartIsRetriedAndASlowCompletionIsWaitedFor() async throws {
        try await withSandbox { server in
            let (dir, _) = try await savedFolder(server, count: 2, bytes: 200_000)
            let s3 = try FakeS3()
            s3.failUploadParts = 1
            s3.spaces = 3
            s3.spacePause = 1.5
            var slowStall = try s3.client()
            slowStall.stallTimeout = 2
            let client = slowStall
            let local = makeTempDir() + "/local.tar"
            #expect(try await runCLI(["archive", dir, "-o", local]).status == 0)
            let items = try ArchiveItem.scan(directory: dir).items
            let archiver = Archiver(directory: dir, path: "s3://bkt/a/y.tar")
            let (result, _) = try await withCheckedThrowingContinuation { c in
                Thread { c.resume(with: Result { (try archiver.writeS3(items, client: client), 0) }) }.start()
            }
            #expect(result.parts == ["s3://bkt/a/y.tar"])
            #expect(s3.lock.withLock { s3.state.uploadPartFailures } == 1)
            #expect(s3.lock.withLock { s3.state.objects["a/y.tar"] } == fileBytes(local), "the object is the local archive")
        }
    }

    /// Finding 3: a ListParts that says IsTruncated for ever with a marker one higher each time.
    @Test func anEndlessListingStops() async throws {
        let count = Counter()
        let server = try ScriptedServer { r in
            let n = count.next()
            if r.target.contains("uploads") {
                return ScriptedServer.ok(
                    "<ListMultipartUploadsResult><IsTruncated>true</IsTruncated><NextKeyMarker>k</NextKeyMarker><NextUploadIdMarker>u</NextUploadIdMarker></ListMultipartUploadsResult>"
                )
            }
            return ScriptedServer.ok(
                "<ListPartsResult><IsTruncated>true</IsTruncated><NextPartNumberMarker>\(n)</NextPartNumberMarker><Part><PartNumber>\(n)</PartNumber><ETag>\"e\"</ETag><Size>5</Size></Part></ListPartsResult>"
            )
        }
        defer { server.stop() }
        let env = ["AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "S", "AWS_ENDPOINT_URL": server.baseURL]
        let s3 = S3Client(config: try S3Config.fromEnvironment(env).get(), location: try S3Location.parse("s3://bkt/").get())
        await #expect(throws: S3Error.self) { _ = try await s3.listParts("k", uploadID: "u") }
        #expect(server.requests.count <= S3Client.maxPartPages)
        let before = server.requests.count
        // The uploads' listing repeats its markers: stopped at the second page.
        await #expect(throws: S3Error.self) { _ = try await s3.listMultipartUploads(prefix: "") }
        #expect(server.requests.count - before == 2)
    }

    /// Finding 3, the other half: every page of the unfinished uploads is read.
    @Test func everyPageOfAListingIsRead() async throws {
        let server = try ScriptedServer { r in
            let page = r.target.contains("key-marker=k2") ? 3 : r.target.contains("key-marker=k1") ? 2 : 1
            let more = page < 3 ? "true" : "false"
            return ScriptedServer.ok(
                "<ListMultipartUploadsResult><IsTruncated>\(more)</IsTruncated><NextKeyMarker>k\(page)</NextKeyMarker><NextUploadIdMarker>u\(page)</NextUploadIdMarker><Upload><Key>k\(page)</Key><UploadId>u\(page)</UploadId></Upload></ListMultipartUploadsResult>"
            )
        }
        defer { server.stop() }
        let env = ["AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "S", "AWS_ENDPOINT_URL": server.baseURL]
        let s3 = S3Client(config: try S3Config.fromEnvironment(env).get(), location: try S3Location.parse("s3://bkt/").get())
        #expect(try await s3.listMultipartUploads(prefix: "").map(\.key) == ["k1", "k2", "k3"])
    }

    /// A listing page that meets a 500 is asked again (a page is whole or nothing), for the
    /// parts of an upload as for the unfinished uploads.
    @Test func aListingPageIsRetriedAfterA500() async throws {
        let count = Counter()
        let server = try ScriptedServer { r in
            if count.next() % 2 == 1 {
                return .http(status: 500, headers: [], body: Array("<Error><Code>InternalError</Code></Error>".utf8))
            }
            if r.target.contains("uploads") {
                return ScriptedServer.ok(
                    "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated><Upload><Key>k</Key><UploadId>u</UploadId></Upload></ListMultipartUploadsResult>"
                )
            }
            return ScriptedServer.ok(
                "<ListPartsResult><IsTruncated>false</IsTruncated><Part><PartNumber>1</PartNumber><ETag>\"e\"</ETag><Size>5</Size></Part></ListPartsResult>"
            )
        }
        defer { server.stop() }
        let env = ["AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "S", "AWS_ENDPOINT_URL": server.baseURL]
        let s3 = S3Client(config: try S3Config.fromEnvironment(env).get(), location: try S3Location.parse("s3://bkt/").get())
        #expect(try await s3.listMultipartUploads(prefix: "").map(\.key) == ["k"])
        #expect(try await s3.listParts("k", uploadID: "u").map(\.number) == [1])
        #expect(server.requests.count == 4, "each page once after its 500")
    }

    /// Finding 4: `s3 cleanup` aborts only keys under its prefix, and a dot segment in a listed
    /// key is sent encoded, so the request stays on that key in that bucket.
    @Test func cleanupStaysUnderItsPrefix() async throws {
        let s3 = try FakeS3()
        s3.state.listedUploads = [("pfx/../../victim/important.tar", "u1"), ("other/x.tar", "u2"), ("pfx/ok.tar", "u3")]
        let r = try await runCLI(["s3", "cleanup", "s3://bkt/pfx/", "--older-than", "0"], env: s3.env)
        #expect(r.status == 0, "\(r.stderr)")
        let deletes = s3.server.requests.filter { $0.method == "DELETE" }.map(\.target)
        #expect(deletes.count == 2, "\(deletes)")
        #expect(deletes.contains("/bkt/pfx/%2E%2E/%2E%2E/victim/important.tar?uploadId=u1"), "\(deletes)")
        #expect(deletes.contains("/bkt/pfx/ok.tar?uploadId=u3"), "\(deletes)")
        #expect(!deletes.contains { $0.contains("other") || $0.hasPrefix("/victim") })
    }
}
