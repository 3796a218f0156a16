import Dispatch
import Foundation
import LumenfallCore
import Synchronization

/// SIGINT/SIGTERM, for every command: the first signal calls `onSignal` once (later ones are
/// ignored). A one-shot command passes `exitAfter` so a hang cannot outlive the promise to stop
/// within 2 s; `watch` passes nil and decides itself when to exit.
final class SignalTrap: Sendable {
    /// An exit that skips deinitializers, from a handler: the folder's lock file goes first.
    static func exitNow(_ code: Int32) -> Never {
        DirectoryLock.removeHeldFiles()
        exit(code)
    }

    private struct State {
        var sources: [DispatchSourceSignal] = []
        var signal: Int32?
    }
    private let state = Mutex(State())

    var caught: Int32? { state.withLock { $0.signal } }

    func install(exitAfter: TimeInterval? = 1.8, onSignal: @escaping @Sendable (Int32) -> Void) {
        for sig in [SIGINT, SIGTERM] {
            Foundation.signal(sig, SIG_IGN)  // the dispatch source gets it instead
            // Made inside the lock so the source goes straight into its keeping.
            state.withLock { s in
                let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                src.setEventHandler { [self] in
                    let first = state.withLock { s in
                        defer { if s.signal == nil { s.signal = sig } }
                        return s.signal == nil
                    }
                    guard first else { return }
                    onSignal(sig)
                    if let exitAfter {
                        DispatchQueue.global().asyncAfter(deadline: .now() + exitAfter) {
                            Self.exitNow(Exit.forSignal(sig))
                        }
                    }
                }
                src.resume()
                s.sources.append(src)
            }
        }
    }
}
