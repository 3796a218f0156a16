import ArgumentParser
import Foundation
import LumenfallCore
import LumenfallCurl

/// `-o s3://bucket/prefix/` for fetch and watch: where files wait before their upload, and how
/// long a claim lives without renewal.
struct S3OutputOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "With -o s3://...: where videos wait before their upload (default: $XDG_CACHE_HOME/lumenfall-fetch/s3/BUCKET/PREFIX).",
            valueName: "DIR"))
    var workDir: String?

    @Option(
        help: ArgumentHelp(
            "With -o s3://...: each id is claimed (PREFIX/.claims/<id>) so workers sharing the prefix never fetch it twice; a live worker renews its claims every third of this, and a claim not renewed for this long (its worker died) is taken over.",
            valueName: "INTERVAL"))
    var claimTTL: Interval = Interval(3600)

    func validate() throws {
        if claimTTL.seconds == nil || (claimTTL.seconds ?? 0) < 60 {
            throw ValidationError("--claim-ttl: at least 60s (a claim must outlive the time between two renewals)")
        }
    }

    /// `$XDG_CACHE_HOME/lumenfall-fetch/s3/<bucket>/<prefix>` (else `~/.cache/...`), the prefix's
    /// slashes as underscores.
    static func defaultWorkDir(_ l: S3Location) -> String {
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(env["HOME"] ?? NSHomeDirectory())/.cache"
        let prefix = l.prefix.isEmpty ? "_" : l.prefix.replacingOccurrences(of: "/", with: "_")
        return "\(base)/lumenfall-fetch/s3/\(l.bucket)/\(prefix)"
    }
}

/// An output made ready for work: the destination, and the local folder the ids are saved in
/// first (the destination's own folder, or the work folder of an s3:// output), created,
/// writable and locked against a second process.
struct OpenedOutput {
    let destination: any Destination
    let folder: String
    let lock: DirectoryLock

    /// `-o DIR` or `-o s3://...`: a bucket that does not exist, a folder that cannot be made or
    /// written, or one another process holds, is a set-up error (exit 2) named here.
    static func open(
        _ target: OutputTarget, s3 options: S3OutputOptions, endpoint: S3EndpointOption, keepLocalCopies: Bool = false,
        multi: CurlMulti
    ) async throws -> OpenedOutput {
        switch target {
        case .folder(let path):
            let lock = try prepareFolder(path)
            return OpenedOutput(destination: LocalFolder(path: path), folder: path, lock: lock)
        case .s3(let location):
            let config = try endpoint.config()
            var client = S3Client(config: config, location: location)
            client.multi = multi
            do {
                guard try await client.bucketExists() else {
                    throw CLIError(
                        code: Exit.setup, "the bucket \(location.bucket) does not exist at \(config.endpoint); create it or check -o")
                }
            } catch let e as CLIError {
                throw e
            } catch {
                throw CLIError(code: Exit.setup, "\(ErrorText.describe(error))")
            }
            let dir = options.workDir ?? S3OutputOptions.defaultWorkDir(location)
            let lock = try prepareFolder(dir)
            let worker: String
            do {
                worker = try WorkerIdentity.load(directory: dir)
            } catch {
                throw CLIError(code: Exit.setup, "cannot write the worker name into \(dir): \(ErrorText.describe(error))")
            }
            var s3 = S3Destination(client: client, claimTTL: options.claimTTL.seconds ?? 3600, worker: worker)
            s3.keepLocalCopies = keepLocalCopies
            return OpenedOutput(destination: s3, folder: dir, lock: lock)
        }
    }

    private static func prepareFolder(_ dir: String) throws -> DirectoryLock {
        do {
            try AtomicFile.makeDirectories(dir)
        } catch {
            throw CLIError(code: Exit.setup, "cannot create the output folder \(dir): \(ErrorText.describe(error))")
        }
        guard access(dir, W_OK) == 0 else {
            throw CLIError(code: Exit.setup, "cannot write into the output folder \(dir); check its permissions")
        }
        return try lockFolder(dir)
    }
}
