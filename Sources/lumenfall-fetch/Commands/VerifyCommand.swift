import ArgumentParser
import Foundation
import LumenfallCore
import LumenfallCurl
import Synchronization

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check archives in one streaming pass against their manifest.json and SHA256SUMS.",
        discussion:
            "Reports missing, extra, corrupt and unsafe members by name."
    )

    @OptionGroup(title: "Configuration") var configFile: ConfigOptions

    @Argument(
        help: "Archives (.tar, .tar.gz, .tgz, .tar.zst, .tzst, .tar.xz), on disk or as s3://bucket/key.", transform: ArchiveTarget.parse)
    var paths: [ArchiveTarget]

    @OptionGroup(title: "S3") var endpoint: S3EndpointOption
    @OptionGroup(title: "Output") var talk: ToolOutputOptions

    @OptionGroup(title: "Logging") var logging: LogOptions

    func validate() throws {
        if paths.isEmpty { throw ValidationError("give at least one archive to verify") }
    }

    func run() throws {
        var bad = false
        let line = ProgressLine(talk)
        for target in paths {
            let r: ArchiveVerifier.Report
            line.begin("checking \(target.path)", total: nil)
            switch target {
            case .file(let path): r = ArchiveVerifier.verify(path: path, progress: { line.add($0) })
            case .s3(let object): r = try Self.verifyS3(object, endpoint: endpoint)
            }
            line.finish()
            if talk.json {
                let problems = r.problems.map {
                    JSONEvents.JSONObject([
                        ("kind", $0.kind.rawValue), ("member", $0.member.isEmpty ? nil : $0.member), ("detail", $0.detail),
                    ])
                }
                ToolJSON.emit(
                    "verified",
                    [("path", target.path), ("ok", r.ok), ("members", r.members), ("bytes", r.bytes), ("problems", problems)])
            }
            if !r.ok { bad = true }
            // With --json the events say it; -q keeps only the failures.
            if talk.json || (talk.quiet && r.ok) { continue }
            // Member names come from the archive: a forged name must not print a fake "OK".
            let shown = TerminalText.safe(target.path)
            if r.ok {
                print("\(shown): OK (\(r.members) members, \(formatBytes(r.bytes)) checked)")
            } else {
                bad = true
                if r.problems.count == 1, let p = r.problems.first, p.member.isEmpty {
                    print("\(shown): FAILED: \(TerminalText.safe(p.detail))")  // one line for an archive that cannot be read
                } else {
                    for p in r.problems { print("\(shown): \(TerminalText.safe(p.description))") }
                    print("\(shown): FAILED (\(r.problems.count) problem\(r.problems.count == 1 ? "" : "s"))")
                }
            }
        }
        if bad { throw CLIError.silent(Exit.someFailed) }
    }

    /// Streams the object back through a pipe into the same one-pass verifier: nothing is
    /// written to disk and memory stays at the pipe and one read buffer.
    static func verifyS3(_ target: String, endpoint: S3EndpointOption) throws -> ArchiveVerifier.Report {
        let client = try S3ArchiveOptions.client(for: target, endpoint: endpoint)
        guard case .success(let (_, key)) = S3Location.parseObject(target) else {
            throw CLIError(code: 64, "\(target) is not an s3:// object")
        }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw CLIError(code: Exit.setup, "cannot make a pipe: \(String(cString: strerror(errno)))") }
        signal(SIGPIPE, SIG_IGN)  // the verifier may stop reading first; the writer then gets EPIPE
        let (readEnd, writeEnd) = (fds[0], fds[1])
        let sink = PipeSink(fd: writeEnd)
        let fetched = DispatchSemaphore(value: 0)
        let outcome = LockedBox<Result<Int, Error>>()
        Task {
            do { outcome.set(.success(try await client.get(key, into: sink))) } catch { outcome.set(.failure(error)) }
            close(writeEnd)
            fetched.signal()
        }
        var report = ArchiveVerifier.verify(fd: readEnd, name: target)
        close(readEnd)
        fetched.wait()
        report.path = target
        switch outcome.get() {
        case .success(let status) where status == 200: break
        case .success(let status):
            throw CLIError(code: Exit.someFailed, "\(target): S3 answered HTTP \(status)\(status == 404 ? " (no such object)" : "")")
        case .failure(let e): throw CLIError(code: Exit.someFailed, "\(target): \(ErrorText.describe(e))")
        case nil: break
        }
        return report
    }
}

/// Writes a GET's body into a pipe (blocking: the verify command has no other transfer).
final class PipeSink: HTTPResponseSink, Sendable {
    let fd: Int32
    init(fd: Int32) { self.fd = fd }
    /// An error answer's body is not an archive: stop at its head, so the pipe closes at once
    /// and the caller reports the status.
    func didReceiveHead(_ head: HTTPResponseHead) -> SinkVerdict { head.status == 200 ? .proceed : .abort }
    func didReceiveBody(_ bytes: UnsafeRawBufferPointer) -> SinkVerdict {
        var off = 0
        while off < bytes.count {
            let n = write(fd, bytes.baseAddress! + off, bytes.count - off)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return .abort }
            off += n
        }
        return .proceed
    }
}

/// A value handed from one thread to another.
final class LockedBox<T: Sendable>: Sendable {
    private let value = Mutex<T?>(nil)
    func set(_ v: T) { value.withLock { $0 = v } }
    func get() -> T? { value.withLock { $0 } }
}
