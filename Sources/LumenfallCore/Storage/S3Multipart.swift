import Crypto
import Foundation
import LumenfallCurl

// MARK: - Multipart uploads

extension S3Client {
    package struct Part: Sendable, Equatable {
        package var number: Int
        package var etag: String
        package var size: Int64
        package init(number: Int, etag: String, size: Int64) {
            self.number = number
            self.etag = etag
            self.size = size
        }
    }

    package struct PendingUpload: Sendable, Equatable {
        package var key: String
        package var uploadID: String
        package var initiated: Date?
    }

    /// The text of each `<name>` element, in order (S3's answers are flat enough for this).
    static func xmlValues(_ name: String, in text: String) -> [String] {
        var out: [String] = []
        var rest = text[...]
        while let s = rest.range(of: "<\(name)>"), let e = rest.range(of: "</\(name)>", range: s.upperBound..<rest.endIndex) {
            out.append(Self.xmlUnescape(String(rest[s.upperBound..<e.lowerBound])))
            rest = rest[e.upperBound...]
        }
        return out
    }

    static func xmlUnescape(_ s: String) -> String {
        s.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    static func xmlEscape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// `POST key?uploads=` (curl signs the query as written, so the `=` is there).
    package func createMultipartUpload(_ key: String, contentType: String) async throws -> String {
        let a = try await send("POST", key, query: "uploads=", headers: ["Content-Type: \(contentType)"], body: [])
        guard (200..<300).contains(a.status), let id = Self.xmlValues("UploadId", in: String(decoding: a.body, as: UTF8.self)).first,
            !id.isEmpty
        else { throw failure(a, "create a multipart upload of \(key)") }
        return id
    }

    /// One part (1-based), with its SHA-256 as the payload hash; returns its ETag.
    /// `sha256Hex`: the part's SHA-256 when the caller has it already (`PartDigests`).
    package func uploadPart(
        _ key: String, uploadID: String, number: Int, _ bytes: [UInt8], sha256Hex known: String? = nil
    ) async throws
        -> String
    {
        let a = try await send(
            "PUT", key, query: "partNumber=\(number)&uploadId=\(Self.encode(uploadID))", upload: .bytes(bytes),
            payloadSHA256: known ?? sha256Hex(bytes))
        guard (200..<300).contains(a.status), let etag = a.head?.header("ETag") else { throw failure(a, "upload part \(number) of \(key)") }
        return etag
    }

    /// S3 may take minutes to assemble a big object, sending a space every few seconds to keep
    /// the connection: no stall check then (a space each 5 s is under any byte rate), only a
    /// 15-minute bound on the whole exchange.
    package func completeMultipartUpload(_ key: String, uploadID: String, parts: [Part]) async throws {
        let xml =
            "<CompleteMultipartUpload>"
            + parts.sorted { $0.number < $1.number }.map {
                "<Part><PartNumber>\($0.number)</PartNumber><ETag>\(Self.xmlEscape($0.etag))</ETag></Part>"
            }
            .joined() + "</CompleteMultipartUpload>"
        let body = Array(xml.utf8)
        let a = try await send(
            "POST", key, query: "uploadId=\(Self.encode(uploadID))", headers: ["Content-Type: application/xml"],
            payloadSHA256: sha256Hex(body), body: body, stallTimeout: 900, totalTimeout: 900)
        // S3 may answer 200 with an <Error> body when the completion failed late.
        guard (200..<300).contains(a.status), !String(decoding: a.body, as: UTF8.self).contains("<Error>") else {
            throw failure(a, "complete the multipart upload of \(key)")
        }
    }

    package func abortMultipartUpload(_ key: String, uploadID: String) async throws {
        let a = try await send("DELETE", key, query: "uploadId=\(Self.encode(uploadID))")
        guard (200..<300).contains(a.status) || a.status == 404 else { throw failure(a, "abort the multipart upload of \(key)") }
    }

    /// S3 allows 10 000 parts per upload, listed 1 000 a page: more pages than this, or a part
    /// number past 10 000, is a listing that does not end.
    static let maxPartNumber = 10_000
    static let maxPartPages = 100
    /// ListMultipartUploads gives up to 1 000 uploads a page; 1 000 pages is a million
    /// unfinished uploads under one prefix, far past any real bucket.
    static let maxUploadPages = 1_000

    /// The parts an unfinished upload already holds (to resume without sending them again).
    /// Every page is read; the marker must move forward and stay within S3's part numbers.
    package func listParts(_ key: String, uploadID: String) async throws -> [Part] {
        var parts: [Part] = []
        var marker = 0
        for _ in 0..<Self.maxPartPages {
            let q = (marker > 0 ? "part-number-marker=\(marker)&" : "") + "uploadId=\(Self.encode(uploadID))"
            let sink = BufferSink(limit: 8 << 20)
            let a = try await send("GET", key, query: q, sink: sink, sinkRestarts: true)
            guard (200..<300).contains(a.status) else {
                throw failure(Answer(status: a.status, head: a.head, body: sink.bytes), "list the parts of \(key)")
            }
            let text = String(decoding: sink.bytes, as: UTF8.self)
            for block in Self.xmlValues("Part", in: text) {
                guard let n = Self.xmlValues("PartNumber", in: block).first.flatMap({ Int($0) }), (1...Self.maxPartNumber).contains(n),
                    let etag = Self.xmlValues("ETag", in: block).first, etag.utf8.count <= 128,
                    let size = Self.xmlValues("Size", in: block).first.flatMap({ Int64($0) }), size >= 0
                else { continue }
                parts.append(Part(number: n, etag: etag, size: size))
            }
            guard Self.xmlValues("IsTruncated", in: text).first == "true" else { return parts }
            guard let next = Self.xmlValues("NextPartNumberMarker", in: text).first.flatMap({ Int($0) }), next > marker,
                next < Self.maxPartNumber
            else {
                throw S3Error.mismatch(
                    "the store's list of the parts of \(key) says it goes on but its marker does not move forward; stopping")
            }
            marker = next
        }
        throw S3Error.mismatch("the store's list of the parts of \(key) did not end after \(Self.maxPartPages) pages; stopping")
    }

    /// Unfinished multipart uploads under `prefix` (whole key prefix), every page of them.
    /// A listed key that does not start with `prefix`, or that a URL could not carry as it is
    /// (a `.` or `..` segment, an empty segment, a control character), is not ours to touch
    /// and is left out; the markers (key, then upload id) must move forward page by page.
    package func listMultipartUploads(prefix: String) async throws -> [PendingUpload] {
        var out: [PendingUpload] = []
        var marker: (key: String, id: String)?
        for _ in 0..<Self.maxUploadPages {
            let sink = BufferSink(limit: 16 << 20)
            var q = ""
            if let marker { q += "key-marker=\(Self.encode(marker.key))&" }
            q += "prefix=\(Self.encode(prefix))"
            if let marker, !marker.id.isEmpty { q += "&upload-id-marker=\(Self.encode(marker.id))" }
            q += "&uploads="
            let a = try await send("GET", "", query: q, sink: sink, sinkRestarts: true)
            guard (200..<300).contains(a.status) else {
                throw failure(Answer(status: a.status, head: a.head, body: sink.bytes), "list multipart uploads")
            }
            let text = String(decoding: sink.bytes, as: UTF8.self)
            for block in Self.xmlValues("Upload", in: text) {
                guard let key = Self.xmlValues("Key", in: block).first, let id = Self.xmlValues("UploadId", in: block).first,
                    Self.isSafeListedKey(key, under: prefix), !id.isEmpty, id.utf8.count <= 1024
                else { continue }
                let initiated = Self.xmlValues("Initiated", in: block).first.flatMap {
                    DateFormats.shared.parseISO(String($0.prefix(19)) + "Z")
                }
                out.append(PendingUpload(key: key, uploadID: id, initiated: initiated))
            }
            guard Self.xmlValues("IsTruncated", in: text).first == "true" else { return out }
            let next = (
                key: Self.xmlValues("NextKeyMarker", in: text).first ?? "", id: Self.xmlValues("NextUploadIdMarker", in: text).first ?? ""
            )
            // Forward means a later key, or the same key and another upload id.
            let forward =
                marker.map { next.key > $0.key || (next.key == $0.key && !next.id.isEmpty && next.id != $0.id) } ?? !next.key.isEmpty
            guard forward else {
                throw S3Error.mismatch(
                    "the store's list of unfinished uploads says it goes on but its marker does not move forward; stopping")
            }
            marker = next
        }
        throw S3Error.mismatch("the store's list of unfinished uploads did not end after \(Self.maxUploadPages) pages; stopping")
    }

    /// Whether a key from a listing may be named in a request: under `prefix` (a store that
    /// lists others is not obeyed), no control character, at most S3's 1 024 bytes. Its dot
    /// segments are encoded by `url`, so `pfx/../victim` stays that key, in this bucket.
    static func isSafeListedKey(_ key: String, under prefix: String) -> Bool {
        key.hasPrefix(prefix) && !key.isEmpty && key.utf8.count <= 1024
            && key.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F }
    }
}
