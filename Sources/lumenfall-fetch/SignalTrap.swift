import Dispatch
import Foundation

/// SIGINT/SIGTERM: cancel the work (transfers leave the libcurl loop at once, `.part` files
/// stay), and if anything hangs, exit anyway after 2 s: the brief promises a stop within 2 s.
/// `@unchecked Sendable` is sound: `signal` is under `lock`; `sources` is written once, by
/// `install`, before any handler can run.
final class SignalTrap: @unchecked Sendable {
    private let lock = NSLock()
    private var sources: [DispatchSourceSignal] = []
    private var signal: Int32?

    var caught: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return signal
    }

    func install(onSignal: @escaping @Sendable (Int32) -> Void) {
        for sig in [SIGINT, SIGTERM] {
            Foundation.signal(sig, SIG_IGN)  // the dispatch source gets it instead
            let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            src.setEventHandler { [self] in
                lock.lock()
                let first = signal == nil
                if first { signal = sig }
                lock.unlock()
                guard first else { return }
                onSignal(sig)
                DispatchQueue.global().asyncAfter(deadline: .now() + 1.8) {
                    exit(sig == SIGINT ? 130 : 143)
                }
            }
            src.resume()
            sources.append(src)
        }
    }
}
