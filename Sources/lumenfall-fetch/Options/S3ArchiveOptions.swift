import ArgumentParser
import Foundation
import LumenfallCore
import LumenfallCurl

/// `--s3-endpoint` (fetch, archive, verify, s3 cleanup) and the settings it completes.
struct S3EndpointOption: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "For s3:// targets: the S3 endpoint (MinIO, R2, Ceph...), instead of $AWS_ENDPOINT_URL_S3 or $AWS_ENDPOINT_URL; addressed path-style.",
            valueName: "URL"))
    var s3Endpoint: String?

    /// Credentials, region and endpoint from the usual AWS variables; a missing or bad one is
    /// a set-up error (exit 2).
    func config() throws -> S3Config {
        switch S3Config.fromEnvironment(ProcessInfo.processInfo.environment, endpoint: s3Endpoint) {
        case .success(let c): return c
        case .failure(let e): throw CLIError(code: Exit.setup, "\(e)")
        }
    }
}

/// Archives written to `s3://bucket/key` (fetch --archive, archive -o): multipart settings.
struct S3ArchiveOptions: ParsableArguments {
    @Option(help: ArgumentHelp("With an s3:// archive: the size of each uploaded part, 8M to 64M (binary units).", valueName: "SIZE"))
    var partSize: ByteCount = ByteCount(bytes: 8 << 20)

    @Option(help: ArgumentHelp("With an s3:// archive: parts uploading at once while the archive is written (1-16).", valueName: "N"))
    var partsInFlight = 4

    func validate() throws {
        guard (8 << 20...64 << 20).contains(partSize.bytes) else { throw ValidationError("--part-size: 8M to 64M") }
        guard (1...16).contains(partsInFlight) else { throw ValidationError("--parts-in-flight: 1 to 16") }
    }

    /// The client for an `s3://bucket/key` archive, from the usual AWS variables.
    static func client(for target: String, endpoint: S3EndpointOption, multi: CurlMulti = .shared) throws -> S3Client {
        let (location, _): (S3Location, String)
        switch S3Location.parseObject(target) {
        case .success(let v): (location, _) = v
        case .failure(let e): throw CLIError(code: 64, "\(e)")
        }
        var client = S3Client(config: try endpoint.config(), location: location)
        client.multi = multi
        return client
    }
}

/// Writes an archive to S3 on a thread of its own (the upload's blocking waits must stay off
/// Swift's cooperative pool), printing what went up.
func runS3Archiver(
    _ archiver: Archiver, items: [ArchiveItem], options: S3ArchiveOptions, endpoint: S3EndpointOption,
    multi: CurlMulti = .shared, say: @escaping @Sendable (String) -> Void
) async throws -> Archiver.Result {
    let client = try S3ArchiveOptions.client(for: archiver.path, endpoint: endpoint, multi: multi)
    let (partSize, inFlight) = (Int(options.partSize.bytes), options.partsInFlight)
    return try await withCheckedThrowingContinuation { c in
        Thread {
            c.resume(with: Result { try archiver.writeS3(items, client: client, partSize: partSize, inFlight: inFlight, say: say) })
        }.start()
    }
}
