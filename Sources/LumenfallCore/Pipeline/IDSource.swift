import Crypto
import Foundation

/// Where a run's ids come from, pulled one at a time so the source is read only as fast as
/// the work goes: an array, an id file, a listing that pages through the API.
///
/// A source is an async iterator owned by the task that runs the loop: pulled one call at a
/// time and never shared, so it need not be Sendable; its counters are read after the run.
public protocol IDSource: AnyObject {
    /// The next id, or nil when there are no more. An APIError ends the source (the run
    /// fetches what it already has and reports the error).
    func next() async throws -> String?
    /// What the source learnt of the id `next` just gave, if anything: the video object a
    /// listing returned with it. A completed one spares the id its first poll.
    var lastVideo: VideoObject? { get }
}

extension IDSource {
    public var lastVideo: VideoObject? { nil }
}

public final class ArrayIDSource: IDSource {
    private var ids: [String]
    private var index = 0
    public init(_ ids: [String]) { self.ids = ids }
    public func next() async throws -> String? {
        guard index < ids.count else { return nil }
        defer { index += 1 }
        return ids[index]
    }
}

/// `--all`: pages through `GET /videos` as ids are needed, skipping what `keep` refuses, and
/// stopping after `maxItems` ids.
package final class ListingIDSource: IDSource {
    private var cursor: ListCursor
    private let keep: @Sendable (VideoObject) -> Bool
    private let maxItems: Int?
    private var page: [VideoObject] = []
    private var index = 0
    package private(set) var lastVideo: VideoObject?
    package private(set) var taken = 0
    package private(set) var skipped = 0

    package init(cursor: ListCursor, maxItems: Int?, keep: @escaping @Sendable (VideoObject) -> Bool) {
        self.cursor = cursor
        self.maxItems = maxItems
        self.keep = keep
    }

    package func next() async throws -> String? {
        while true {
            if let maxItems, taken >= maxItems { return nil }
            if index < page.count {
                let v = page[index]
                index += 1
                guard keep(v) else {
                    skipped += 1
                    continue
                }
                taken += 1
                lastVideo = v
                return v.id
            }
            lastVideo = nil
            guard let p = try await cursor.nextPage() else { return nil }
            page = p
            index = 0
        }
    }
}

/// Several sources one after the other: the ids given on the command line, then the listing.
public final class ChainedIDSource: IDSource {
    private var sources: [IDSource]
    public init(_ sources: [IDSource]) { self.sources = sources }
    public func next() async throws -> String? {
        while let first = sources.first {
            if let id = try await first.next() { return id }
            sources.removeFirst()
        }
        return nil
    }
    public var lastVideo: VideoObject? { sources.first?.lastVideo }
}

/// Ids from a file or stdin, one a line (blank lines and `#` comments skipped), read 64 KiB at
/// a time as the run needs them: a million-line file is never held whole.
public final class LineIDSource: IDSource {
    public let name: String
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var pending: [String] = []
    private var index = 0
    private var eof = false
    public private(set) var yielded = 0

    /// `path` "-" reads stdin. Throws when the file cannot be opened.
    public init(path: String) throws {
        name = path == "-" ? "stdin" : path
        if path == "-" {
            handle = FileHandle.standardInput
        } else {
            guard let h = FileHandle(forReadingAtPath: path) else {
                throw AtomicFile.Failure(description: "cannot read the id list \(path); check the path")
            }
            handle = h
        }
    }

    /// The read runs on a dispatch queue: stdin fed by a slow producer must not hold one of
    /// the cooperative pool's few threads while it waits.
    private func readChunk() async throws -> Data {
        let handle = self.handle
        return try await withCheckedThrowingContinuation { c in
            DispatchQueue.global().async {
                do {
                    c.resume(returning: try handle.read(upToCount: 64 * 1024) ?? Data())
                } catch {
                    c.resume(throwing: error)
                }
            }
        }
    }

    public func next() async throws -> String? {
        while index >= pending.count {
            guard !eof else { return nil }
            pending.removeAll(keepingCapacity: true)
            index = 0
            let chunk = try await readChunk()
            if chunk.isEmpty {
                eof = true
                if !buffer.isEmpty { pending += VideoID.parseList(String(decoding: buffer, as: UTF8.self)) }
                buffer.removeAll()
            } else {
                buffer += chunk
                // Whole lines only; the tail waits for the next chunk.
                guard let lastNewline = buffer.lastIndex(of: UInt8(ascii: "\n")) else {
                    // A "line" of a megabyte is no id; it is let through (and refused as an
                    // invalid id) rather than buffered without end.
                    if buffer.count > 1 << 20 {
                        pending.append(String(decoding: buffer.prefix(200), as: UTF8.self))
                        buffer.removeAll()
                    }
                    continue
                }
                pending += VideoID.parseList(String(decoding: buffer[...lastNewline], as: UTF8.self))
                buffer.removeSubrange(...lastNewline)
            }
        }
        yielded += 1
        defer { index += 1 }
        return pending[index]
    }
}

/// `--shard K/N`: only the ids whose SHA-256 falls in shard K of N (the first 8 bytes of the
/// digest, modulo N, equal K-1), so N machines split one backlog without talking to each other;
/// the same id lands in the same shard on every machine and every run.
package final class ShardIDSource: IDSource {
    private let inner: IDSource
    package let index: Int
    package let count: Int
    package private(set) var skipped = 0

    /// `index` counts from 1.
    package init(_ inner: IDSource, index: Int, count: Int) {
        self.inner = inner
        self.index = index
        self.count = count
    }

    package static func shard(of id: String, count: Int) -> Int {
        let digest = SHA256.hash(data: Data(id.utf8))
        let n = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Int(n % UInt64(max(1, count))) + 1
    }

    package func next() async throws -> String? {
        while let id = try await inner.next() {
            if Self.shard(of: id, count: count) == index { return id }
            skipped += 1
        }
        return nil
    }
    package var lastVideo: VideoObject? { inner.lastVideo }
}

/// `--partials`: the ids of the partial downloads (`<stem>.<ext>.part`) an earlier run left in
/// a folder, read with one pass over the folder's names (a name is all that is trusted: it must
/// make a valid id, or be a stem the name index gives an id, and the `.part` is checked again
/// when its id is fetched). Previews' parts count for their id too; each id comes once.
package final class PartialsIDSource: IDSource {
    private var ids: [String] = []
    private var index = 0
    package private(set) var found = 0

    package init(directory: String, names: NameIndex? = nil) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        let parts = Set(entries.filter { $0.hasSuffix(".part") && !$0.hasPrefix(".") })
        var seen = Set<String>()
        // Named files first: a stem may hold dots, so it is matched whole, not cut at one.
        for (id, stem) in names?.all ?? [] where parts.contains(where: { $0.hasPrefix("\(stem).") }) {
            if seen.insert(id).inserted { ids.append(id) }
        }
        for name in parts.sorted() {
            guard let dot = name.firstIndex(of: ".") else { continue }
            let id = String(name[..<dot])
            guard VideoID.problem(with: id) == nil, names?.stem(for: id) == nil, names?.id(forStem: id) == nil, seen.insert(id).inserted
            else { continue }
            ids.append(id)
        }
        found = ids.count
    }

    package func next() async throws -> String? {
        guard index < ids.count else { return nil }
        defer { index += 1 }
        return ids[index]
    }
}
