import ArgumentParser
import Foundation
import LumenfallCore

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List videos (GET /videos), newest first, with status, model, cost and time left before the link expires.",
        discussion: "Every cell is the server's text, made safe for a terminal; the API key is never shown.")

    @OptionGroup(title: "Configuration") var configFile: ConfigOptions

    @OptionGroup(title: "Connection") var connection: ConnectionOptions

    @Option(help: ArgumentHelp("Only videos with this status; may be repeated.", valueName: "STATUS"))
    var status: [StatusFilter] = []

    @Option(help: ArgumentHelp("Only videos made by this model; may be repeated.", valueName: "MODEL"))
    var model: [String] = []

    @Option(
        help: ArgumentHelp("Only videos created since DATE: 2026-11-01, 2026-11-01T08:00:00Z, or an age: 90m, 36h, 7d.", valueName: "DATE"))
    var since: Since?

    @Option(help: ArgumentHelp("Only videos created before DATE (same forms as --since).", valueName: "DATE"))
    var until: Since?

    @Option(
        name: [.customShort("o"), .long],
        help: ArgumentHelp("Say which videos are already saved in this folder (an ON DISK column).", valueName: "DIR"))
    var output: String?

    @Option(help: ArgumentHelp("Print at most N videos.", valueName: "N"))
    var limit: Int = 100

    @Option(help: ArgumentHelp("Videos asked for per request (the API's limit parameter).", valueName: "N"))
    var pageSize: Int = 100

    @Flag(help: "One JSON object per line (the API's objects) instead of a table.")
    var json = false

    /// `2026-12-04 08:15` in UTC: enough to tell a batch's videos apart.
    static func shortDate(_ d: Date) -> String {
        String(utcString(d).replacingOccurrences(of: "T", with: " ").prefix(16))
    }

    /// The first `n` characters of a prompt on one line, `…` when there is more.
    static func start(of text: String, _ n: Int) -> String {
        let line = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return line.count <= n ? line : line.prefix(n - 1) + "…"
    }

    @OptionGroup(title: "Logging") var logging: LogOptions

    func validate() throws {
        if let s = since?.date, let u = until?.date, s >= u { throw ValidationError("--since must be before --until") }
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
        if pageSize < 1 || pageSize > 100 { throw ValidationError("--page-size must be between 1 and 100") }
    }

    func run() async throws {
        let key = try connection.loadKey()
        let api = connection.makeClient(key: key)
        let filter = ListingFilter(
            statuses: status.isEmpty ? nil : Set(status.map(\.rawValue)), models: model.isEmpty ? nil : Set(model),
            since: since?.date, until: until?.date)
        let videos = try await listVideos(api, since: since?.date, limit: limit, pageSize: pageSize, key: key) { filter.keeps($0) }
        if json {
            // JSON escapes C0 controls itself; DEL, C1 and bidi controls are escaped here, and
            // the key is redacted from what is echoed.
            for v in videos { print(TerminalText.safeJSON(String(decoding: key.redact(bytes: v.raw), as: UTF8.self))) }
            return
        }
        let names = output.map { NameIndex(directory: $0) }
        // Every cell is server text: redacted and made safe for a terminal. The last column is
        // the prompt's start, or for a failed video why it failed.
        let rows = videos.map { v in
            var row = [
                v.id, v.status.text, v.createdAt.map(Self.shortDate) ?? "-", v.model ?? "-",
                v.cost.map { String(format: "%@ %.2f", v.currency ?? "", $0) } ?? "-", timeLeft(v.expiresAt),
            ]
            if let dir = output, let names {
                row.append((try? ArchiveItem.load(directory: dir, id: names.stem(for: v.id) ?? v.id)) != nil ? "yes" : "no")
            }
            let about = v.status == .failed ? [v.errorCode, v.errorMessage].compactMap { $0 }.joined(separator: ": ") : (v.prompt ?? "")
            row.append(Self.start(of: about, 40))
            return row.map { TerminalText.safe(key.redact($0)) }
        }
        let header =
            ["ID", "STATUS", "CREATED", "MODEL", "COST", "EXPIRES IN"] + (output != nil ? ["ON DISK"] : []) + ["PROMPT / ERROR"]
        let widths = (0..<header.count).map { c in ([header] + rows).map { $0[c].count }.max() ?? 0 }
        for row in [header] + rows {
            print(
                row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                    .joined(separator: "  ").trimmingCharacters(in: .whitespaces))
        }
    }
}

/// Lists through the API with a message a person can act on when the server cannot list.
func listVideos(
    _ api: APIClient, since: Date?, limit: Int?, pageSize: Int, key: APIKey,
    keep: (VideoObject) -> Bool
) async throws(CLIError) -> [VideoObject] {
    do {
        return try await api.listAll(since: since, limit: limit, pageSize: pageSize, keep: keep)
    } catch let e as APIError {
        if case .http(401, _, let m, _) = e {
            throw CLIError(code: Exit.apiKey, "the API rejected the key (HTTP 401\(m.map { ": \($0)" } ?? ""))", redacting: key)
        }
        throw CLIError(code: Exit.someFailed, describeListError(e, api: api), redacting: key)
    } catch {
        throw CLIError(code: Exit.someFailed, "cannot list videos: \(ErrorText.describe(error))", redacting: key)
    }
}

/// What a failed listing means for a person.
func describeListError(_ e: APIError, api: APIClient) -> String {
    if case .http(404, _, _, _) = e {
        return "\(URLPolicy.host(of: api.baseURL)) does not list videos (GET /videos answered 404); pass the ids instead"
    }
    return "cannot list videos: \(e.summary)"
}

/// "2h 13m" until the link expires, "expired", or "-" when the server did not say.
func timeLeft(_ expiresAt: Date?, now: Date = Date()) -> String {
    guard let e = expiresAt else { return "-" }
    let s = Checked.wholeSeconds(e.timeIntervalSince(now))
    if s <= 0 { return "expired" }
    if s >= 86400 { return "\(s / 86400)d \(s % 86400 / 3600)h" }
    if s >= 3600 { return "\(s / 3600)h \(s % 3600 / 60)m" }
    return "\(s / 60)m \(s % 60)s"
}
