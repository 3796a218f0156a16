import Foundation

/// `manifest.json`, the first member of every archive: enough to check the rest in one
/// streaming pass, and the batch's numbers for a person. Keys are sorted and no wall-clock time
/// is in it (only the newest `completed_at`), so the same inputs give the same bytes.
public struct Manifest: Sendable, Equatable {
    public static let schema = "lumenfall-fetch.manifest/1"
    public static let memberName = "manifest.json"
    public static let sumsName = "SHA256SUMS"

    public struct Entry: Sendable, Equatable {
        public var id: String
        public var file: String
        public var bytes: Int64
        public var sha256: String
        public var sidecar: String
        public var sidecarBytes: Int64
        public var sidecarSHA256: String
        public var model: String?
        public var cost: Double?
        public var currency: String?
    }

    public var part: Int
    public var parts: Int
    public var createdAt: Int64
    public var entries: [Entry]
    /// The fetch run's own numbers (`fetch --archive` only); absent for `archive DIR`.
    public var batch: BatchSummary?

    public var totalBytes: Int64 { entries.reduce(0) { $0 + $1.bytes } }

    /// Cost per currency. A cost that is not a finite number is unknown and left out, and a
    /// currency whose sum overflows (two costs of 1e308) is left out too rather than written as
    /// infinity, which JSON cannot hold.
    public static func totalCost(_ pairs: [(Double?, String?)]) -> [String: Double] {
        var out: [String: Double] = [:]
        for (c, cur) in pairs {
            guard let c, c.isFinite, let cur else { continue }
            out[cur, default: 0] += c
        }
        return out.filter { $0.value.isFinite }.mapValues { ($0 * 1_000_000).rounded() / 1_000_000 }
            .filter { $0.value.isFinite }
    }

    /// How many of `pairs` have no usable cost (missing, not finite, or lost to an overflowing
    /// sum): said beside every total, so "USD 0.84" never hides unknown costs.
    public static func unknownCostCount(_ pairs: [(Double?, String?)]) -> Int {
        let totals = totalCost(pairs)
        return pairs.filter { c, cur in
            guard let c, c.isFinite, let cur else { return true }
            return totals[cur] == nil
        }.count
    }

    /// `sha256  name` lines, as `sha256sum -c` reads them, for every member but these two.
    public func sums() -> [UInt8] {
        var lines: [(String, String)] = []
        for e in entries {
            lines.append((e.file, e.sha256))
            lines.append((e.sidecar, e.sidecarSHA256))
        }
        return Array(lines.sorted { $0.0 < $1.0 }.map { "\($0.1)  \($0.0)\n" }.joined().utf8)
    }

    public struct Unwritable: Error, CustomStringConvertible {
        public var description: String
    }

    /// The manifest's bytes. Throws rather than write something `verify` would reject.
    public func json() throws -> [UInt8] {
        var obj: [String: Any] = [
            "schema": Self.schema,
            "tool": "lumenfall-fetch",
            "tool_version": lumenfallFetchVersion,
            "created_at": utcString(Date(timeIntervalSince1970: TimeInterval(createdAt))),
            "part": part,
            "parts": parts,
            "count": entries.count,
            "total_bytes": totalBytes,
            "total_cost": Self.totalCost(entries.map { ($0.cost, $0.currency) }),
            "videos": entries.map { e -> [String: Any] in
                [
                    "id": e.id, "file": e.file, "bytes": e.bytes, "sha256": e.sha256,
                    "sidecar": e.sidecar, "sidecar_bytes": e.sidecarBytes, "sidecar_sha256": e.sidecarSHA256,
                    "model": e.model ?? NSNull(), "cost": e.cost.flatMap { $0.isFinite ? $0 : nil } ?? NSNull(),
                    "currency": e.currency ?? NSNull(),
                ]
            },
        ]
        if let b = batch { obj["batch"] = b.json() }
        guard JSONSerialization.isValidJSONObject(obj),
              let data = try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]) else {
            throw Unwritable(description: "the manifest cannot be written as JSON (a number that is not finite?)")
        }
        let bytes = Array(data) + [UInt8(ascii: "\n")]
        // The archive's own verifier must accept it: checked here, before any member is written.
        guard Self.expectations(fromJSON: bytes) != nil else {
            throw Unwritable(description: "the manifest would not read back")
        }
        return bytes
    }

    /// What a verifier needs back: member name → (bytes, sha256).
    public static func expectations(fromJSON bytes: [UInt8]) -> [String: (Int64, String)]? {
        guard let obj = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any],
              obj["schema"] as? String == schema, let videos = obj["videos"] as? [[String: Any]] else { return nil }
        var out: [String: (Int64, String)] = [:]
        for v in videos {
            guard let f = v["file"] as? String, let b = Checked.int64(v["bytes"]), let s = v["sha256"] as? String,
                  let sf = v["sidecar"] as? String, let sb = Checked.int64(v["sidecar_bytes"]),
                  let ss = v["sidecar_sha256"] as? String else { return nil }
            out[f] = (b, s)
            out[sf] = (sb, ss)
        }
        return out
    }

    /// Parses SHA256SUMS (`sha  name` or `sha *name`); nil if a line is malformed.
    public static func parseSums(_ bytes: [UInt8]) -> [String: String]? {
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
