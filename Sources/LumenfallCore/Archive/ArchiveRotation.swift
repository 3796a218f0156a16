import Foundation

/// `watch --archive-every P --archive-dir D`: the saved ids of each whole period (UTC-aligned:
/// a day runs 00:00–24:00 UTC) go into `D/<period>.tar.zst` by the `archive` rules, once the
/// period is over. An id belongs to the period its video was downloaded in (the sidecar's
/// `download.downloaded_at`). A period whose archive exists is not written again; with
/// `removeAfterArchive` the originals go once their archive is written and verified.
package struct ArchiveRotation: Sendable {
    package var folder: String
    package var archiveDirectory: String
    package var period: TimeInterval
    package var removeAfterArchive: Bool
    /// The archive's name suffix (the compression): `.tar.zst`.
    package var suffix = ".tar.zst"

    package init(folder: String, archiveDirectory: String, period: TimeInterval, removeAfterArchive: Bool) {
        self.folder = folder
        self.archiveDirectory = archiveDirectory
        self.period = max(60, period)
        self.removeAfterArchive = removeAfterArchive
    }

    package func periodStart(_ t: Date) -> Date {
        Date(timeIntervalSince1970: (t.timeIntervalSince1970 / period).rounded(.down) * period)
    }

    /// `2026-11-25` for whole days, else `2026-11-25T13-00` (no colons in file names).
    package func name(_ start: Date) -> String {
        let s = utcString(start)  // 2026-11-25T13:00:00Z
        if period.truncatingRemainder(dividingBy: 86_400) == 0 { return String(s.prefix(10)) }
        return String(s.prefix(16)).replacingOccurrences(of: ":", with: "-")
    }

    /// When the next period ends (the next time to look).
    package func nextBoundary(after now: Date) -> Date { periodStart(now).addingTimeInterval(period) }

    package struct Written: Sendable {
        package var path: String
        package var videos: Int
    }

    /// Archives every finished period that has saved ids and no archive yet.
    package func run(now: Date = Date()) throws -> [Written] {
        let current = periodStart(now)
        var groups: [Date: [ArchiveItem]] = [:]
        for item in try ArchiveItem.scan(directory: folder).items {
            guard let facts = Sidecar.read(item.sidecar)?.download,
                let at = DateFormats.shared.parseISO(facts.downloadedAt)
            else { continue }
            let start = periodStart(at)
            guard start < current else { continue }  // still going on
            groups[start, default: []].append(item)
        }
        var written: [Written] = []
        for (start, items) in groups.sorted(by: { $0.key < $1.key }) {
            let path = "\(archiveDirectory)/\(name(start))\(suffix)"
            guard AtomicFile.size(of: path) == nil, !AtomicFile.isSymlink(path) else { continue }
            try Archiver(directory: folder, path: path, verify: removeAfterArchive).write(items)
            if removeAfterArchive { Archiver.removeLoose(items, directory: folder) }
            written.append(Written(path: path, videos: items.count))
        }
        return written
    }
}
