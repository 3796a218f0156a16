import Foundation

/// Polling's driver, beside `PollMachine` as `Downloader` sits beside `DownloadMachine`: one
/// request per turn, the machine's action after it.
extension Fetcher {
    /// Polls until the job completes, per PollMachine's decisions. An API that cannot be
    /// reached is the run's concern, not the id's: `health` holds every poller until it answers
    /// again (or says the run is over), and those failures count against no id's retries.
    /// `known`: the id's object as a listing returned it a moment ago; when the machine would
    /// download on it (completed, a link to fetch), no request is made. Otherwise the id is
    /// polled as any other: a listing's word is not taken for a failure.
    func pollUntilCompleted(_ id: String, health: APIHealth, known: VideoObject? = nil) async throws -> VideoObject {
        if let known, known.id == id {
            var first = PollMachine(policy: config.poll)
            if case .download = first.next(.video(known), elapsed: 0, random: config.random()) {
                emit(.status(id: id, status: known.status, progress: known.progress))
                return known
            }
        }
        var machine = PollMachine(policy: config.poll)
        let start = Date()
        var lastShown: (String, Int?)?
        while true {
            let event: PollEvent
            var video: VideoObject?
            try await health.admitted()
            do {
                let v: VideoObject
                do {
                    v = try await config.api.retrieve(id)
                } catch APIError.unreachable(let reason) {
                    switch health.unreachable(reason, random: config.random()) {
                    case .retry(let announce):
                        if announce { emit(.apiUnreachable(reason: reason, waitingUpTo: health.waitLimit)) }
                        continue
                    case .stop(let outage):
                        throw Self.failure(outage)
                    }
                } catch let e as APIError {
                    if let down = health.answered() { emit(.apiReachable(afterSeconds: down)) }
                    throw e
                }
                if let down = health.answered() { emit(.apiReachable(afterSeconds: down)) }
                video = v
                event = .video(v)
                let shown = (v.status.text, v.progress.map { Int($0) })  // 0...100, checked on decode
                if lastShown.map({ $0 != shown }) ?? true {
                    lastShown = shown
                    emit(.status(id: id, status: v.status, progress: v.progress))
                }
            } catch let e as APIError {
                event = .error(e)
            }
            try Task.checkCancellation()
            let action = machine.next(event, elapsed: Date().timeIntervalSince(start), random: config.random())
            logger.debug("poll", metadata: ["id": "\(id)", "stage": "poll", "event": "\(event.summary)", "action": "\(action)"])
            switch action {
            case .download:
                if let video { return video }
            case .wait(let d):
                if case .error(let e) = event { emit(.pollRetry(id: id, reason: e.summary, delay: d)) }
                try await sleep(seconds: d)
            case .stop(let s):
                throw Self.failure(s)
            }
        }
    }
}

extension PollEvent {
    /// One short phrase for logs (the whole object would drown the line).
    var summary: String {
        switch self {
        case .video(let v): "status \(v.status.text)\(v.progress.map { " \($0)%" } ?? "")"
        case .error(let e): e.summary
        }
    }
}
