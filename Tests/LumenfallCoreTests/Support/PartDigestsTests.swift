import Crypto
import Testing

@testable import LumenfallCore

/// An S3 part's MD5 and SHA-256 taken in one walk equal the two taken apart, at every
/// boundary of the walk's 64 KiB slices.
@Suite struct PartDigestsTests {
    @Test(arguments: [0, 1, 65_535, 65_536, 65_537, (8 << 20) + 3])
    func oneWalkGivesBothDigests(size: Int) {
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(size + 1)
        let bytes = (0..<size).map { _ -> UInt8 in
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: seed >> 56)
        }
        let d = PartDigests(bytes)
        #expect(d.md5 == Array(Insecure.MD5.hash(data: bytes)))
        #expect(d.sha256Hex == sha256Hex(bytes))
    }
}
