import Crypto
import Foundation
import LumenfallCurl

/// Hashes an object as it is read back (SHA-256 of the whole, MD5 of each `partSize` piece)
/// and stops at `limit` bytes: a store that sends more is not holding what we sent.
final class ReadBackSink: HTTPResponseSink {
    struct Digest: Sendable {
        var bytes: Int64
        var sha256: String
        /// `md5(md5s)-N` for the parts, when a part size was given.
        var multipartETag: String?
    }
    private let limit: Int64
    private let partSize: Int?
    private var sha = SHA256()
    private var partMD5 = Insecure.MD5()
    private var inPart = 0
    private var md5s: [UInt8] = []
    private var parts = 0
    private var count: Int64 = 0
    private var failed = false
    private var status = 0

    init(limit: Int64, partSize: Int?) {
        self.limit = limit
        self.partSize = partSize
    }

    func didReceiveHead(_ head: HTTPResponseHead) -> SinkVerdict {
        status = head.status
        return (200..<300).contains(head.status) ? .proceed : .abort
    }

    func didReceiveBody(_ bytes: UnsafeRawBufferPointer) -> SinkVerdict {
        guard count + Int64(bytes.count) <= limit else {
            failed = true
            return .abort
        }
        count += Int64(bytes.count)
        sha.update(bufferPointer: bytes)
        guard let partSize else { return .proceed }
        var rest = bytes[...]
        while !rest.isEmpty {
            let n = min(partSize - inPart, rest.count)
            partMD5.update(bufferPointer: UnsafeRawBufferPointer(rebasing: rest.prefix(n)))
            inPart += n
            rest = rest.dropFirst(n)
            if inPart == partSize { closePart() }
        }
        return .proceed
    }

    private func closePart() {
        md5s += Array(partMD5.finalize())
        partMD5 = Insecure.MD5()
        parts += 1
        inPart = 0
    }

    /// Once the GET is over: the digest, or nil when the answer was not a whole 2xx body.
    func finish() -> Digest? {
        guard !failed, (200..<300).contains(status) else { return nil }
        var etag: String?
        if partSize != nil {
            if inPart > 0 || parts == 0 { closePart() }
            etag = "\(Hex.string(Array(Insecure.MD5.hash(data: md5s))))-\(parts)"
        }
        return Digest(bytes: count, sha256: Hex.string(Array(sha.finalize())), multipartETag: etag)
    }
}
