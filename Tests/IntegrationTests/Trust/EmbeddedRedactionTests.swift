import Foundation
import LumenfallCore
import LumenfallSandbox
import Testing

/// An app that embeds the library gets no text with the key in it, even from a server that
/// echoes what it was sent: every event and the report's failures are redacted by the Fetcher
/// (the command redacts again as it prints).
@Suite(.removesTempDirs) struct EmbeddedRedactionTests {
    @Test func aServerEchoingTheKeyReachesNoEventAndNoFailureOfTheReport() async throws {
        try await withSandbox { server in
            let key = server.apiKey
            let failed = server.createJob(
                spec {
                    $0.outcome = "failed"
                    $0.errorMessage = "refused for the caller with key \(key)"
                })
            let log = EventLog()
            let report = await fetch(server, [failed], dir: makeTempDir(), events: log)
            #expect(!report.allSucceeded)
            let texts = log.all.map { String(describing: $0) } + report.tally.failures.map(\.failure.message)
            #expect(texts.contains { $0.contains("refused for the caller with key") }, "the server's words are kept: \(texts)")
            for t in texts { #expect(!t.contains(key), "\(t)") }
        }
    }
}
