import Foundation
import LumenfallSandbox
import Testing

@testable import LumenfallCore

@Suite(.removesTempDirs) struct HostileFolderTests {
    /// Each of our names, planted as a link to a file outside the folder: the id fails with a
    /// message naming the link, the victim is untouched, and the link is left where it was.
    @Test(arguments: ["part", "final", "sidecar", "state"])
    func aPlantedLinkIsRefusedNotFollowed(which: String) async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let victim = Victim()
            let id = server.createJob(spec(bytes: 50_000) { $0.faults.dropAfterBytes = which == "state" ? 20_000 : nil })
            let link =
                switch which {
                case "part": "\(dir)/\(id).mp4.part"
                case "final": "\(dir)/\(id).mp4"
                case "sidecar": "\(dir)/\(id).json"
                default: "\(dir)/\(id).mp4.part.state"
                }
            try plantLink(link, to: victim.path)
            let report = await fetch(server, [id], dir: dir)
            victim.expectUnchanged()
            let f = try failure(of: report, at: 0, "a link where our file belongs must stop the id")
            #expect(f.message.contains(link) && f.message.contains("symbolic link"), "\(f.message)")
            #expect(AtomicFile.isSymlink(link), "the link is not ours to delete")
        }
    }

    @Test func aHardLinkPlantedAsThePartIsRefused() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let victim = Victim()
            let id = server.createJob(spec(bytes: 50_000))
            let part = "\(dir)/\(id).mp4.part"
            try FileManager.default.linkItem(atPath: victim.path, toPath: part)
            let report = await fetch(server, [id], dir: dir)
            victim.expectUnchanged()
            let f = try failure(of: report, at: 0, "a hard link must not be written through")
            #expect(f.message.contains("hard links"), "\(f.message)")
        }
    }

    @Test func hostileFilesUnderOurNamesAreNotReadWhole() throws {
        let dir = makeTempDir()
        // A FIFO as a sidecar would block a plain read for ever; a link is not a sidecar.
        #expect(mkfifo("\(dir)/video_fifo.json", 0o644) == 0)
        try plantLink("\(dir)/video_link.json", to: "/dev/zero")
        let scanned = try ArchiveItem.scan(directory: dir)
        #expect(scanned.items.isEmpty)
        #expect(scanned.problems.count == 2)
    }

    @Test func aPlantedLockLinkIsRefused() async throws {
        let dir = makeTempDir()
        let victim = Victim()
        try plantLink("\(dir)/\(DirectoryLock.fileName)", to: victim.path)
        let r = try await runCLI(
            ["video_a", "-o", dir, "--base-url", "http://127.0.0.1:9/openai/v1"],
            env: ["LUMENFALL_API_KEY": "lmnfl_0123456789"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("symbolic link"))
        victim.expectUnchanged()
    }

    /// The temp names of the old scheme (`.<name>.tmp-<pid>`) were predictable: a link planted
    /// there for our own pid is now never used.
    @Test func predictableTempNamesAreNotUsed() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let victim = Victim()
            let id = server.createJob(spec(bytes: 20_000) { $0.faults.dropAfterBytes = 5_000 })
            for name in ["\(id).json", "\(id).mp4.part.state"] {
                try plantLink("\(dir)/.\(name).tmp-\(getpid())", to: victim.path)
            }
            let report = await fetch(server, [id], dir: dir)
            #expect(report.allSucceeded)
            try expectSaved(server, id, dir: dir)
            victim.expectUnchanged()
            let a = try AtomicFile.createTemp(beside: "\(dir)/x")
            let b = try AtomicFile.createTemp(beside: "\(dir)/x")
            close(a.fd)
            close(b.fd)
            #expect(a.path != b.path)
        }
    }

    @Test func anArchiveNameThatIsALinkIsRefused() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(spec(bytes: 20_000))
            let report = await fetch(server, [id], dir: dir)
            #expect(report.allSucceeded)
            let victim = Victim()
            let out = makeTempDir() + "/out.tar"
            try plantLink(out, to: victim.path)
            // The old temp name too.
            try plantLink((out as NSString).deletingLastPathComponent + "/.out.tar.tmp-\(getpid())", to: victim.path)
            let r = try await runCLI(["archive", dir, "-o", out])
            #expect(r.status == 1)
            #expect(r.stderr.contains("\(out) is a symbolic link"))
            victim.expectUnchanged()
            #expect(AtomicFile.isSymlink(out))
        }
    }

    /// The parts of a split archive are renamed as one step: whenever the signal lands, either
    /// every part has its final name or none has, and no temp is left.
    @Test func anInterruptedSplitArchiveIsAllOrNothing() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let ids = (0..<6).map { _ in server.createJob(spec(bytes: 300_000)) }
            let report = await fetch(server, ids, dir: dir)
            #expect(report.allSucceeded)
            for delayMs in [0, 20, 40, 80, 120, 200] {
                let outDir = makeTempDir()
                let p = try CLIProcess(["archive", dir, "-o", outDir + "/a.tar", "--max-size", "300K"])
                try await Task.sleep(nanoseconds: UInt64(delayMs) * 1_000_000)
                kill(p.process.processIdentifier, SIGINT)
                let r = await p.result()
                let (parts, temps) = archiveFiles(in: outDir)
                #expect(temps == 0, "temp parts left in \(outDir)")
                #expect(parts == 0 || parts == 6, "after \(delayMs) ms: \(parts) of 6 parts (exit \(r.status))")
                // Stopped before the commit: exit 130 (or killed before the handler was set).
                #expect(parts == 6 || r.status == 130 || r.reason == .uncaughtSignal, "\(parts) parts, \(r.reason) \(r.status) \(r.stderr)")
            }
        }
    }

    @Test func anAbortedCommitDeletesItsTempsAndACommittedOneStays() throws {
        let dir = makeTempDir()
        let commit = ArchiveCommit()
        let (temp, fd) = try commit.createTemp(beside: dir + "/a.tar")
        close(fd)
        #expect(commit.abort())
        #expect(!FileManager.default.fileExists(atPath: temp))
        #expect(throws: Archiver.Failure.self) { _ = try commit.createTemp(beside: dir + "/b.tar") }

        let done = ArchiveCommit()
        let (t2, fd2) = try done.createTemp(beside: dir + "/c.tar")
        close(fd2)
        try done.commit([(t2, dir + "/c.tar")])
        #expect(!done.abort())
        #expect(FileManager.default.fileExists(atPath: dir + "/c.tar"))
    }
}
