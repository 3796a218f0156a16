import Foundation
import Testing

@testable import LumenfallCore

/// Counts fsyncs and when they ran. `@unchecked Sendable` is sound: all under `lock`.
final class SyncLog: @unchecked Sendable {
    private let lock = NSLock()
    private var spans: [(start: Date, end: Date)] = []
    func run() {
        let start = Date()
        Thread.sleep(forTimeInterval: 0.02)  // a slow disk
        lock.withLock { spans.append((start, Date())) }
    }
    var all: [(start: Date, end: Date)] { lock.withLock { spans } }
}

@Suite struct DirectorySyncTests {
    /// 200 ids finishing together share a handful of folder fsyncs instead of 200, and none of
    /// them returns before an fsync that started after its call has ended.
    @Test func concurrentCallsShareFsyncsThatStartAfterThem() async {
        let log = SyncLog()
        let folder = DirectorySync(sync: { log.run() })
        let returns = await withTaskGroup(of: (Date, Date).self) { group in
            for _ in 0..<200 {
                group.addTask {
                    let called = Date()
                    await folder.sync()
                    return (called, Date())
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let spans = log.all
        #expect(spans.count >= 1 && spans.count <= 10, "\(spans.count) fsyncs for 200 callers")
        #expect(await folder.rounds == spans.count)
        for (called, returned) in returns {
            #expect(spans.contains { $0.start >= called && $0.end <= returned }, "a caller returned without a later fsync")
        }
    }

    @Test func aLoneCallGetsItsOwnFsync() async {
        let log = SyncLog()
        let folder = DirectorySync(sync: { log.run() })
        await folder.sync()
        await folder.sync()
        #expect(log.all.count == 2)
    }
}
