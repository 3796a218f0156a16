import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

/// Issue 20: what a power cut can take, read off the system calls of a real run (strace). An
/// id is written, synced a group at a time, renamed, and its folder synced before it is
/// reported; the count of sync calls per file is the figure docs/benchmarks.md gives.
@Suite(.removesTempDirs) struct DurabilityOrderTests {
    /// One traced call: its name, the path strace showed for its first argument (`-y`) or the
    /// rename's two paths, the text written, and where in the log it started and ended.
    struct Call {
        var name: String
        var args: String
        var started: Int
        var ended: Int
    }

    /// strace -f's log as calls: an `<unfinished ...>` line starts a call that the same pid's
    /// `<... name resumed>` line ends.
    static func calls(_ log: String) -> [Call] {
        var open: [String: Call] = [:]
        var out: [Call] = []
        for (n, raw) in log.split(separator: "\n").enumerated() {
            // `PID  call(args) = result`
            let parts = raw.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let (pid, line) = (String(parts[0]), parts[1].trimmingCharacters(in: .whitespaces))
            if line.hasPrefix("<... ") {
                if var c = open.removeValue(forKey: pid) {
                    c.ended = n
                    out.append(c)
                }
                continue
            }
            guard let paren = line.firstIndex(of: "(") else { continue }
            let c = Call(name: String(line[..<paren]), args: String(line[line.index(after: paren)...]), started: n, ended: n)
            if line.hasSuffix("<unfinished ...>") { open[pid] = c } else { out.append(c) }
        }
        return out
    }

    @Test func filesAreSyncedBeforeTheirNamesAndNamesBeforeTheReport() async throws {
        let strace = "/usr/bin/strace"
        try #require(FileManager.default.isExecutableFile(atPath: strace), "Scripts/test installs strace")
        try await withSandbox { server in
            let ids = (0..<120).map { _ in server.createJob(spec(bytes: 20_000) { $0.queuedPolls = 0 }) }
            let dir = makeTempDir()
            let log = makeTempDir() + "/trace"
            let p = Process()
            p.executableURL = URL(fileURLWithPath: strace)
            // --seccomp-bpf: the child stops only at the calls traced, not at every one (a
            // strace stopping at every poll and futex loaded both cores of CI for seconds).
            p.arguments =
                [
                    "-f", "--seccomp-bpf", "-y", "-s", "300", "-e", "trace=fdatasync,fsync,rename,write", "-e", "signal=none", "-o", log,
                    try fetchBinary(),
                ]
                + ids + ["-o", dir, "--jobs", "8", "--base-url", server.baseURL]
            var env = ProcessInfo.processInfo.environment
            env["LUMENFALL_API_KEY"] = server.apiKey
            env["XDG_CONFIG_HOME"] = "/nonexistent/lumenfall-test-config"
            p.environment = env
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            // Waited for on a thread of its own: blocking one of the cooperative pool's two
            // threads for the traced run (seconds under load) stalled every other test's async
            // work in CI, and their time bounds with it.
            let (printed, status) = try await offPool { () -> (String, Int32) in
                let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                p.waitUntilExit()
                return (text, p.terminationStatus)
            }
            #expect(status == 0)
            #expect(printed.split(separator: "\n").count == ids.count, "\(printed)")
            for id in ids { try expectSaved(server, id, dir: dir) }

            let calls = Self.calls(String(decoding: fileBytes(log) ?? [], as: UTF8.self))
            let dataSyncs = calls.filter { $0.name == "fdatasync" }
            let folderSyncs = calls.filter { $0.name == "fsync" && $0.args.contains("<\(dir)>") }
            for id in ids {
                let renames = calls.filter { $0.name == "rename" && $0.args.contains("/\(id).") }
                #expect(renames.count == 2, "\(id): \(renames.map(\.args))")
                for r in renames {
                    // The file renamed (`.part` or the sidecar's temp) was synced before.
                    let from = r.args.split(separator: "\"").first.map(String.init) ?? ""
                    #expect(
                        dataSyncs.contains { $0.args.contains("<\(from)>") && $0.ended < r.started }, "\(from) not synced before its rename"
                    )
                }
                // It was said saved (stderr: a write per line; stdout's paths are buffered when
                // piped) after a folder sync that began after both renames.
                let lastRename = renames.map(\.ended).max() ?? Int.max
                let report = calls.first { $0.name == "write" && $0.args.hasPrefix("2<") && $0.args.contains("\(id): saved") }
                let shown = try #require(report, "\(id) was not printed")
                #expect(
                    folderSyncs.contains { $0.started > lastRename && $0.ended < shown.started }, "\(id) reported before its folder sync")
            }
            // The figure: one fdatasync per file (video and sidecar), one folder fsync per group.
            let files = ids.count * 2
            #expect(dataSyncs.count == files)
            #expect(folderSyncs.count < ids.count, "\(folderSyncs.count) folder syncs for \(ids.count) ids: no grouping")
            print("durability: \(dataSyncs.count) fdatasync and \(folderSyncs.count) folder fsync for \(files) files")
        }
    }
}
