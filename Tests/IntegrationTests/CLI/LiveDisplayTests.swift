import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

/// The live display, driven in a real pseudo-terminal (util-linux `script`): it draws and
/// redraws, fits the terminal's width with 50 ids at once, and leaves no live row behind on
/// success, failure or Ctrl-C. Piped, the output has no escape codes.
@Suite(.removesTempDirs) struct LiveDisplayTests {
    /// Runs `shell` under `script` in an 80 x 30 terminal; returns its typescript and exit code.
    func inTerminal(_ shell: String, cols: Int = 80, rows: Int = 30) async throws -> (String, Int32) {
        let dir = makeTempDir()
        let typescript = dir + "/typescript"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        p.arguments = ["-qfec", "stty cols \(cols) rows \(rows); \(shell)", typescript]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        var env = ProcessInfo.processInfo.environment
        env["TERM"] = "xterm"
        env["NO_COLOR"] = nil
        p.environment = env
        try p.run()
        await withCheckedContinuation { c in
            Thread {
                p.waitUntilExit()
                c.resume()
            }.start()
        }
        let text = String(decoding: FileManager.default.contents(atPath: typescript) ?? Data(), as: UTF8.self)
        return (text, p.terminationStatus)
    }

    /// A shell loop that waits (up to 60 s) until a `.part` file under `dir` holds more than
    /// `bytes`: the run is then drawing its block, however slowly a loaded machine started it.
    static func untilAPart(in dir: String, over bytes: Int) -> String {
        "t=0; until find \(dir) -name '*.part' -size +\(bytes)c 2>/dev/null | grep -q .; do sleep 0.05; t=$((t+1)); [ $t -gt 1200 ] && break; done"
    }

    static func visible(_ s: String) -> String {
        s.replacingOccurrences(of: #"\x{1b}\[[0-9;]*[A-Za-z]"#, with: "", options: .regularExpression)
            .replacingOccurrences(of: "\r", with: "")
    }

    /// The frames: what was drawn between two erasures of the block.
    static func frames(_ typescript: String) -> [String] { typescript.components(separatedBy: "\u{1b}[J") }

    func fetchCommand(_ server: SandboxServer, _ ids: [String], _ dir: String, _ extra: String = "") throws -> String {
        let list = dir + "/ids.txt"
        try ids.joined(separator: "\n").write(toFile: list, atomically: true, encoding: .utf8)
        return "LUMENFALL_API_KEY=\(server.apiKey) \(try fetchBinary()) -i \(list) -o \(dir)/out --base-url \(server.baseURL) "
            + "--jobs 50 --poll-jobs 50 --poll-interval 0.1 \(extra)"
    }

    @Test func fiftyIdsFitEightyColumnsAndTheEndIsClean() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            var ids = (0..<49).map { _ in
                server.createJob(spec(bytes: 1_500_000) { $0.faults.throttleBytesPerSecond = 1_000_000 })
            }
            ids.append(server.createJob(spec { $0.outcome = "failed" }))
            let (ts, status) = try await inTerminal(try fetchCommand(server, ids, dir))
            #expect(status == 1)  // the failed one
            let frames = Self.frames(ts)
            #expect(frames.count > 5, "redrawn: \(frames.count) frames")
            // Every line drawn fits 80 columns (the scrolled lines are the finished ids' own).
            for f in frames.dropLast() {
                for line in Self.visible(f).split(separator: "\n") where line.hasPrefix("  ") || line.contains("active of") {
                    #expect(line.count < 80, "\(line.count) columns: \(line)")
                }
            }
            // More ids than rows: the most urgent and a "+N more" row.
            #expect(frames.contains { Self.visible($0).contains("more") })
            #expect(frames.contains { Self.visible($0).contains("active of 50") })
            // After the last erasure only lines that stay: no live row, no footer.
            let end = Self.visible(frames.last ?? "")
            #expect(!end.contains("active of"), "\(end)")
            #expect(!end.split(separator: "\n").contains { $0.hasPrefix("  video_") }, "\(end)")
            #expect(end.contains("done: 49 saved"))
        }
    }

    @Test func ctrlCLeavesNoHalfDrawnBlock() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let ids = (0..<5).map { _ in server.createJob(spec(bytes: 4 << 20) { $0.faults.throttleBytesPerSecond = 500_000 }) }
            let cmd = try fetchCommand(server, ids, dir)
            let (ts, status) = try await inTerminal("\(cmd) & p=$!; \(Self.untilAPart(in: dir, over: 1_000_000)); kill -INT $p; wait $p")
            #expect(status == 130)
            let end = Self.visible(Self.frames(ts).last ?? "")
            #expect(!end.contains("active of"), "\(end)")
            #expect(end.contains("interrupted"))
            #expect(Self.frames(ts).count > 3)
        }
    }

    /// The terminal narrows to 50 columns mid-run (SIGWINCH): the rows drawn after fit it.
    @Test func aResizeIsFollowed() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let ids = (0..<6).map { _ in server.createJob(spec(bytes: 3 << 20) { $0.faults.throttleBytesPerSecond = 1 << 20 }) }
            let cmd = try fetchCommand(server, ids, dir)
            let (ts, status) = try await inTerminal(
                "\(cmd) & p=$!; \(Self.untilAPart(in: dir, over: 0)); stty cols 50; kill -WINCH $p; printf 'RESIZED'; wait $p")
            #expect(status == 0)
            let after = try #require(ts.components(separatedBy: "RESIZED").last)
            let frames = Self.frames(after).dropFirst(2).dropLast()  // whole frames drawn after the resize
            #expect(!frames.isEmpty)
            for f in frames {
                for line in Self.visible(f).split(separator: "\n") where line.hasPrefix("  ") || line.contains("active of") {
                    #expect(line.count < 50, "\(line.count) columns: \(line)")
                }
            }
        }
    }

    /// At 60, 80 and 100 columns nothing wraps: rows, footer, the saved lines that scroll
    /// above the block and the closing table. Rows show a percentage; the footer counts the
    /// bytes in flight, not only those of finished files.
    @Test(arguments: [60, 80, 100])
    func nothingWrapsAndTheFooterCountsBytesInFlight(cols: Int) async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            var ids = (0..<5).map { _ in server.createJob(spec(bytes: 3 << 20) { $0.faults.throttleBytesPerSecond = 1 << 20 }) }
            ids.append(server.createJob(spec { $0.outcome = "failed" }))
            let (ts, status) = try await inTerminal(try fetchCommand(server, ids, dir), cols: cols)
            #expect(status == 1)
            let frames = Self.frames(ts)
            for f in frames {
                for line in Self.visible(f).split(separator: "\n") where !line.hasPrefix("Script ") {
                    #expect(line.count < cols, "\(line.count) of \(cols) columns: \(line)")
                }
            }
            // While the first files are still coming, the footer's bytes are not 0.
            let early = frames.prefix { !Self.visible($0).contains("saved") }
            #expect(
                early.contains { f in Self.visible(f).split(separator: "\n").contains { $0.contains("active of") && !$0.contains(" 0 B ") }
                })
            #expect(frames.contains { Self.visible($0).range(of: #"\s\d{1,3}%"#, options: .regularExpression) != nil })
            #expect(frames.contains { Self.visible($0).contains("active of 6") }, "the total, once the input has ended")
            let end = Self.visible(frames.last ?? "")
            #expect(end.contains("not saved:") && end.contains("failed"))
        }
    }

    /// `--json` with stdout on the same terminal: each JSON line is written above the block,
    /// whole, never inside it (which left stale rows in the scrollback).
    @Test func jsonOnTheTerminalStaysAboveTheBlock() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let ids = (0..<4).map { _ in server.createJob(spec(bytes: 2 << 20) { $0.faults.throttleBytesPerSecond = 1 << 20 }) }
            let (ts, status) = try await inTerminal(try fetchCommand(server, ids, dir, "--json"))
            #expect(status == 0)
            var jsonLines = 0
            let frames = Self.frames(ts)
            for (n, f) in frames.enumerated() {
                let lines = Self.visible(f).split(separator: "\n", omittingEmptySubsequences: false)
                // A frame: lines that stay, then the block (rows, then the footer); after the
                // last erasure, no block.
                let blockStart =
                    n == frames.count - 1
                    ? lines.endIndex : lines.firstIndex { $0.hasPrefix("  ") || $0.contains("active of") } ?? lines.endIndex
                for (i, line) in lines.enumerated() where line.contains("\"schema\"") {
                    jsonLines += 1
                    #expect(i < blockStart, "a JSON line inside the block: \(line)")
                    #expect(line.hasPrefix("{") && line.hasSuffix("}"), "\(line)")
                    #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "\(line)")
                }
            }
            #expect(jsonLines >= 8, "queued and saved for each id at least")
        }
    }

    @Test func pipedOutputHasNoEscapeCodes() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(spec(bytes: 2_000_000) { $0.faults.throttleBytesPerSecond = 1_000_000 })
            for mode in ["auto", "plain"] {
                let r = try await server.runCLI(
                    [id, "-o", dir + "/" + mode, "--poll-interval", "0.05", "--progress", mode],
                    env: ["LUMENFALL_API_KEY": server.apiKey, "TERM": "xterm"])
                #expect(r.status == 0)
                expectNoControlCharacters(r.stderr)
                // Plain: a line per 10 % of a download.
                #expect(r.stderr.range(of: #"of 1\.9 MiB \(\d+%\)"#, options: .regularExpression) != nil, "\(r.stderr)")
            }
            let none = try await server.runCLI(
                [id, "-o", dir + "/none", "--poll-interval", "0.05", "--progress", "none"],
                env: ["LUMENFALL_API_KEY": server.apiKey])
            #expect(none.stderr.split(separator: "\n").count == 1, "only the summary: \(none.stderr)")
        }
    }
}
