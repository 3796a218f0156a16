import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

@Suite struct SandboxDeleteAndVariantTests {
    @Test func aDeletedJobAnswers404AndLeavesTheList() async throws {
        try await withSandbox { server in
            let keep = server.createJob(spec { $0.queuedPolls = 0 })
            let gone = server.createJob(spec { $0.queuedPolls = 0 })
            let auth = "Authorization: Bearer \(server.apiKey)"
            let (_, del) = try run("curl", ["-sS", "-X", "DELETE", "-H", auth, server.baseURL + "/videos/\(gone)"])
            #expect(del.contains("\"deleted\":true"), "\(del)")
            let (_, after) = try run(
                "curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", auth, server.baseURL + "/videos/\(gone)"])
            #expect(after == "404")
            let (_, list) = try run("curl", ["-sS", "-H", auth, server.baseURL + "/videos?limit=10"])
            #expect(list.contains(keep) && !list.contains(gone), "\(list)")
        }
    }

    /// Each job has its own thumbnail (lossless WebP) and spritesheet (PNG, a 4 x 4 grid).
    @Test func previewsAreValidImagesOfTheirOwn() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let ids = (0..<2).map { _ in server.createJob(spec { $0.queuedPolls = 0 }) }
            var thumbs: [[UInt8]] = []
            for id in ids {
                for variant in ["thumbnail", "spritesheet"] {
                    let file = "\(dir)/\(id).\(variant)"
                    let (_, type) = try run(
                        "curl",
                        [
                            "-sS", "-o", file, "-w", "%{content_type}", "-H", "Authorization: Bearer \(server.apiKey)",
                            server.baseURL + "/videos/\(id)/content?variant=\(variant)",
                        ])
                    let bytes = try #require(fileBytes(file))
                    if variant == "thumbnail" {
                        #expect(type == "image/webp")
                        #expect(Array(bytes[0..<4]) == Array("RIFF".utf8) && Array(bytes[8..<16]) == Array("WEBPVP8L".utf8))
                        thumbs.append(bytes)
                        if FileManager.default.isExecutableFile(atPath: "/usr/bin/dwebp") {
                            let (code, out) = try run("dwebp", [file, "-o", file + ".png"])
                            #expect(code == 0, "\(out)")
                        }
                    } else {
                        #expect(type == "image/png")
                        // Every chunk's CRC and the zlib stream, checked by Python's own zlib.
                        let check = """
                            import struct, sys, zlib
                            d = open(sys.argv[1], 'rb').read(); assert d[:8] == b'\\x89PNG\\r\\n\\x1a\\n'
                            i, idat = 8, b''
                            while i < len(d):
                                n = struct.unpack('>I', d[i:i+4])[0]; t = d[i+4:i+8]; body = d[i+8:i+8+n]
                                assert zlib.crc32(t + body) == struct.unpack('>I', d[i+8+n:i+12+n])[0], t
                                idat += body if t == b'IDAT' else b''; i += 12 + n
                            w, h = struct.unpack('>II', d[16:24]); assert len(zlib.decompress(idat)) == h * (1 + 3 * w)
                            """
                        let (code, out) = try run("python3", ["-c", check, file])
                        #expect(code == 0, "\(out)")
                    }
                }
            }
            #expect(thumbs[0] != thumbs[1], "each job has its own thumbnail")
        }
    }

    @Test func anUnknownVariantIsA400() async throws {
        try await withSandbox { server in
            let id = server.createJob(spec { $0.queuedPolls = 0 })
            let (_, code) = try run(
                "curl",
                [
                    "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: Bearer \(server.apiKey)",
                    server.baseURL + "/videos/\(id)/content?variant=poster",
                ])
            #expect(code == "400")
        }
    }
}
