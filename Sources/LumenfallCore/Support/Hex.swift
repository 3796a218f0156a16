import Crypto

enum Hex {
    /// Lower-case hex of any bytes (an MD5, a SHA-256).
    static func string<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

func sha256Hex(_ bytes: [UInt8]) -> String {
    SHA256.hash(data: bytes).hex
}

extension SHA256.Digest {
    /// Lower-case hex, as sha256sum prints it.
    var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for b in self {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// A multipart upload's part needs its MD5 (the ETag it is checked against) and its SHA-256
/// (SigV4's payload hash): both in one walk over the part, 64 KiB at a time, so each slice is
/// hashed twice while it is in the CPU's cache instead of reading 8-64 MiB from memory twice.
struct PartDigests {
    let md5: [UInt8]
    let sha256Hex: String

    init(_ bytes: [UInt8]) {
        var md5 = Insecure.MD5()
        var sha = SHA256()
        bytes.withUnsafeBytes { all in
            var offset = 0
            while offset < all.count {
                let slice = UnsafeRawBufferPointer(rebasing: all[offset..<min(offset + 65_536, all.count)])
                md5.update(bufferPointer: slice)
                sha.update(bufferPointer: slice)
                offset += slice.count
            }
        }
        self.md5 = Array(md5.finalize())
        self.sha256Hex = sha.finalize().hex
    }
}
