import Foundation
import LumenfallSandbox
import Testing

/// The built `lumenfall-fetch`, next to this test bundle in the build folder.
func fetchBinary() throws -> String {
    let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var dir = me.deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("lumenfall-fetch").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    let fallback = FileManager.default.currentDirectoryPath + "/.build/debug/lumenfall-fetch"
    return try #require(
        FileManager.default.isExecutableFile(atPath: fallback) ? fallback : nil,
        "build lumenfall-fetch first (swift build)")
}

struct CLIRun {
    var status: Int32
    var stdout: String
    var stderr: String
    var reason: Process.TerminationReason
    /// When the child was reaped, taken on the waiting thread: a bound on how fast the child
    /// stops reads this, not the time the test task was scheduled again (on a loaded machine
    /// the pool can resume it seconds later).
    var ended = Date()
}

/// Runs the binary with a controlled environment (no inherited key or base URL).
/// `@unchecked Sendable` is sound: Process and Pipe are set up in init; afterwards only one
/// thread at a time waits on them (`wait()` or `result()`), and `kill` needs only the pid.
final class CLIProcess: @unchecked Sendable {
    let process = Process()
    private let out = Pipe()
    private let err = Pipe()

    init(_ args: [String], env: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: try fetchBinary())
        process.arguments = args
        var e = ProcessInfo.processInfo.environment
        e["LUMENFALL_API_KEY"] = nil
        e["LUMENFALL_BASE_URL"] = nil
        // No config file of the machine's user reaches a test (a test gives its own).
        e["XDG_CONFIG_HOME"] = "/nonexistent/lumenfall-test-config"
        for (k, v) in env { e[k] = v }
        process.environment = e
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    func wait() -> CLIRun {
        // Both pipes are drained at once: reading one to its end while the child fills the
        // other's 64 KiB buffer would deadlock both.
        let errData = LockedData()
        let reader = Thread { [err] in errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = errData.wait()
        process.waitUntilExit()
        OutputCapture.events(of: process.arguments ?? [], stdout: String(decoding: o, as: UTF8.self))
        return CLIRun(
            status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
            stderr: String(decoding: e, as: UTF8.self), reason: process.terminationReason, ended: Date())
    }
}

/// Hands a pipe's contents from its reader thread to the waiting one.
/// `@unchecked Sendable` is sound: `data` is written once before `signal` and read after `wait`.
final class LockedData: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var data = Data()
    func set(_ d: Data) {
        data = d
        done.signal()
    }
    func wait() -> Data {
        done.wait()
        return data
    }
}

func runCLI(_ args: [String], env: [String: String] = [:]) async throws -> CLIRun {
    try await CLIProcess(args, env: env).result()
}

extension CLIProcess {
    /// Waits for the process on a thread of its own. `wait()` blocks (pipes, waitpid); on
    /// Swift's cooperative pool, two such waits would take both threads of a 2-core machine
    /// and stall every other test's async work for as long as the child runs.
    func result() async -> CLIRun {
        await withCheckedContinuation { c in
            Thread { c.resume(returning: self.wait()) }.start()
        }
    }
}

/// No escape byte, bell or bare carriage return may reach a terminal from a server.
func expectNoControlCharacters(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
    for bad: Character in ["\u{1b}", "\u{07}", "\r", "\u{9b}"] {
        #expect(!text.contains(bad), "a raw \(bad.unicodeScalars.first!.value) reached the output", sourceLocation: sourceLocation)
    }
}

extension SandboxServer {
    /// `lumenfall-fetch ARGS --base-url <this sandbox>`: the binary pointed at this server, so
    /// no test spells the flag out. `env` is the whole environment the test gives (its key).
    func runCLI(_ args: [String], env: [String: String] = [:]) async throws -> CLIRun {
        try await CLIProcess(args + ["--base-url", baseURL], env: env).result()
    }

    /// The same, started and handed back while it runs (to signal, kill or watch it).
    func launchCLI(_ args: [String], env: [String: String] = [:]) throws -> CLIProcess {
        try CLIProcess(args + ["--base-url", baseURL], env: env)
    }
}
