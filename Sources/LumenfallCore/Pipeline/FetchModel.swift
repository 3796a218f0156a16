import Foundation

public struct FetchFailure: Error, Sendable, Equatable {
    public enum Kind: String, Sendable {
        case invalidID, generationFailed, cancelled, unknownStatus, refused, authentication
        case expired, timedOut, gaveUp, download, disk, stopped
        /// The API could not be reached for longer than the run waits (`APIHealthPolicy`):
        /// the whole run stops.
        case apiUnreachable
        /// The destination refused or failed to take the saved files (they stay in the work folder).
        case storage
    }
    public var kind: Kind
    public var message: String
}

public enum IDOutcome: Sendable, Equatable {
    case saved(file: String, bytes: Int64, sha256: String)
    case alreadySaved(file: String)
    /// `-o s3://`: another worker holds the id's claim; it is left to that worker.
    case elsewhere(holder: String)
    case failed(FetchFailure)

    public var succeeded: Bool {
        if case .failed = self { return false }
        return true
    }
}

public enum FetchEvent: Sendable {
    /// The id entered the run (it has a place in the window and a poll slot).
    case queued(id: String)
    /// Every id has been read from the input (arguments, id files, the listing): the run holds
    /// `ids` in all, so a display can say "of N" and not "of N so far".
    case inputEnded(ids: Int)
    case alreadySaved(id: String, file: String)
    /// Another worker claimed this id (`-o s3://` with several workers): skipped here.
    case claimedElsewhere(id: String, holder: String)
    case status(id: String, status: VideoStatus, progress: Double?)
    case pollRetry(id: String, reason: String, delay: Double)
    /// The API cannot be reached (sent once when it goes down): every id waits for it, up to
    /// `waitingUpTo` seconds (nil: for ever).
    case apiUnreachable(reason: String, waitingUpTo: Double?)
    /// The API answers again after being unreachable this long.
    case apiReachable(afterSeconds: Double)
    case download(id: String, DownloadEvent)
    case saved(id: String, file: String, bytes: Int64, sha256: String, cost: Double?, currency: String?)
    /// A preview (`--with`) was saved beside the video (reported before the id's `saved`).
    case assetSaved(id: String, name: String, file: String, bytes: Int64)
    /// The server does not offer this preview: noted in the sidecar, not a failure.
    case assetUnavailable(id: String, name: String, reason: String)
    /// The completed video's link dies at this time (for a live display's countdown). Sent once
    /// the id waits in the download queue, so an observer knows the queue's order is set.
    case linkExpiry(id: String, expiresAt: Date)
    /// At the speed seen so far, the rest of this file needs longer than its link lives.
    case expiryAtRisk(id: String, expiresAt: Date, remainingBytes: Int64, neededSeconds: Double)
    case failed(id: String, FetchFailure)
}

extension FetchEvent {
    /// The event with the key taken out of every text a server could have put into it.
    func redacted(by key: APIKey) -> FetchEvent {
        let r: (String) -> String = { key.redact($0) }
        switch self {
        case .claimedElsewhere(let id, let holder): return .claimedElsewhere(id: id, holder: r(holder))
        case .pollRetry(let id, let reason, let delay): return .pollRetry(id: id, reason: r(reason), delay: delay)
        case .apiUnreachable(let reason, let upTo): return .apiUnreachable(reason: r(reason), waitingUpTo: upTo)
        case .assetUnavailable(let id, let name, let reason): return .assetUnavailable(id: id, name: name, reason: r(reason))
        case .failed(let id, let f): return .failed(id: id, FetchFailure(kind: f.kind, message: r(f.message)))
        case .download(let id, let e):
            switch e {
            case .retrying(let reason, let delay, let kept):
                return .download(id: id, .retrying(reason: r(reason), delay: delay, kept: kept))
            case .restarting(let reason): return .download(id: id, .restarting(reason: r(reason)))
            case .stateSetAside(let file, let reason): return .download(id: id, .stateSetAside(file: file, reason: r(reason)))
            case .started(let host, let offset, let total): return .download(id: id, .started(host: r(host), offset: offset, total: total))
            case .refreshingURL, .receiving, .segmented, .progress: return self
            }
        case .queued, .inputEnded, .alreadySaved, .status, .apiReachable, .saved, .assetSaved, .linkExpiry, .expiryAtRisk:
            return self
        }
    }
}

public struct FetchReport: Sendable {
    /// Every id's outcome, in the order the ids came; empty unless `keepOutcomes`.
    public var outcomes: [(id: String, outcome: IDOutcome)]
    /// The batch's numbers, always kept, in constant memory.
    public var tally: BatchTally
    /// Set when the API rejected the key: the run stopped at once.
    public var authenticationFailure: String?
    /// Set when the API could not be reached for longer than the run waits: the run stopped.
    public var apiUnreachable: String?
    /// An id source (the listing, an id file) failed part-way: the ids it gave were fetched,
    /// the rest not.
    public var sourceFailure: Error?
    public var allSucceeded: Bool {
        tally.failed == 0 && tally.expired == 0 && tally.interrupted == 0 && authenticationFailure == nil && apiUnreachable == nil
            && sourceFailure == nil
    }
}

public struct FetchConfiguration: Sendable {
    public var outputDirectory: String
    public var api: APIClient
    public var poll = PollPolicy()
    /// How long the run waits for an API that cannot be reached.
    public var apiHealth = APIHealthPolicy()
    /// `--name`: the template the files of a newly fetched id are named by (nil: by its id).
    public var naming: NameTemplate?
    /// The folder's name index: how files named by `--name` are found again by their id (nil:
    /// every file is named by its id).
    package var names: NameIndex?
    public var download = DownloadSettings()
    /// How many downloads run at once; they start earliest `expires_at` first.
    public var jobs = 4
    /// How many ids are polled at once, apart from the downloads.
    public var pollJobs = 8
    /// How many ids may be in flight (polling, waiting for a slot, downloading) at once; the
    /// source is read no further ahead. Earliest-expiry-first holds within this window.
    public var window = 1000
    /// Keep every id's outcome in the report (tests, small batches); off, the report holds the
    /// tally only and memory does not grow with the batch.
    public var keepOutcomes = true
    /// Keep the saved ids (for `--archive`, which bundles them after the batch): one string per
    /// saved id.
    public var keepSavedIDs = true
    /// How many recent ids are remembered to drop repeats; older repeats of a saved id count
    /// as already saved again, of a failed one are tried again. 0: none are remembered.
    public var dedupLimit = 100_000
    /// `--with`: previews saved beside each video (`thumbnail`, `spritesheet`), in this order.
    public var previews: [String] = []
    /// Where saved ids end up: the work folder itself (`LocalFolder`, the default), or a store
    /// each id goes up to from `outputDirectory` (`S3Destination`).
    public var destination: any Destination
    package var random: @Sendable () -> Double = { Double.random(in: 0..<1) }

    public init(outputDirectory: String, api: APIClient) {
        self.outputDirectory = outputDirectory
        self.api = api
        destination = LocalFolder(path: outputDirectory)
    }
}

extension FetchReport {
    /// The batch's numbers, and the saved ids on disk as archive items (read again from their
    /// sidecars, only when `keepSavedIDs` kept their ids).
    package func summary(directory: String, elapsedSeconds: Double) -> (BatchSummary, [ArchiveItem]) {
        let items = (tally.savedIDs ?? []).compactMap { try? ArchiveItem.load(directory: directory, id: $0) }
        return (tally.summary(elapsedSeconds: elapsedSeconds), items)
    }
}
