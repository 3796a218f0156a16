/// Which fault a request gets: each job's own faults (bounded counts, so a correct client
/// always gets there) and the server-wide chaos rates, rolled from a seeded stream so a soak
/// run can be repeated. A value: the store holds it and calls it under its lock, so the counts
/// and the job's counters move together.
struct FaultPlan {
    let chaos: SandboxChaos?
    /// `--throttle`: every media answer, each connection on its own, at most this many bytes/s.
    let throttle: Int?
    private var rng: UInt64
    private(set) var injected = 0

    init(chaos: SandboxChaos?, throttle: Int?) {
        self.chaos = chaos
        self.throttle = throttle
        rng = chaos?.seed ?? 1
    }

    /// SplitMix64: a seeded, repeatable stream for chaos decisions.
    private mutating func random() -> Double {
        rng &+= 0x9E37_79B9_7F4A_7C15
        var z = rng
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) / Double(1 << 53)
    }

    private mutating func roll(_ rate: Double?) -> Bool {
        guard let rate, rate > 0, random() < rate else { return false }
        injected += 1
        return true
    }

    private mutating func pick<T>(_ choices: [T]) -> T { choices[Int(random() * Double(choices.count)) % choices.count] }

    /// A poll's fault: chaos first, then the job's scripted `apiErrors` in order.
    mutating func apiFault(_ job: inout SandboxJob) -> SandboxResponse? {
        if roll(chaos?.apiError) {
            let status = pick([429, 500, 502, 503])
            return .apiError(
                status, status == 429 ? "RATE_LIMITED" : "UPSTREAM_ERROR", "sandbox chaos \(status)",
                extra: [("Retry-After", "0")])
        }
        guard job.apiFaultsUsed < job.spec.faults.apiErrors.count else { return nil }
        let f = job.spec.faults.apiErrors[job.apiFaultsUsed]
        job.apiFaultsUsed += 1
        var headers: [(String, String)] = []
        if let ra = f.retryAfter { headers.append(("Retry-After", ra)) }
        if f.html {
            headers.append(("Content-Type", "text/html"))
            return .full(
                status: f.status, headers: headers,
                body: Array("<html><body><h1>\(f.status) Bad Gateway</h1>nginx</body></html>".utf8))
        }
        let code = f.status == 429 ? "RATE_LIMITED" : f.status == 502 ? "ALL_PROVIDERS_EXHAUSTED" : "UPSTREAM_ERROR"
        return .apiError(f.status, f.code ?? code, f.message ?? "sandbox fault \(f.status)", extra: headers)
    }

    /// A media request refused before any byte: an expired URL or a 4xx/5xx. Also moves the
    /// job's content on when its script says the bytes change.
    mutating func mediaRefusal(_ job: inout SandboxJob) -> SandboxResponse? {
        let f = job.spec.faults
        if roll(chaos?.expireURL) {
            job.urlGeneration += 1
            return .expired
        }
        if roll(chaos?.serverError) {
            let code = pick([429, 500, 503])
            return .full(
                status: code, headers: [("Content-Type", "text/plain"), ("Retry-After", "0")],
                body: Array("sandbox chaos \(code)\n".utf8))
        }
        if let n = f.expireURLAfterRequests, !job.urlExpiryDone, job.mediaRequests > n {
            job.urlExpiryDone = true
            job.urlGeneration += 1
            return .expired
        }
        if let code = f.mediaErrorStatus, job.mediaErrorsSent < f.mediaErrorTimes {
            job.mediaErrorsSent += 1
            var h: [(String, String)] = [("Content-Type", "text/plain")]
            if let ra = f.retryAfter { h.append(("Retry-After", ra)) }
            return .full(status: code, headers: h, body: Array("sandbox fault \(code)\n".utf8))
        }
        if let n = f.changeContentAfterRequests, job.mediaRequests > n { job.contentVersion = 1 }
        return nil
    }

    /// Whether this answer ignores the Range it was asked for (a 200 with the whole body).
    mutating func ignoresRange(_ job: SandboxJob) -> Bool {
        job.spec.faults.ignoreRange || roll(chaos?.ignoreRange)
    }

    /// What goes wrong while `length` bytes of a media answer stream.
    mutating func streamFaults(_ job: inout SandboxJob, length: Int) -> StreamFaults {
        let f = job.spec.faults
        var faults = StreamFaults(stallSeconds: f.stallSeconds)
        if let t = f.throttleBytesPerSecond, f.throttleTimes.map({ job.throttlesDone < $0 }) ?? true {
            job.throttlesDone += 1
            faults.throttleBytesPerSecond = t
        } else if f.throttleBytesPerSecond == nil {
            faults.throttleBytesPerSecond = throttle
        }
        if let d = f.dropAfterBytes, job.dropsDone < f.dropTimes {
            job.dropsDone += 1
            faults.dropAfter = d
        }
        if let s = f.stallAfterBytes, job.stallsDone < f.stallTimes {
            job.stallsDone += 1
            faults.stallAfter = s
        }
        if let d = f.dripBytesPerSecond, job.dripsDone < f.dripTimes {
            job.dripsDone += 1
            faults.dripBytesPerSecond = max(1, d)
        }
        if let c = chaos, length > 0 {
            if roll(c.drop) { faults.dropAfter = Int(random() * Double(length)) }
            if roll(c.stall) {
                faults.stallAfter = Int(random() * Double(length))
                faults.stallSeconds = c.stallSeconds
            }
        }
        return faults
    }

    /// Where a preview answer of `count` bytes is cut short, if it is.
    mutating func previewCut(_ job: inout SandboxJob, count: Int) -> Int? {
        let f = job.spec.faults
        guard let n = f.previewDropAfterBytes, job.previewDropsDone < f.previewDropTimes, n < count else { return nil }
        job.previewDropsDone += 1
        injected += 1
        return n
    }
}
