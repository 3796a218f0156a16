import Foundation

/// `--name`: file names made from the video object, as yt-dlp's `-o` makes them:
/// `{created:%Y-%m-%d}_{model}_{prompt:40}_{id}`. The result is a file stem: the video is
/// `<stem>.<ext>`, its sidecar `<stem>.json`, a preview `<stem>.thumbnail.webp`. Every field is
/// text from a server, so the stem is sanitised: no `/` or `\`, no control or bidi characters, no
/// leading `.` or `-`, at most `maxBytes` bytes of UTF-8 (room is left for the longest suffix we
/// add); an empty result falls back to the id.
public struct NameTemplate: Sendable, Equatable {
    public enum Field: String, Sendable, CaseIterable {
        case id, model, created, completed, prompt, seconds, size, status
    }
    enum Piece: Sendable, Equatable {
        case text(String)
        case field(Field, argument: String?)
    }
    let pieces: [Piece]
    public let text: String

    /// A stem's budget: 255 bytes a name, less `.thumbnail.webp.part.state.rejected` and room.
    public static let maxBytes = 200

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case unknownField(String)
        case unclosed
        case badArgument(String)
        public var description: String {
            switch self {
            case .unknownField(let f):
                "unknown field {\(f)}; the fields are \(Field.allCases.map { "{\($0.rawValue)}" }.joined(separator: ", "))"
            case .unclosed: "a { without its }"
            case .badArgument(let a): a
            }
        }
    }

    public init(parsing text: String) throws(ParseError) {
        self.text = text
        var pieces: [Piece] = []
        var literal = ""
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if c == "{" {
                guard let close = text[i...].firstIndex(of: "}") else { throw .unclosed }
                let inner = text[text.index(after: i)..<close]
                let parts = inner.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                guard let field = Field(rawValue: String(parts[0])) else { throw .unknownField(String(parts[0])) }
                let argument = parts.count > 1 ? String(parts[1]) : nil
                if field == .prompt, let a = argument, Int(a).map({ (1...200).contains($0) }) != true {
                    throw .badArgument("{prompt:N} takes a number of characters from 1 to 200, not '\(a)'")
                }
                if field == .created || field == .completed, let a = argument, a.isEmpty || a.count > 64 {
                    throw .badArgument("{\(field.rawValue):FORMAT} takes a strftime format such as %Y-%m-%d")
                }
                if !literal.isEmpty { pieces.append(.text(literal)) }
                literal = ""
                pieces.append(.field(field, argument: argument))
                i = text.index(after: close)
            } else {
                literal.append(c)
                i = text.index(after: i)
            }
        }
        if !literal.isEmpty { pieces.append(.text(literal)) }
        self.pieces = pieces
    }

    /// The stem for a video: the template filled in and sanitised.
    public func render(_ v: VideoObject) -> String {
        var out = ""
        for piece in pieces {
            switch piece {
            case .text(let t): out += t
            case let .field(f, argument):
                switch f {
                case .id: out += v.id
                case .model: out += v.model ?? "unknown-model"
                case .status: out += v.status.text
                case .seconds: out += v.seconds ?? ""
                case .size: out += v.size ?? ""
                case .prompt:
                    let n = argument.flatMap(Int.init) ?? 40
                    out += String((v.prompt ?? "").split(whereSeparator: \.isNewline).joined(separator: " ").prefix(n))
                case .created, .completed:
                    let date = f == .created ? v.createdAt : (v.completedAt ?? v.createdAt)
                    out += date.map { Self.format($0, argument ?? "%Y-%m-%d") } ?? "undated"
                }
            }
        }
        let stem = Self.sanitize(out)
        return stem.isEmpty ? v.id : stem
    }

    static func format(_ date: Date, _ pattern: String) -> String {
        var t = time_t(date.timeIntervalSince1970)
        var tm = tm()
        gmtime_r(&t, &tm)
        var buf = [CChar](repeating: 0, count: 256)
        let n = strftime(&buf, buf.count, pattern, &tm)
        return String(decoding: buf.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A file stem that is safe in any folder: see the type's comment.
    public static func sanitize(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            if u == "/" || u == "\\" {
                out.append("-")
            } else if TerminalText.isControl(u) || u.properties.isBidiControl || u.value == 0xFEFF {
                continue
            } else {
                out.append(u)
            }
        }
        var text = String(out).trimmingCharacters(in: .whitespaces)
        while let first = text.first, first == "." || first == "-" { text.removeFirst() }
        // Cut at a character boundary within the byte budget.
        if text.utf8.count > maxBytes {
            var cut = ""
            for ch in text {
                if cut.utf8.count + String(ch).utf8.count > maxBytes { break }
                cut.append(ch)
            }
            text = cut.trimmingCharacters(in: .whitespaces)
        }
        return text
    }

    /// Whether `stem` could have come from `sanitize` (or be an id): what a stem read back
    /// from the name index or a folder must be before a path is made from it.
    public static func isValidStem(_ stem: String) -> Bool {
        !stem.isEmpty && stem.utf8.count <= maxBytes && sanitize(stem) == stem
    }
}
