import Crypto

/// Deterministic output bytes for a job: an MP4 box layout (`ftyp`, then one `mdat` covering
/// the rest) filled from a seeded pseudo-random pool. Any range is produced by copying, so a
/// 1 GiB answer costs no more memory than the pool and little CPU, and a test can recompute
/// the exact bytes. The pool is up to 16 MiB: files up to that size never repeat, and longer
/// ones repeat (shifted) only further apart than gzip's, zstd's and xz's default windows, so
/// like real video they do not compress.
public struct MediaContent: Sendable {
    public let size: Int
    let header: [UInt8]
    let pool: [UInt8]
    let segmentsInPool: Int
    static let segment = 1 << 16
    static let maxPool = 16 << 20

    public init(size: Int, seed: UInt64) {
        self.size = max(size, 64)
        var h: [UInt8] = [0, 0, 0, 24] + Array("ftypisom".utf8) + [0, 0, 2, 0] + Array("isommp41".utf8)
        let mdat = self.size - 24
        if mdat <= Int(UInt32.max) {
            h += withUnsafeBytes(of: UInt32(mdat).bigEndian, Array.init) + Array("mdat".utf8)
        } else {
            h += [0, 0, 0, 1] + Array("mdat".utf8) + withUnsafeBytes(of: UInt64(mdat).bigEndian, Array.init)
        }
        header = h
        let poolSize = min(Self.maxPool, (self.size + Self.segment - 1) / Self.segment * Self.segment)
        segmentsInPool = poolSize / Self.segment
        var b = [UInt8](repeating: 0, count: poolSize + Self.segment + 4096)
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        b.withUnsafeMutableBytes { raw in
            let words = raw.bindMemory(to: UInt64.self)
            for i in 0..<words.count {
                // splitmix64: fast, seedable, and enough to make every file distinct.
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                words[i] = z ^ (z >> 31)
            }
        }
        pool = b
    }

    /// Calls `body` with consecutive slices that together are bytes [offset, offset+count).
    public func withBytes(offset: Int, count: Int, _ body: (UnsafeRawBufferPointer) -> Void) {
        var o = offset
        let end = min(size, offset + count)
        if o < header.count {
            let n = min(header.count, end) - o
            header.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[o..<(o + n)])) }
            o += n
        }
        pool.withUnsafeBytes { raw in
            while o < end {
                let seg = o / Self.segment
                let within = o % Self.segment
                // Each lap through the pool is shifted by a different amount (at most 4080 bytes).
                let start = (seg % segmentsInPool) * Self.segment + (seg / segmentsInPool % 241) * 17
                let n = min(Self.segment - within, end - o)
                body(UnsafeRawBufferPointer(rebasing: raw[(start + within)..<(start + within + n)]))
                o += n
            }
        }
    }

    public func allBytes() -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(size)
        withBytes(offset: 0, count: size) { out.append(contentsOf: $0) }
        return out
    }
}

extension MediaContent {
    /// The SHA-256 of all the bytes, in lower-case hex as sha256sum prints it.
    public func sha256Hex() -> String {
        var h = SHA256()
        withBytes(offset: 0, count: size) { h.update(bufferPointer: $0) }
        return h.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
