import Crypto
import Foundation
import Testing

@testable import LumenfallCore

/// Signals a waiting test from the hash queue.
final class Wakeups: @unchecked Sendable {  // sound: `count` is only touched under `lock`
    private let lock = NSLock()
    private var count = 0
    func wake() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

@Suite struct HashingFileWriterTests {
    /// With every block still being hashed, `append` refuses the next chunk without consuming
    /// it (the transfer pauses), the writer wakes its owner once a block is free, and the same
    /// chunk is then taken: the file and its SHA-256 are exactly the bytes sent.
    @Test func backPressurePausesAndResumesWithoutLosingAByte() throws {
        let path = NSTemporaryDirectory() + "lumenfall-hfw-\(UUID().uuidString)"
        defer { unlink(path) }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        try #require(fd >= 0)
        let writer = HashingFileWriter()
        try writer.attach(fd: fd, path: path, offset: 0)
        let wakeups = Wakeups()
        writer.setWaker { wakeups.wake() }

        let chunk = [UInt8]((0..<(HashingFileWriter.blockSize / 4)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        var sent: [UInt8] = []
        writer.hashQueue.suspend()  // the hasher falls behind: blocks stay in flight
        var accepted = 0
        while try chunk.withUnsafeBytes({ try writer.append($0) }) {
            sent += chunk
            accepted += 1
            try #require(accepted < 100, "append never refused: no back-pressure")
        }
        // 4 blocks in flight, each filled by 4 chunks: 16 chunks, then a refusal.
        #expect(accepted == 4 * HashingFileWriter.maxBlocks)
        #expect(wakeups.value == 0)
        writer.hashQueue.resume()
        writer.drain()
        #expect(wakeups.value == 1, "a freed block wakes the paused transfer once")
        // The refused chunk is handed over again, as libcurl does after a pause.
        #expect(try chunk.withUnsafeBytes { try writer.append($0) })
        sent += chunk
        try writer.close()
        #expect(writer.hashed == Int64(sent.count))
        #expect(writer.digestHex() == SHA256.hash(data: sent).map { String(format: "%02x", $0) }.joined())
        #expect(FileManager.default.contents(atPath: path).map(Array.init) == sent)
    }
}
