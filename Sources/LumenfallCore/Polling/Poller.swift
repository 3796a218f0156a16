import Foundation

/// Polling's driver, beside `PollMachine` as `Downloader` sits beside `DownloadMachine`: one
/// request per turn, the machine's action after it.
extension Fetcher {
    /// Polls until the job completes, per PollMachine's decisions.
    func pollUntilCompleted(_ id: String) async throws -> VideoObject {
        var machine = PollMachine(policy: config.poll)
        let start = Date()
        var lastShown: (String, Int?)?
        while true {
            let event: PollEvent
            var video: VideoObject?
            do {
                let v = try await config.api.retrieve(id)
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
