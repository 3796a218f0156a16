import Foundation
import LumenfallCore

/// The ids `watch` hands to the fetch pipeline: fed by webhooks, the sweep and the journal's
/// replay; pulled by `Fetcher.run(source:)`, which waits here while nothing is due. An id is
/// queued at most once at a time. `close()` ends the source (SIGTERM).
/// `@unchecked Sendable` is sound: every field is touched under `lock`.
public final class WatchQueue: IDSource, @unchecked Sendable {
    private let lock = NSLock()
    private var ids: [String] = []
    private var head = 0
    private var queued = Set<String>()
    private var waiter: CheckedContinuation<String?, Never>?
    private var closed = false

    public init() {}

    /// Queues an id unless it is already waiting; false when it was.
    @discardableResult
    public func offer(_ id: String) -> Bool {
        enum Step { case refused, queued, handoff(CheckedContinuation<String?, Never>) }
        let step: Step = lock.withLock {
            guard !closed, !queued.contains(id) else { return .refused }
            if let w = waiter {
                waiter = nil
                return .handoff(w)
            }
            queued.insert(id)
            ids.append(id)
            return .queued
        }
        switch step {
        case .refused: return false
        case .queued: return true
        case .handoff(let w):
            w.resume(returning: id)
            return true
        }
    }

    public var depth: Int { lock.withLock { queued.count } }

    public func next() async throws -> String? {
        await withCheckedContinuation { (c: CheckedContinuation<String?, Never>) in
            let ready: String?? = lock.withLock {
                if head < ids.count {
                    let id = ids[head]
                    head += 1
                    if head > 1024 && head * 2 > ids.count {
                        ids.removeFirst(head)
                        head = 0
                    }
                    queued.remove(id)
                    return .some(id)
                }
                if closed { return .some(nil) }
                waiter = c
                return .none
            }
            if let ready { c.resume(returning: ready) }
        }
    }

    public func close() {
        let w: CheckedContinuation<String?, Never>? = lock.withLock {
            closed = true
            defer { waiter = nil }
            return waiter
        }
        w?.resume(returning: nil)
    }
}
