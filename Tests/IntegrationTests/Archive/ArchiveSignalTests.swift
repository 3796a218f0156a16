import Foundation
import LumenfallArchive
import LumenfallCore
import LumenfallSandbox
import Testing

@Suite(.removesTempDirs) struct ArchiveSignalTests {
    @Test func anInterruptedArchiveLeavesNoPartBehind() async throws {
        try await withSandbox { server in
            // xz on 60 MB of incompressible bytes takes seconds: time to interrupt it.
            let (src, _) = try await savedFolder(server, count: 2, bytes: 30_000_000)
            let out = makeTempDir()
            let p = try CLIProcess(["archive", src, "-o", out + "/slow.tar.xz"])
            let deadline = Date().addingTimeInterval(30)
            while try FileManager.default.contentsOfDirectory(atPath: out).isEmpty, Date() < deadline {
                try await Task.sleep(nanoseconds: 20_000_000)
            }
            kill(p.process.processIdentifier, SIGINT)
            let r = await p.result()
            #expect(r.status == 130)
            #expect(try FileManager.default.contentsOfDirectory(atPath: out).isEmpty)
        }
    }
}
