import Dispatch

/// Group commit for the output folder's fsync: a rename is durable only once its folder is
/// fsynced, and a batch of small videos used to pay one folder fsync per rename (two per id).
/// `sync()` returns once an fsync that *started after the call* has finished; calls that come
/// while one runs share the next one. The fsync runs on a dispatch queue, off the cooperative
/// pool and off the loop thread.
actor DirectorySync {
    private let syncNow: @Sendable () -> Void
    private var requested = 0
    private var running = false
    private var waiters: [(ticket: Int, c: CheckedContinuation<Void, Never>)] = []
    /// How many fsyncs ran (for tests and logs).
    private(set) var rounds = 0

    init(directory: String) {
        self.init { AtomicFile.syncDirectory(of: "\(directory)/x") }
    }

    init(sync: @escaping @Sendable () -> Void) { syncNow = sync }

    func sync() async {
        requested += 1
        let ticket = requested
        await withCheckedContinuation { c in
            waiters.append((ticket, c))
            if !running { startRound() }
        }
    }

    private func startRound() {
        running = true
        rounds += 1
        // Every call so far made its renames before calling: this fsync covers them all.
        let covers = requested
        let work = syncNow
        DispatchQueue.global().async {
            work()
            Task { await self.finished(covering: covers) }
        }
    }

    private func finished(covering covers: Int) {
        let ready = waiters.filter { $0.ticket <= covers }
        waiters.removeAll { $0.ticket <= covers }
        for w in ready { w.c.resume() }
        if waiters.isEmpty {
            running = false
        } else {
            startRound()
        }
    }
}
