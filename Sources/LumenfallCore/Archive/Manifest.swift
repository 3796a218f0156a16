import Foundation

/// `manifest.json`, the first member of every archive: enough to check the rest in one
/// streaming pass, and the batch's numbers for a person. Keys are sorted and no wall-clock time
/// is in it (only the newest `completed_at`), so the same inputs give the same bytes.
package struct Manifest: Sendable, Equatable, Codable {
    package static let schema = "lumenfall-fetch.manifest/1"
    package static let memberName = "manifest.json"
    package static let sumsName = "SHA256SUMS"

    package struct Entry: Sendable, Equatable, Codable {
        package var id: String
        package var file: String
        package var bytes: Int64
        package var sha256: String
        package var sidecar: String
        package var sidecarBytes: Int64
        package var sidecarSHA256: String
        package var model: String?
        package var cost: Double?
        package var currency: String?
        /// Previews (`--with`): name → file facts. Absent when there are none.
        package var assets: [String: AssetEntry]? = nil

        package struct AssetEntry: Sendable, Equatable, Codable {
            package var file: String
            package var bytes: Int64
            package var sha256: String
        }

        enum CodingKeys: String, CodingKey {
            case id, file, bytes, sha256, sidecar, model, cost, currency, assets
            case sidecarBytes = "sidecar_bytes", sidecarSHA256 = "sidecar_sha256"
        }

        package func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(file, forKey: .file)
            try c.encode(bytes, forKey: .bytes)
            try c.encode(sha256, forKey: .sha256)
            try c.encode(sidecar, forKey: .sidecar)
            try c.encode(sidecarBytes, forKey: .sidecarBytes)
            try c.encode(sidecarSHA256, forKey: .sidecarSHA256)
            // Unknown is null, never absent; a cost that is not finite is unknown.
            try c.encode(model, forKey: .model)
            try c.encode(cost.flatMap { $0.isFinite ? $0 : nil }, forKey: .cost)
            try c.encode(currency, forKey: .currency)
            if let assets, !assets.isEmpty { try c.encode(assets, forKey: .assets) }
        }
    }

    package var part: Int
    package var parts: Int
    package var createdAt: Int64
    package var entries: [Entry]
    /// The part's gallery page (`index.html`), when the archive has one.
    package var gallery: Entry.AssetEntry?
    /// The fetch run's own numbers (`fetch --archive` only); absent for `archive DIR`.
    package var batch: BatchSummary?

    package var totalBytes: Int64 { entries.reduce(0) { $0 + $1.bytes } }

    /// Cost per currency. A cost that is not a finite number is unknown and left out, and a
    /// currency whose sum overflows (two costs of 1e308) is left out too rather than written as
    /// infinity, which JSON cannot hold.
    package static func totalCost(_ pairs: [(Double?, String?)]) -> [String: Double] {
        var out: [String: Double] = [:]
        for (c, cur) in pairs {
            guard let c, c.isFinite, let cur else { continue }
            out[cur, default: 0] += c
        }
        return finiteTotals(out)
    }

    /// Sums per currency as shown and stored: rounded to a millionth, and a currency whose sum
    /// overflowed to infinity left out (JSON cannot hold it; its costs count as unknown).
    static func finiteTotals(_ sums: [String: Double]) -> [String: Double] {
        sums.filter { $0.value.isFinite }.mapValues { ($0 * 1_000_000).rounded() / 1_000_000 }.filter { $0.value.isFinite }
    }

    /// `sha256  name` lines, as `sha256sum -c` reads them, for every member but these two.
    package func sums() -> [UInt8] {
        var lines: [(String, String)] = []
        for e in entries {
            lines.append((e.file, e.sha256))
            lines.append((e.sidecar, e.sidecarSHA256))
            for a in (e.assets ?? [:]).values { lines.append((a.file, a.sha256)) }
        }
        if let g = gallery { lines.append((g.file, g.sha256)) }
        return Array(lines.sorted { $0.0 < $1.0 }.map { "\($0.1)  \($0.0)\n" }.joined().utf8)
    }

    package struct Unwritable: Error, CustomStringConvertible {
        package var description: String
    }

    enum CodingKeys: String, CodingKey {
        case schema, tool, part, parts, count, videos, batch, gallery
        case toolVersion = "tool_version", createdAt = "created_at", totalBytes = "total_bytes", totalCost = "total_cost"
    }

    package func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.schema, forKey: .schema)
        try c.encode("lumenfall-fetch", forKey: .tool)
        try c.encode(lumenfallFetchVersion, forKey: .toolVersion)
        try c.encode(utcString(Date(timeIntervalSince1970: TimeInterval(createdAt))), forKey: .createdAt)
        try c.encode(part, forKey: .part)
        try c.encode(parts, forKey: .parts)
        try c.encode(entries.count, forKey: .count)
        try c.encode(totalBytes, forKey: .totalBytes)
        try c.encode(Self.totalCost(entries.map { ($0.cost, $0.currency) }), forKey: .totalCost)
        try c.encode(entries, forKey: .videos)
        try c.encodeIfPresent(batch, forKey: .batch)
        try c.encodeIfPresent(gallery, forKey: .gallery)
    }

    /// Reads what `encode` wrote. Only the fields `verify` needs must be there and right; the
    /// schema must be ours.
    package init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        guard try c.decode(String.self, forKey: .schema) == Self.schema else {
            throw DecodingError.dataCorruptedError(forKey: .schema, in: c, debugDescription: "not \(Self.schema)")
        }
        part = try c.decodeIfPresent(Int.self, forKey: .part) ?? 1
        parts = try c.decodeIfPresent(Int.self, forKey: .parts) ?? 1
        let created = try c.decodeIfPresent(String.self, forKey: .createdAt).flatMap { DateFormats.shared.parseISO($0) }
        createdAt = created.map { Int64($0.timeIntervalSince1970) } ?? 0
        entries = try c.decode([Entry].self, forKey: .videos)
        batch = try c.decodeIfPresent(BatchSummary.self, forKey: .batch)
        gallery = try c.decodeIfPresent(Entry.AssetEntry.self, forKey: .gallery)
    }

    package init(part: Int, parts: Int, createdAt: Int64, entries: [Entry], batch: BatchSummary?) {
        self.part = part
        self.parts = parts
        self.createdAt = createdAt
        self.entries = entries
        self.batch = batch
    }

    /// The manifest's bytes. Throws rather than write something `verify` would reject (a cost
    /// that is not finite is written as null; anything else JSON cannot hold throws).
    package func json() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let bytes: [UInt8]
        do {
            bytes = Array(try encoder.encode(self)) + [UInt8(ascii: "\n")]
        } catch {
            throw Unwritable(description: "the manifest cannot be written as JSON: \(ErrorText.describe(error))")
        }
        // The archive's own verifier must accept it: checked here, before any member is written.
        guard Self.expectations(fromJSON: bytes) != nil else {
            throw Unwritable(description: "the manifest would not read back")
        }
        return bytes
    }

    /// What a verifier needs back: member name → (bytes, sha256).
    package static func expectations(fromJSON bytes: [UInt8]) -> [String: (Int64, String)]? {
        guard let m = try? JSONDecoder().decode(Manifest.self, from: Data(bytes)) else { return nil }
        var out: [String: (Int64, String)] = [:]
        for e in m.entries {
            out[e.file] = (e.bytes, e.sha256)
            out[e.sidecar] = (e.sidecarBytes, e.sidecarSHA256)
            for a in (e.assets ?? [:]).values { out[a.file] = (a.bytes, a.sha256) }
        }
        if let g = m.gallery { out[g.file] = (g.bytes, g.sha256) }
        return out
    }

    /// Parses SHA256SUMS (`sha  name` or `sha *name`); nil if a line is malformed.
    package static func parseSums(_ bytes: [UInt8]) -> [String: String]? {
        var out: [String: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where !line.isEmpty {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].count == 64 else { return nil }
            var name = String(parts[1])
            if name.hasPrefix(" ") || name.hasPrefix("*") { name.removeFirst() }
            out[name] = String(parts[0])
        }
        return out
    }
}
