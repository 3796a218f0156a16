/// Why an attempt at the media did not finish the file, as a value: what `ResumeDecision` and
/// `DownloadMachine` decide with and tests assert on. The sentence a person reads is made in
/// one place (`sentence`, in Pipeline/FailureWording.swift).
package indirect enum AttemptReason: Equatable, Sendable {
    /// A 200 to a request for the rest: the whole file came, so the `.part` starts over.
    case wholeFileInsteadOfRest
    /// A segment's range was answered with the whole file: the download goes on in one piece.
    case rangeAnsweredWhole
    /// The `.part`'s record of which ranges it holds is unreadable.
    case rangeRecordDamaged
    /// A 206 whose Content-Range is missing or unreadable.
    case noContentRange
    case etagChanged(from: String, to: String)
    case sizeChanged(from: Int64, to: Int64)
    /// The 206 starts elsewhere than where the `.part` ends.
    case resumedElsewhere(at: Int64, partEnds: Int64)
    case partLongerThanServer(part: Int64, server: Int64)
    /// A 416 (or, for a segment, any refusal of its range) at this byte.
    case rangeRefused(at: Int64, status: Int?)
    /// A status worth another try (408, 425, 429, 5xx).
    case status(Int)
    /// A status no retry changes.
    case unexpectedStatus(Int)
    /// libcurl's failure (reset, timeout, stall), in its words.
    case transport(String)
    case noAnswer(host: String)
    case closedEarly(at: Int64, of: Int64)
    case longerThanAnnounced(Int64)
    /// One segment's reason, with the bytes it covers (`last` inclusive).
    case segment(first: Int64, last: Int64, AttemptReason)
}
