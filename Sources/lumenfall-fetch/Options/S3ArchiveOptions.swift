import ArgumentParser
import Foundation
import LumenfallCore

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
    static func client(for target: String, endpoint: String?) throws -> S3Client {
        let (location, _): (S3Location, String)
        switch S3Location.parseObject(target) {
        case .success(let v): (location, _) = v
        case .failure(let e): throw CLIError(code: 64, "\(e)")
        }
        switch S3Config.fromEnvironment(ProcessInfo.processInfo.environment, endpoint: endpoint) {
        case .success(let c): return S3Client(config: c, location: location)
        case .failure(let e): throw CLIError(code: Exit.setup, "\(e)")
        }
    }
}

/// Writes an archive to S3 on a thread of its own (the upload's blocking waits must stay off
/// Swift's cooperative pool), printing what went up.
func runS3Archiver(_ archiver: Archiver, items: [ArchiveItem], options: S3ArchiveOptions, endpoint: String?, say: @escaping @Sendable (String) -> Void) async throws -> Archiver.Result {
    let client = try S3ArchiveOptions.client(for: archiver.path, endpoint: endpoint)
    let (partSize, inFlight) = (Int(options.partSize.bytes), options.partsInFlight)
    return try await withCheckedThrowingContinuation { c in
        Thread {
            c.resume(with: Result { try archiver.writeS3(items, client: client, partSize: partSize, inFlight: inFlight, say: say) })
        }.start()
    }
}
