import Foundation

/// With `LUMENFALL_OUTPUT_CAPTURE=DIR` (Scripts/test sets it), the suite keeps a copy of every
/// sidecar, archive manifest and `fetch --json` stream the tool produced in a test, before the
/// test's folders are removed; Tests/Conformance/validate_outputs.py then holds each one to
/// its schema in docs/schemas/. So a format change without a schema change fails the run.
enum OutputCapture {
    static let folder: String? = {
        guard let dir = ProcessInfo.processInfo.environment["LUMENFALL_OUTPUT_CAPTURE"], !dir.isEmpty else { return nil }
        for sub in ["sidecars", "manifests", "events"] {
            try? FileManager.default.createDirectory(atPath: "\(dir)/\(sub)", withIntermediateDirectories: true)
        }
        return dir
    }()

    static let archiveSuffixes = [".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.xz"]

    /// `fetch --json`'s stdout (the other subcommands' `--json` have no published schema yet).
    static func events(of args: [String], stdout: String) {
        guard let folder, args.contains("--json"), !stdout.isEmpty else { return }
        let sub = args.first ?? ""
        guard !["list", "archive", "verify", "gallery", "watch", "s3", "config", "doctor"].contains(sub) else { return }
        _ = FileManager.default.createFile(atPath: "\(folder)/events/\(UUID().uuidString).jsonl", contents: Data(stdout.utf8))
    }

    /// Sidecars (a `.json` naming the sidecar schema) and the manifest of every archive under
    /// `root`, but the files a test planted.
    static func collect(from root: String, skipping planted: Set<String>, into folder: String) {
        guard let walker = FileManager.default.enumerator(atPath: root) else { return }
        for case let rel as String in walker {
            let path = "\(root)/\(rel)"
            if planted.contains(path) || rel.contains("/.lumenfall-watch/") { continue }
            // Regular files only: a test's FIFO named like an archive would block bsdtar for ever.
            var st = stat()
            guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { continue }
            if rel.hasSuffix(".json"), !rel.hasSuffix("manifest.json") {
                guard let h = FileHandle(forReadingAtPath: path) else { continue }
                let head = (try? h.read(upToCount: 4096)) ?? Data()
                try? h.close()
                if String(decoding: head, as: UTF8.self).contains(#""lumenfall-fetch.sidecar/"#) {
                    try? FileManager.default.copyItem(atPath: path, toPath: "\(folder)/sidecars/\(UUID().uuidString).json")
                }
            } else if archiveSuffixes.contains(where: { rel.hasSuffix($0) }) {
                let manifest = (try? extractManifest(path)) ?? []
                if !manifest.isEmpty {
                    _ = FileManager.default.createFile(
                        atPath: "\(folder)/manifests/\(UUID().uuidString).json", contents: Data(manifest))
                }
            }
        }
    }
}
