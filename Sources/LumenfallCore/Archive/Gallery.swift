import Foundation

/// `index.html`: one static page listing saved videos, newest first, with their thumbnails,
/// prompts, models, sizes, costs and times, and links to each file and sidecar. No JavaScript
/// and nothing from the network (a Content-Security-Policy says so too), so it opens from disk,
/// from an extracted archive, or behind any static file server. Every string from a server is
/// HTML-escaped; the file names are ids, which `VideoID` limits to letters, digits, `.`, `_`, `-`.
package enum Gallery {
    package static let fileName = "index.html"

    /// One video as the page shows it, read from its sidecar.
    package struct Entry: Sendable, Equatable {
        package var id: String
        package var file: String
        package var bytes: Int64
        package var sidecarFile: String
        package var prompt: String?
        package var model: String?
        package var size: String?
        package var seconds: String?
        package var cost: Double?
        package var currency: String?
        package var createdAt: Date?
        package var completedAt: Date?
        package var thumbnail: String?
        package var spritesheet: String?

        package init(_ item: ArchiveItem) {
            id = item.id
            file = item.videoFile
            bytes = item.videoBytes
            sidecarFile = item.sidecarFile
            model = item.model
            cost = item.cost
            currency = item.currency
            thumbnail = item.assets.first { $0.name == "thumbnail" }?.file
            spritesheet = item.assets.first { $0.name == "spritesheet" }?.file
            // The fields VideoObject does not model, read from the object as it came.
            let doc = (try? JSONSerialization.jsonObject(with: Data(item.sidecar))) as? [String: Any]
            let video = doc?["video"] as? [String: Any] ?? [:]
            prompt = video["prompt"] as? String
            size = Self.text(video["size"])
            seconds = Self.text(video["seconds"])
            let object = Sidecar.read(item.sidecar)?.video
            createdAt = object?.createdAt
            completedAt = object?.completedAt
        }

        /// A string, or a finite number written plainly (`seconds` is a string in the spec,
        /// but a server may send 8).
        static func text(_ v: Any?) -> String? {
            if let s = v as? String { return s }
            // A JSON true/false is an NSNumber too; its type code is "c" (char).
            if let n = v as? NSNumber, String(cString: n.objCType) != "c", n.doubleValue.isFinite {
                return String(format: "%g", n.doubleValue)
            }
            return nil
        }

        /// Newest first: by creation, else completion; ties by id, so the page is stable.
        static func newestFirst(_ a: Entry, _ b: Entry) -> Bool {
            let ta = a.createdAt ?? a.completedAt ?? .distantPast
            let tb = b.createdAt ?? b.completedAt ?? .distantPast
            return ta != tb ? ta > tb : a.id < b.id
        }
    }

    /// Writes `DIR/index.html` for every complete id in the folder (as `archive` finds them).
    @discardableResult
    package static func write(directory: String) throws -> (videos: Int, problems: [ArchiveItem.Problem]) {
        let scanned = try ArchiveItem.scan(directory: directory)
        let page = render(scanned.items.map(Entry.init))
        try AtomicFile.write(page, to: "\(directory)/\(fileName)")
        return (scanned.items.count, scanned.problems)
    }

    /// The page's bytes. Deterministic (no clock in it), so an archive holding it stays
    /// byte-identical for the same inputs.
    package static func render(_ unsorted: [Entry], title: String = "lumenfall-fetch gallery") -> [UInt8] {
        let entries = unsorted.sorted(by: Entry.newestFirst)
        var h = ""
        h.reserveCapacity(1024 + entries.count * 1200)
        h += """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src 'self' file:; media-src 'self' file:; style-src 'unsafe-inline'">
            <meta name="generator" content="lumenfall-fetch \(lumenfallFetchVersion)">
            <title>\(escape(title)): \(entries.count) video\(entries.count == 1 ? "" : "s")</title>
            <style>
            body{font:15px/1.4 system-ui,sans-serif;margin:0;background:#111;color:#eee}
            header{padding:16px 24px;border-bottom:1px solid #333}
            h1{font-size:20px;margin:0 0 6px}
            .totals{color:#bbb;margin:0}
            main{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:16px;padding:16px 24px}
            article{background:#1c1c1c;border:1px solid #2c2c2c;border-radius:8px;overflow:hidden}
            .media img,.media video{display:block;width:100%;aspect-ratio:16/9;object-fit:cover;background:#000}
            .body{padding:10px 12px}
            .prompt{margin:0 0 8px;white-space:pre-wrap;overflow-wrap:anywhere}
            dl{display:grid;grid-template-columns:auto 1fr;gap:2px 10px;margin:0 0 8px;font-size:13px;color:#ccc}
            dt{color:#888}dd{margin:0;overflow-wrap:anywhere}
            .links a{color:#8ab4f8;margin-right:10px;font-size:13px}
            .id{font:12px ui-monospace,monospace;color:#888;overflow-wrap:anywhere}
            </style>
            </head>
            <body>
            <header>
            <h1>\(escape(title))</h1>
            <p class="totals">\(escape(totals(entries)))</p>
            </header>
            <main>

            """
        for e in entries { h += article(e) }
        h += entries.isEmpty ? "<p>No saved videos in this folder yet.</p>\n</main>\n</body>\n</html>\n" : "</main>\n</body>\n</html>\n"
        return Array(h.utf8)
    }

    /// "3 videos · 12.4 MiB · USD 0.63 (+ 1 with unknown cost) · created 2026-11-01 to 2026-11-26"
    static func totals(_ entries: [Entry]) -> String {
        var parts = ["\(entries.count) video\(entries.count == 1 ? "" : "s")", formatBytes(entries.reduce(0) { $0 + $1.bytes })]
        let sums = Manifest.totalCost(entries.map { ($0.cost, $0.currency) })
        let unknown = entries.count - entries.filter { $0.cost.map { $0.isFinite && $0 >= 0 } ?? false && $0.currency != nil }.count
        var cost = sums.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.2f", $0.value))" }.joined(separator: " + ")
        if cost.isEmpty { cost = "cost unknown" } else if unknown > 0 { cost += " (+ \(unknown) with unknown cost)" }
        parts.append(cost)
        let dates = entries.compactMap { $0.createdAt ?? $0.completedAt }
        if let lo = dates.min(), let hi = dates.max() {
            let a = String(utcString(lo).prefix(10)), b = String(utcString(hi).prefix(10))
            parts.append(a == b ? "created \(a)" : "created \(a) to \(b)")
        }
        return parts.joined(separator: " · ")
    }

    static func article(_ e: Entry) -> String {
        let video = href(e.file)
        var a = "<article class=\"video\" id=\"\(escape(e.id))\">\n<div class=\"media\">"
        if let t = e.thumbnail {
            a += "<a href=\"\(video)\"><img src=\"\(href(t))\" alt=\"thumbnail of \(escape(e.id))\" loading=\"lazy\"></a>"
        } else {
            a += "<video controls preload=\"metadata\" src=\"\(video)\"></video>"
        }
        a += "</div>\n<div class=\"body\">\n"
        a += "<p class=\"prompt\" dir=\"auto\">\(e.prompt.map(escape) ?? "<i>no prompt recorded</i>")</p>\n<dl>"
        func row(_ k: String, _ v: String?) {
            guard let v, !v.isEmpty else { return }
            a += "<dt>\(k)</dt><dd>\(v)</dd>"
        }
        row("Model", e.model.map(escape))
        row("Size", e.size.map(escape))
        row("Seconds", e.seconds.map(escape))
        row("Cost", e.cost.flatMap { c in e.currency.map { escape("\($0) \(String(format: "%.4g", c))") } })
        row("Created", e.createdAt.map(time))
        row("Completed", e.completedAt.map(time))
        row("File", escape(formatBytes(e.bytes)))
        a += "</dl>\n<p class=\"links\"><a href=\"\(video)\">video</a><a href=\"\(href(e.sidecarFile))\">sidecar</a>"
        if let s = e.spritesheet { a += "<a href=\"\(href(s))\">spritesheet</a>" }
        if let t = e.thumbnail { a += "<a href=\"\(href(t))\">thumbnail</a>" }
        a += "</p>\n<p class=\"id\">\(escape(e.id))</p>\n</div>\n</article>\n"
        return a
    }

    static func time(_ d: Date) -> String {
        let s = utcString(d)
        return
            "<time datetime=\"\(escape(s))\">\(escape(s.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: " UTC")))</time>"
    }

    /// Text for HTML content and quoted attributes. Control characters (which HTML forbids
    /// and a terminal-minded server might send) become U+FFFD; so do the bidi overrides that
    /// could make a prompt read differently from its bytes.
    package static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\n", "\t": out.unicodeScalars.append(u)
            case _
            where u.value < 0x20 || (0x7F...0x9F).contains(u.value) || (0x202A...0x202E).contains(u.value)
                || (0x2066...0x2069).contains(u.value):
                out += "\u{FFFD}"
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// A relative link to a file of ours: percent-encoded beyond the id alphabet, then escaped.
    static func href(_ name: String) -> String {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
        let encoded = name.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
        // "./" keeps a name with a colon from reading as a scheme.
        return escape("./" + encoded)
    }
}
