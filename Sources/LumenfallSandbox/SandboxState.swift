import Foundation
import Synchronization

/// The sandbox's one shared object: the store in a Mutex, and the three steps of a request
/// kept apart. Routing reads only the request (no lock); the store answers from memory under
/// the lock; the effects it leaves (media files, webhook timers) run after, on the caller's
/// thread, which for routes that create jobs is a thread-pool thread, never the event loop.
final class SandboxState: Sendable {
    let apiKey: String
    let offersList: Bool
    let store: Mutex<SandboxStore>

    init(
        apiKey: String, offersList: Bool, listMode: SandboxListMode = .normal, chaos: SandboxChaos? = nil,
        throttle: Int? = nil
    ) {
        self.apiKey = apiKey
        self.offersList = offersList
        store = Mutex(
            SandboxStore(
                apiKey: apiKey, offersList: offersList, listMode: listMode,
                faults: FaultPlan(chaos: chaos, throttle: throttle)))
    }

    func route(_ request: SandboxRequest) -> SandboxRoute {
        SandboxRoute.of(request, apiKey: apiKey, offersList: offersList)
    }

    func handle(_ request: SandboxRequest) -> SandboxResponse { handle(request, route: route(request)) }

    func handle(_ request: SandboxRequest, route: SandboxRoute) -> SandboxResponse {
        let (response, effects) = store.withLock { store in
            let response = store.answer(route, request)
            store.log.append(
                LoggedRequest(
                    method: request.method, path: request.path, range: request.header("Range"),
                    ifRange: request.header("If-Range"), authorization: request.header("Authorization"),
                    status: response.status, httpVersion: request.version, query: request.rawQuery))
            return (response, store.takeEffects())
        }
        perform(effects)
        return response
    }

    /// Adds a job directly (tests and `createJob`); its effects run on the caller's thread.
    func create(_ spec: SandboxJobSpec) -> String {
        let (id, effects) = store.withLock { store in (store.create(spec), store.takeEffects()) }
        perform(effects)
        return id
    }

    private func perform(_ effects: [SandboxEffect]) {
        for effect in effects {
            switch effect {
            case .writeMedia(let content, let path): Self.writeMedia(content, to: path)
            case .scheduleWebhook(let id): scheduleWebhook(for: id)
            }
        }
    }

    /// Writes a job's bytes out for an external media server (best effort: a bench tool).
    private static func writeMedia(_ content: MediaContent, to path: String) {
        guard
            let out = FileHandle(forWritingAtPath: path)
                ?? {
                    _ = FileManager.default.createFile(atPath: path, contents: nil)
                    return FileHandle(forWritingAtPath: path)
                }()
        else { return }
        defer { try? out.close() }
        var at = 0
        while at < content.size {
            let n = min(1 << 20, content.size - at)
            content.withBytes(offset: at, count: n) { out.write(Data($0)) }
            at += n
        }
    }

    func requests() -> [LoggedRequest] { store.withLock { $0.log } }
    func content(for id: String) -> MediaContent? { store.withLock { s in s.jobs[id].map { s.content($0) } } }
    func manifest() -> String { store.withLock { $0.manifest() } }
    func faultCount() -> Int { store.withLock { $0.faults.injected } }
    func connectionAccepted() { store.withLock { $0.connections += 1 } }
    func connectionCount() -> Int { store.withLock { $0.connections } }
    func stallGeneration() -> Int { store.withLock { $0.stallReleases } }
    func releaseStalls() { store.withLock { $0.stallReleases += 1 } }
}

extension SandboxStore {
    mutating func takeEffects() -> [SandboxEffect] {
        defer { effects.removeAll() }
        return effects
    }
}
