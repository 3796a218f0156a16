import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

@Suite(.removesTempDirs) struct DirectoryLockTests {
    @Test func aSecondRunInTheSameFolderIsRefused() async throws {
        let dir = makeTempDir()
        let held = try DirectoryLock(directory: dir)
        let r = try await runCLI(
            ["video_a", "-o", dir, "--base-url", "http://127.0.0.1:9/openai/v1"],
            env: ["LUMENFALL_API_KEY": "lmnfl_x"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("another lumenfall-fetch (pid \(getpid())) is working in \(dir)"))
        withExtendedLifetime(held) {}
    }

    @Test func theLockIsFreeAgainOnceReleased() throws {
        let dir = makeTempDir()
        do { _ = try DirectoryLock(directory: dir) }
        #expect(throws: Never.self) { _ = try DirectoryLock(directory: dir) }
    }
}
