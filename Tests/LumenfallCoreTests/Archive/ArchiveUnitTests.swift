import Foundation
import LumenfallArchive
import LumenfallCore
import Testing

@Suite struct ArchiveUnitTests {
    @Test func namesPickTheCompressionAndUnsafeNamesAreRecognised() {
        #expect(Compression(fileName: "a.tar.zst") == .zstd)
        #expect(Compression(fileName: "a.TGZ") == .gzip)
        #expect(Compression(fileName: "a.zip") == nil)
        #expect(Compression.splitName("x/b.tar.gz")! == ("x/b", ".tar.gz"))
        #expect(ArchiveVerifier.isSafeName("a/b.mp4"))
        #expect(!ArchiveVerifier.isSafeName("a/../b"))
        #expect(!ArchiveVerifier.isSafeName("/etc/x"))
        #expect(!ArchiveVerifier.isSafeName(""))
    }
}
