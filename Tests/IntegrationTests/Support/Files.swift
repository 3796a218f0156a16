import Crypto
import Foundation
import LumenfallArchive
import LumenfallCore
import Testing

@discardableResult
func run(_ tool: String, _ args: [String], in dir: String? = nil) throws -> (Int32, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [tool] + args
    if let dir { p.currentDirectoryURL = URL(fileURLWithPath: dir) }
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

func memberNames(_ path: String) throws -> [String] {
    let fd = try AtomicFile.openRegular(path, followLinks: true)
    defer { close(fd) }
    let reader = try TarReader(fd: fd)
    var names: [String] = []
    let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
    defer { buf.deallocate() }
    while let e = try reader.next() {
        names.append(e.name)
        while try reader.read(into: buf) > 0 {}
    }
    return names
}

/// A file outside the output folder that a planted link points at: it must never change.
struct Victim {
    let path: String
    let original = Array("precious bytes that belong to somebody else\n".utf8)

    init() {
        path = makeTempDir() + "/victim.txt"
        _ = FileManager.default.createFile(atPath: path, contents: Data(original))
    }

    func expectUnchanged(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(fileBytes(path) == original, "the link's target was written through", sourceLocation: sourceLocation)
    }
}

/// Final parts (`*.tar`) and hidden temps in a folder.
func archiveFiles(in dir: String) -> (parts: Int, temps: Int) {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
    return (names.filter { $0.hasSuffix(".tar") }.count, names.filter { $0.hasPrefix(".") }.count)
}

func plantLink(_ path: String, to target: String) throws {
    try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target)
}

/// manifest.json read back with bsdtar.
func extractManifest(_ tar: String) throws -> [UInt8] {
    let p = Process()
    let out = Pipe()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["bsdtar", "-xOf", tar, "manifest.json"]
    p.standardOutput = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return Array(data)
}

/// A fresh folder under the system's temp folder, removed when the test ends (pass or fail):
/// every suite here carries `.removesTempDirs`.
func makeTempDir() -> String {
    let path = NSTemporaryDirectory() + "lumenfall-test-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    TempDirs.current?.add(path)
    return path
}

/// The folders one test made. `@unchecked Sendable` is sound: `paths` is under `lock`.
final class TempDirRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var paths: [String] = []
    /// Files a test wrote itself to play a hostile or damaged input (a planted sidecar):
    /// not the tool's output, so not held to the published schemas.
    private var planted: Set<String> = []
    func add(_ path: String) { lock.withLock { paths.append(path) } }
    func plant(_ path: String) { _ = lock.withLock { planted.insert(path) } }
    func removeAll() {
        let (all, planted) = lock.withLock { (paths, self.planted) }
        if let capture = OutputCapture.folder {
            for p in all { OutputCapture.collect(from: p, skipping: planted, into: capture) }
        }
        for p in all { try? FileManager.default.removeItem(atPath: p) }
    }
}

enum TempDirs {
    @TaskLocal static var current: TempDirRegistry?
}

/// Gives each test its own registry and removes what it made once the test is over.
struct RemovesTempDirs: TestTrait, SuiteTrait, TestScoping {
    var isRecursive: Bool { true }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        guard testCase != nil else { return try await function() }
        let registry = TempDirRegistry()
        defer { registry.removeAll() }
        try await TempDirs.$current.withValue(registry) { try await function() }
    }
}

extension Trait where Self == RemovesTempDirs {
    static var removesTempDirs: Self { RemovesTempDirs() }
}

func sha256Hex(_ bytes: [UInt8]) -> String {
    SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
}

func fileBytes(_ path: String) -> [UInt8]? {
    FileManager.default.contents(atPath: path).map(Array.init)
}

func sidecar(_ dir: String, _ id: String) throws -> [String: Any] {
    let data = try #require(FileManager.default.contents(atPath: "\(dir)/\(id).json"))
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}
