import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

@Suite(.removesTempDirs) struct FetchTests {
    @Test func pollsUntilCompletedThenSavesTheVideoAndSidecar() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(
                spec {
                    $0.queuedPolls = 2
                    $0.processingPolls = 3
                    $0.extraField = true
                })
            let log = EventLog()
            let report = await fetch(server, [id], dir: dir, events: log)
            #expect(report.allSucceeded)
            try expectSaved(server, id, dir: dir)
            let statuses = log.all.compactMap { e -> String? in
                if case .status(_, let s, _) = e { return s.text }
                return nil
            }
            // One event per change of status or whole percent: 2 polls queued, 3 in progress.
            #expect(statuses == ["queued", "in_progress", "in_progress", "in_progress", "completed"])
            #expect(apiRequests(server, id).count == 6)
            let progress = log.all.compactMap { e -> Double? in
                if case .status(_, .inProgress, let p) = e { return p }
                return nil
            }
            #expect(progress == [25, 50, 75])

            // The video object is kept as it came, fields we do not model included.
            let side = try sidecar(dir, id)
            let video = try #require(side["video"] as? [String: Any])
            #expect(video["prompt"] as? String == SandboxJobSpec().prompt)
            let meta = try #require(video["metadata"] as? [String: Any])
            #expect((meta["cost_estimate"] as? NSNumber)?.doubleValue == 0.21)
            #expect(meta["cost_currency"] as? String == "USD")
            #expect((video["x_sandbox"] as? [String: Any])?["emoji"] as? String == "🎬")
            let dl = try #require(side["download"] as? [String: Any])
            #expect(dl["file"] as? String == "\(id).mp4")
            #expect(dl["content_type"] as? String == "video/mp4")
            #expect(dl["media_host"] as? String == "127.0.0.1:\(server.port)")
            #expect(dl["tool_version"] as? String == lumenfallFetchVersion)
            #expect(!String(describing: dl).contains("signature"))
        }
    }

    @Test func aDroppedConnectionResumesFromTheOffsetWithIfRange() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(
                spec {
                    $0.faults.dropAfterBytes = 300_000
                    $0.faults.dropTimes = 2
                })
            let report = await fetch(server, [id], dir: dir)
            #expect(report.allSucceeded)
            try expectSaved(server, id, dir: dir)
            let media = mediaRequests(server, id)
            #expect(media.count == 3)
            #expect(media[0].range == nil)
            #expect(media[1].range == "bytes=300000-")
            #expect(media[1].ifRange == "\"\(id)-v0-\(1 << 20)\"")
            #expect(media[1].status == 206)
            #expect(media[2].range == "bytes=600000-")
        }
    }

    @Test func aServerThatIgnoresRangeMakesUsStartOverNotAppend() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(
                spec {
                    $0.faults.dropAfterBytes = 200_000
                    $0.faults.ignoreRange = true
                })
            let report = await fetch(server, [id], dir: dir)
            #expect(report.allSucceeded)
            try expectSaved(server, id, dir: dir)
            let media = mediaRequests(server, id)
            #expect(media.count == 2)
            #expect(media[1].range == "bytes=200000-")
            #expect(media[1].status == 200)
        }
    }

    @Test func contentChangedBetweenAttemptsIsDownloadedAfresh() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(
                spec {
                    $0.faults.dropAfterBytes = 250_000
                    $0.faults.changeContentAfterRequests = 1
                })
            let before = try #require(server.content(for: id)).allBytes()
            let report = await fetch(server, [id], dir: dir)
            #expect(report.allSucceeded)
            let after = try #require(server.content(for: id)).allBytes()
            #expect(sha256Hex(before) != sha256Hex(after))
            try expectSaved(server, id, dir: dir)  // the new bytes, not a splice of both
            let media = mediaRequests(server, id)
            #expect(media[1].ifRange == "\"\(id)-v0-\(1 << 20)\"")
            #expect(media[1].status == 200)
        }
    }

    @Test func rateLimitsAndServerErrorsAreRetriedHonouringRetryAfter() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(
                spec {
                    $0.faults.apiErrors = [
                        SandboxAPIFault(status: 429, retryAfter: "1"),
                        SandboxAPIFault(status: 503, retryAfter: "0"),
                        SandboxAPIFault(status: 502),
                    ]
                    $0.faults.mediaErrorStatus = 503
                    $0.faults.mediaErrorTimes = 2
                    $0.faults.retryAfter = "1"
                })
            let log = EventLog()
            let start = Date()
            let report = await fetch(server, [id], dir: dir, events: log)
            #expect(report.allSucceeded)
            try expectSaved(server, id, dir: dir)
            // Two waits of Retry-After: 1 s on the API, two on the media host.
            #expect(Date().timeIntervalSince(start) >= 2.9)
            #expect(apiRequests(server, id).prefix(3).map(\.status) == [429, 503, 502])
            #expect(mediaRequests(server, id).map(\.status) == [503, 503, 200])
            let retries = log.all.filter {
                if case .download(_, .retrying(_, let d, _)) = $0 { return d == 1 }
                return false
            }
            #expect(retries.count == 2)
        }
    }

    @Test func aFailedGenerationInABatchDoesNotStopTheOthers() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let good = (0..<3).map { _ in server.createJob(spec(bytes: 200_000)) }
            let bad = server.createJob(spec { $0.outcome = "failed" })
            let cancelled = server.createJob(spec { $0.outcome = "cancelled" })
            let odd = server.createJob(spec { $0.outcome = "archived" })
            let report = await fetch(server, [good[0], bad, good[1], cancelled, good[2], odd], dir: dir)
            #expect(!report.allSucceeded)
            for id in good { try expectSaved(server, id, dir: dir) }
            let byID = Dictionary(uniqueKeysWithValues: report.outcomes.map { ($0.id, $0.outcome) })
            guard case .failed(let f)? = byID[bad] else {
                Issue.record("the failed job must fail")
                return
            }
            #expect(f.kind == .generationFailed)
            #expect(f.message.contains("The prompt was flagged by the provider's safety system."))
            guard case .failed(let c)? = byID[cancelled], case .failed(let o)? = byID[odd] else {
                Issue.record("cancelled and unknown statuses are not success")
                return
            }
            #expect(c.kind == .cancelled)
            #expect(o.kind == .unknownStatus)
            for id in [bad, cancelled, odd] {
                #expect(!FileManager.default.fileExists(atPath: "\(dir)/\(id).mp4"))
                #expect(!FileManager.default.fileExists(atPath: "\(dir)/\(id).json"))
                #expect(mediaRequests(server, id).isEmpty)
            }
        }
    }

    @Test func aBadKeyStopsEverythingAtOnce() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let ids = (0..<5).map { _ in server.createJob(spec()) }
            let report = await fetch(server, ids, dir: dir, key: "lmnfl_wrong_key") { $0.pollJobs = 1 }
            #expect(report.authenticationFailure?.contains("401") == true)
            #expect(report.outcomes.allSatisfy { !$0.outcome.succeeded })
            // No retries, and nothing more after the first 401.
            #expect(server.requests().count == 1)
            let written = try FileManager.default.contentsOfDirectory(atPath: dir)
            #expect(written.isEmpty)
        }
    }

    @Test func anExpiredSignedURLIsRefreshedAndTheSamePartResumed() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(
                spec {
                    $0.faults.dropAfterBytes = 300_000
                    $0.faults.expireURLAfterRequests = 1
                })
            let report = await fetch(server, [id], dir: dir)
            #expect(report.allSucceeded)
            try expectSaved(server, id, dir: dir)
            let media = mediaRequests(server, id)
            #expect(media.map(\.status) == [200, 403, 206])
            #expect(media[2].range == "bytes=300000-")
            #expect(media[0].path != media[2].path, "the second link is a fresh one")
            // The refresh is a GET of the video object between the 403 and the resume.
            let all = server.requests().map(\.path)
            let denied = try #require(all.lastIndex { $0 == media[1].path })
            #expect(all[denied + 1] == "/openai/v1/videos/\(id)")
        }
    }

    @Test func anOutputExpiredForGoodIsReportedAndThePartKept() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(spec { $0.urlTTL = -120 })
            let report = await fetch(server, [id], dir: dir)
            let f = try failure(of: report, at: 0, "an expired output cannot succeed")
            #expect(f.kind == .expired)
            #expect(f.message.hasPrefix("output expired at 20"))
            #expect(f.message.contains("Z"))
            #expect(!FileManager.default.fileExists(atPath: "\(dir)/\(id).mp4"))
        }
    }

    @Test func aPartialFromAnEarlierRunIsResumedNotRestarted() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(spec { $0.faults.dropAfterBytes = 400_000 })
            let first = await fetch(server, [id], dir: dir, retries: 0)
            let f = try failure(of: first, at: 0, "with no retries the drop must fail the id")
            #expect(f.kind == .download)
            #expect(AtomicFile.size(of: "\(dir)/\(id).mp4.part") == 400_000)
            #expect(FileManager.default.fileExists(atPath: "\(dir)/\(id).mp4.part.state"))
            // A new Fetcher: nothing in memory, only what is on disk.
            let second = await fetch(server, [id], dir: dir)
            #expect(second.allSucceeded)
            try expectSaved(server, id, dir: dir)
            let media = mediaRequests(server, id)
            #expect(media.count == 2)
            #expect(media[1].range == "bytes=400000-")
            #expect(media[1].ifRange != nil)
            #expect((try sidecar(dir, id)["download"] as? [String: Any])?["content_type"] as? String == "video/mp4")
        }
    }

    @Test func aCompletePartIsFinishedByA416WithoutDownloadingAgain() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(spec(bytes: 100_000))
            let bytes = try #require(server.content(for: id)).allBytes()
            #expect(FileManager.default.createFile(atPath: "\(dir)/\(id).mp4.part", contents: Data(bytes)))
            let report = await fetch(server, [id], dir: dir)
            #expect(report.allSucceeded)
            try expectSaved(server, id, dir: dir)
            #expect(mediaRequests(server, id).map(\.status) == [416])
        }
    }

    @Test func aRerunMakesNoRequestForFinishedIds() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let ids = (0..<3).map { _ in server.createJob(spec(bytes: 100_000)) }
            #expect(await fetch(server, ids, dir: dir).allSucceeded)
            let before = server.requests().count
            let again = await fetch(server, ids, dir: dir)
            #expect(again.allSucceeded)
            #expect(again.outcomes.allSatisfy { $0.outcome == .alreadySaved(file: "\($0.id).mp4") })
            #expect(server.requests().count == before)
        }
    }

    @Test func aVideoWithoutItsSidecarIsCheckedBy416BeforeItGetsOne() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(spec(bytes: 100_000))
            #expect(await fetch(server, [id], dir: dir).allSucceeded)
            try FileManager.default.removeItem(atPath: "\(dir)/\(id).json")
            #expect(await fetch(server, [id], dir: dir).allSucceeded)
            try expectSaved(server, id, dir: dir)
            let media = mediaRequests(server, id)
            #expect(media.map(\.status) == [200, 416])  // the check moved no body
            #expect(media[1].range == "bytes=100000-")
        }
    }

    @Test func aTruncatedVideoWithoutSidecarIsCompletedNotTrusted() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(spec(bytes: 100_000))
            let bytes = try #require(server.content(for: id)).allBytes()
            #expect(FileManager.default.createFile(atPath: "\(dir)/\(id).mp4", contents: Data(bytes.prefix(60_000))))
            #expect(await fetch(server, [id], dir: dir).allSucceeded)
            try expectSaved(server, id, dir: dir)
            #expect(mediaRequests(server, id).map(\.range) == ["bytes=60000-"])
        }
    }

    @Test func invalidIdsAreSkippedWithoutARequestAndNothingLeavesTheFolder() async throws {
        try await withSandbox { server in
            let parent = makeTempDir()
            let dir = parent + "/out"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let good = server.createJob(spec(bytes: 50_000))
            let bad = ["../escape", "a/b", "..", ".", "", "/etc/passwd", "id with space"]
            let report = await fetch(server, bad + [good], dir: dir)
            for (id, outcome) in report.outcomes where id != good {
                guard case .failed(let f) = outcome else {
                    Issue.record("\(id) must be refused")
                    continue
                }
                #expect(f.kind == .invalidID)
            }
            try expectSaved(server, good, dir: dir)
            #expect(server.requests().allSatisfy { $0.path.contains(good) })
            #expect(try FileManager.default.contentsOfDirectory(atPath: parent) == ["out"])
        }
    }

    @Test func anUnknownIdStopsWithTheAPIsMessage() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let report = await fetch(server, ["video_does_not_exist"], dir: dir)
            let f = try failure(of: report, at: 0, "unknown id must fail")
            #expect(f.kind == .refused)
            #expect(f.message.contains("404"))
            #expect(f.message.contains("No video found with id 'video_does_not_exist'"))
            #expect(apiRequests(server, "video_does_not_exist").count == 1)
        }
    }

    @Test func htmlFromAProxyIsRetriedThenReportedClearly() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let ok = server.createJob(spec { $0.faults.apiErrors = [SandboxAPIFault(status: 200, html: true)] })
            let broken = server.createJob(
                spec { $0.faults.apiErrors = Array(repeating: SandboxAPIFault(status: 200, html: true), count: 10) })
            let report = await fetch(server, [ok, broken], dir: dir)
            try expectSaved(server, ok, dir: dir)
            let f = try failure(of: report, at: 1, "endless HTML must fail")
            #expect(f.message.contains("HTML page instead of JSON"))
            #expect(apiRequests(server, broken).count == 4)  // the first, then maxMalformed (3) retries
        }
    }

    @Test func aStalledTransferIsAbortedAndResumed() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(spec { $0.faults.stallAfterBytes = 200_000 })
            let log = EventLog()
            let report = await fetch(server, [id], dir: dir, events: log) { $0.download.stallTimeout = 1 }
            #expect(report.allSucceeded)
            try expectSaved(server, id, dir: dir)
            let media = mediaRequests(server, id)
            #expect(media.count == 2)
            #expect(media[1].range == "bytes=200000-")
            let stalled = log.all.contains {
                if case .download(_, .retrying(let why, _, _)) = $0 { return why.contains("too slow") || why.contains("imeout") }
                return false
            }
            #expect(stalled)
        }
    }

    @Test func redirectsAreFollowedButOnlyToAllowedSchemes() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let ok = server.createJob(spec { $0.faults.redirect = true })
            let evil = server.createJob(spec { $0.faults.redirectTo = "file:///etc/passwd" })
            let report = await fetch(server, [ok, evil], dir: dir)
            try expectSaved(server, ok, dir: dir)
            let f = try failure(of: report, at: 1, "a redirect to file:// must fail")
            #expect(f.message.contains("file://"))
            #expect(!FileManager.default.fileExists(atPath: "\(dir)/\(evil).mp4"))
        }
    }

    @Test func theContentEndpointIsUsedWithTheKeyWhenThereIsNoOutputURL() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(
                spec {
                    $0.contentEndpointOnly = true
                    $0.faults.dropAfterBytes = 100_000
                })
            let report = await fetch(server, [id], dir: dir)
            #expect(report.allSucceeded)
            try expectSaved(server, id, dir: dir)
            let content = server.requests().filter { $0.path == "/openai/v1/videos/\(id)/content" }
            #expect(content.map(\.status) == [200, 206])
            #expect(content.allSatisfy { $0.authorization == "Bearer \(server.apiKey)" })
            let side = try sidecar(dir, id)
            #expect((side["download"] as? [String: Any])?["source"] as? String == "content_endpoint")
        }
    }

    @Test func theKeyIsInNoFileAndNeverSentToTheMediaHost() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let ids = [
                server.createJob(spec { $0.faults.dropAfterBytes = 100_000 }),
                server.createJob(spec { $0.outcome = "failed" }),
                server.createJob(spec { $0.contentEndpointOnly = true }),
                server.createJob(spec { $0.faults.redirect = true }),
            ]
            // A part left behind too: its state file must not hold the key either.
            let stuck = server.createJob(spec { $0.faults.dropAfterBytes = 50_000 })
            _ = await fetch(server, ids, dir: dir, retries: 1)
            _ = await fetch(server, [stuck], dir: dir, retries: 0)
            let key = try #require(APIKey(server.apiKey))
            let files = try FileManager.default.contentsOfDirectory(atPath: dir)
            #expect(files.contains("\(stuck).mp4.part"))
            #expect(files.contains("\(stuck).mp4.part.state"))
            for f in files {
                let bytes = try #require(fileBytes("\(dir)/\(f)"))
                #expect(!key.occurs(in: bytes), "the key is in \(f)")
            }
            for r in server.requests() where r.path.hasPrefix("/media/") {
                #expect(r.authorization == nil, "the key went to \(r.path)")
            }
        }
    }

    @Test func duplicateIdsAreFetchedOnce() async throws {
        try await withSandbox { server in
            let dir = makeTempDir()
            let id = server.createJob(spec(bytes: 64_000))
            let report = await fetch(server, [id, id, id], dir: dir)
            #expect(report.outcomes.count == 1)
            #expect(mediaRequests(server, id).count == 1)
        }
    }
}
