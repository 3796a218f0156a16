import Foundation
import LumenfallCore

extension FetchCommand {
    /// `--dry-run`: every id the run would take (arguments, id files, `--all` with its filters,
    /// the shard), each looked up once, and a line saying what a real run would do with it. No
    /// download, no file, no folder, no lock: an id saved already is found by its sidecar, as a
    /// real run finds it, without a request.
    func dryRun(key: APIKey, files: [LineIDSource]) async throws {
        guard case .folder(let dir) = out.output else {
            throw CLIError(code: Exit.usage, "--dry-run looks at a local folder; give -o DIR (with -o s3:// it is not offered yet)")
        }
        let api = connection.makeClient(key: key)
        let names = NameIndex(directory: dir)
        let partials = source.partials ? PartialsIDSource(directory: dir, names: names) : nil
        let (pending, _) = idPlan.source(partials: partials, files: files, api: api)
        var counts = (ids: 0, fetch: 0, wait: 0, saved: 0, other: 0)
        var bytes: Int64 = 0
        var unknownSize = 0
        func line(_ id: String, _ status: String, _ saved: String, _ size: String, _ left: String, _ then: String) {
            let cells = [
                id.padding(toLength: max(26, id.count), withPad: " ", startingAt: 0), pad(status, 12), pad(saved, 6), pad(size, 10),
                pad(left, 11), then,
            ]
            print(TerminalText.safe(key.redact(cells.joined(separator: "  "))))
        }
        func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count), withPad: " ", startingAt: 0) }
        line("ID", "STATUS", "SAVED", "SIZE", "LINK LEFT", "A RUN WOULD")
        do {
            while let id = try await pending.next() {
                counts.ids += 1
                if let why = VideoID.problem(with: id) {
                    counts.other += 1
                    line(EventPrinter.shown(id), "-", "-", "-", "-", "fail: \(why)")
                    continue
                }
                if (try? ArchiveItem.load(directory: dir, id: names.stem(for: id) ?? id)) != nil {
                    counts.saved += 1
                    line(id, "-", "yes", "-", "-", "skip it (already saved)")
                    continue
                }
                let v: VideoObject
                do {
                    v = try await api.retrieve(id)
                } catch let e as APIError {
                    switch e {
                    case .http(401, _, let m, _):
                        throw CLIError(code: Exit.apiKey, "the API rejected the key (HTTP 401\(m.map { ": \($0)" } ?? ""))", redacting: key)
                    case .unreachable(let why):
                        throw CLIError(
                            code: Exit.apiUnreachable, "the API could not be reached (\(why)); check --base-url and the network",
                            redacting: key)
                    default:
                        counts.other += 1
                        line(id, "?", "no", "-", "-", "fail: \(e.summary)")
                        continue
                    }
                }
                switch v.status {
                case .completed:
                    let size = await api.mediaSize(of: v)
                    if let size { bytes += size } else { unknownSize += 1 }
                    let expired = v.expiresAt.map { $0 < Date() } ?? false
                    if expired { counts.other += 1 } else { counts.fetch += 1 }
                    line(
                        id, v.status.text, "no", size.map(formatBytes) ?? "?", timeLeft(v.expiresAt),
                        expired ? "fail: its output has expired" : "download it")
                case .queued, .inProgress:
                    counts.wait += 1
                    line(id, v.status.text + (v.progress.map { " \(Int($0))%" } ?? ""), "no", "-", "-", "wait for it, then download it")
                default:
                    counts.other += 1
                    line(id, v.status.text, "no", "-", "-", "fail: nothing to download")
                }
            }
        } catch let e as CLIError {
            throw e
        } catch {
            throw CLIError(code: Exit.someFailed, "the id list could not be read to its end: \(ErrorText.describe(error))", redacting: key)
        }
        let size = unknownSize > 0 ? "\(formatBytes(bytes)) and \(unknownSize) of unknown size" : formatBytes(bytes)
        Diagnostics.line(
            "dry run: \(counts.ids) ids: \(counts.fetch) to download now (\(size)), \(counts.wait) still generating, "
                + "\(counts.saved) already saved, \(counts.other) that would fail; nothing was downloaded or written")
    }
}
