import Foundation

/// Where saved ids end up. The Fetcher always saves an id into its work folder first (video,
/// previews, sidecar, one folder fsync); a destination then takes them from there. The Fetcher
/// calls these five and never asks which destination it has: a new backend (GCS, Azure Blob)
/// is a type here that conforms, and a line in the command that builds it from `-o`.
public protocol Destination: Sendable, CustomStringConvertible {
    /// How people see the place (in messages too): the folder, or `s3://bucket/prefix/`.
    var description: String { get }
    /// Where a stored file of an id is, as people and scripts see it: `DIR/name`, or
    /// `s3://bucket/prefix/name`.
    func place(of file: String) -> String
    /// The id is already held, on the destination's own proof (not the work folder's): its
    /// video's file name, or nil.
    func storedVideo(_ id: String) async throws -> String?
    /// Claims the id against other workers on the same destination before any work.
    func claim(_ id: String) async throws -> DestinationClaim
    /// The id's files are whole and durable in `directory`: put them in place. `.kept` when
    /// they already are (the work folder is the destination), `.moved` when they went.
    func store(_ id: String, directory: String) async throws -> StoreResult
    /// Gives up a claim this worker holds (stored, or failed here); never another's.
    func release(_ id: String) async
}

public enum DestinationClaim: Sendable, Equatable {
    case ours
    case heldBy(String)
}

public enum StoreResult: Sendable, Equatable {
    /// The files were already where they belong.
    case kept
    /// The files went to the destination and left the work folder.
    case moved
}

/// `-o DIR`: the work folder is the destination. Nothing to claim (the folder's lock keeps a
/// second run out), nothing to move, and what is stored is what the folder holds (which the
/// Fetcher reads itself before any request).
public struct LocalFolder: Destination {
    public let path: String
    public init(path: String) { self.path = path }
    public var description: String { path }
    public func place(of file: String) -> String { (path as NSString).appendingPathComponent(file) }
    public func storedVideo(_ id: String) async throws -> String? { nil }
    public func claim(_ id: String) async throws -> DestinationClaim { .ours }
    public func store(_ id: String, directory: String) async throws -> StoreResult { .kept }
    public func release(_ id: String) async {}
}
