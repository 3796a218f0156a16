import Foundation

/// The `thumbnail` and `spritesheet` variants of a job, made without an image library: small
/// but valid files, different per job (colours from the job's seed).
///
/// - Thumbnail: a lossless WebP (VP8L) of one colour. With every prefix code a "simple code"
///   of a single symbol, each pixel costs zero bits, so the bitstream is just the header and
///   five codes (WebP Lossless Bitstream Specification, sections 3 to 6).
/// - Spritesheet: a PNG whose 4 x 4 grid of tiles stands for frames, each tile its own colour;
///   the zlib stream uses stored (uncompressed) blocks, so no compressor is needed.
enum PreviewImages {
    static func colour(_ seed: UInt64, _ index: Int) -> (UInt8, UInt8, UInt8) {
        var z = seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return (UInt8(truncatingIfNeeded: z), UInt8(truncatingIfNeeded: z >> 8), UInt8(truncatingIfNeeded: z >> 16))
    }

    // MARK: - WebP

    static func webp(seed: UInt64, width: Int = 320, height: Int = 180) -> [UInt8] {
        var bits = BitWriter()
        bits.write(0x2F, 8)  // VP8L signature
        bits.write(UInt32(width - 1), 14)
        bits.write(UInt32(height - 1), 14)
        bits.write(0, 1)  // alpha is not used
        bits.write(0, 3)  // version 0
        bits.write(0, 1)  // no transform
        bits.write(0, 1)  // no colour cache
        bits.write(0, 1)  // one prefix-code group (no meta codes)
        let (r, g, b) = colour(seed, 0)
        // Green (+ length + cache), red, blue, alpha, distance: each a single-symbol simple code.
        for symbol in [g, r, b, 255, 0] {
            bits.write(1, 1)  // simple code
            bits.write(0, 1)  // one symbol
            bits.write(1, 1)  // an 8-bit symbol
            bits.write(UInt32(symbol), 8)
        }
        var payload = bits.bytes
        if payload.count % 2 == 1 { payload.append(0) }  // chunks are padded to even sizes
        var out: [UInt8] = Array("RIFF".utf8)
        out += le32(UInt32(4 + 8 + payload.count))
        out += Array("WEBPVP8L".utf8)
        out += le32(UInt32(bits.bytes.count))
        out += payload
        return out
    }

    struct BitWriter {
        var bytes: [UInt8] = []
        var used = 0  // bits used in the last byte
        /// LSB first, as VP8L reads its bits.
        mutating func write(_ value: UInt32, _ count: Int) {
            for i in 0..<count {
                if used == 0 { bytes.append(0) }
                if (value >> UInt32(i)) & 1 == 1 { bytes[bytes.count - 1] |= UInt8(1 << used) }
                used = (used + 1) % 8
            }
        }
    }

    // MARK: - PNG

    static func spritesheet(seed: UInt64, columns: Int = 4, rows: Int = 4, tile: Int = 64) -> [UInt8] {
        let width = columns * tile
        let height = rows * tile
        var raw: [UInt8] = []
        raw.reserveCapacity(height * (1 + width * 3))
        for y in 0..<height {
            raw.append(0)  // filter: none
            for x in 0..<width {
                let index = (y / tile) * columns + x / tile
                // A one-pixel dark border marks each frame.
                let edge = x % tile == 0 || y % tile == 0
                let (r, g, b) = edge ? (16, 16, 16) : colour(seed, index + 1)
                raw += [r, g, b]
            }
        }
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        out += chunk("IHDR", be32(UInt32(width)) + be32(UInt32(height)) + [8, 2, 0, 0, 0])  // 8-bit RGB
        out += chunk("IDAT", zlibStored(raw))
        out += chunk("IEND", [])
        return out
    }

    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var at = 0
        repeat {
            let n = min(65_535, data.count - at)
            let last: UInt8 = at + n == data.count ? 1 : 0
            out.append(last)  // BFINAL, BTYPE 00 (stored)
            out += [UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += data[at..<(at + n)]
            at += n
        } while at < data.count
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        return out + be32(b << 16 | a)
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return be32(UInt32(data.count)) + body + be32(crc32(body))
    }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in data {
            c ^= UInt32(byte)
            for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        return ~c
    }

    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
    static func le32(_ v: UInt32) -> [UInt8] { be32(v).reversed() }
}
