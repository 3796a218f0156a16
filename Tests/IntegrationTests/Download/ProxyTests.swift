import Foundation
import LumenfallCore
import LumenfallCurl
import LumenfallSandbox
import Testing

@Suite(.removesTempDirs) struct ProxyTests {
    /// Through an https proxy libcurl used to hand the proxy's own "200 Connection
    /// established" to the header callback; taken for the media host's answer, it truncated
    /// the .part before every resume. Now the resume goes through: a Range request after the
    /// drop, and no second full download.
    @Test func aResumeThroughAConnectProxyContinuesThePart() async throws {
        let pki = try TestPKI.make()
        let server = try await SandboxServer.start(tls: SandboxTLS(certificateFile: pki.certFile, keyFile: pki.keyFile))
        let proxy = try ConnectProxy()
        defer {
            proxy.stop()
            Task { try? await server.shutdown() }
        }
        #expect(server.baseURL.hasPrefix("https://"))
        let id = server.createJob(spec(bytes: 1 << 20) { $0.faults.dropAfterBytes = 300_000 })
        let dir = makeTempDir()
        let r = try await server.runCLI(
            [
                id, "-o", dir, "--cacert", pki.caFile,
                "--poll-interval", "0.05", "--retry-delay", "0.05",
            ],
            env: [
                "LUMENFALL_API_KEY": server.apiKey, "https_proxy": "http://127.0.0.1:\(proxy.port)",
                "HTTPS_PROXY": "http://127.0.0.1:\(proxy.port)", "no_proxy": "", "NO_PROXY": "",
            ])
        #expect(r.status == 0, "\(r.stderr)")
        try expectSaved(server, id, dir: dir)
        let media = mediaRequests(server, id)
        #expect(media.count == 2)
        #expect(media.first?.status == 200)
        #expect(media.last?.range == "bytes=300000-")
        #expect(media.last?.status == 206)
        #expect(media.filter { $0.status == 200 }.count == 1, "no second full download")
        #expect(!proxy.connects.isEmpty, "the requests went through the proxy")
    }

    @Test func anUntrustedCertificateFailsClearlyAndCACertsComeFromTheEnvironmentToo() async throws {
        let pki = try TestPKI.make()
        let server = try await SandboxServer.start(tls: SandboxTLS(certificateFile: pki.certFile, keyFile: pki.keyFile))
        defer { Task { try? await server.shutdown() } }
        let id = server.createJob(spec(bytes: 50_000))
        let env = ["LUMENFALL_API_KEY": server.apiKey, "CURL_CA_BUNDLE": "", "SSL_CERT_FILE": ""]
        let untrusted = try await server.runCLI([id, "-o", makeTempDir(), "--retries", "0"], env: env)
        #expect(untrusted.status == 1)
        #expect(untrusted.stderr.lowercased().contains("certificate"), "\(untrusted.stderr)")

        for variable in ["CURL_CA_BUNDLE", "SSL_CERT_FILE"] {
            let dir = makeTempDir()
            let r = try await server.runCLI(
                [id, "-o", dir, "--poll-interval", "0.05"],
                env: env.merging([variable: pki.caFile]) { $1 })
            #expect(r.status == 0, "\(variable): \(r.stderr)")
        }
        let missing = try await runCLI([id, "-o", makeTempDir(), "--cacert", "/nonexistent/ca.pem"], env: env)
        #expect(missing.status == 64)
        #expect(missing.stderr.contains("--cacert /nonexistent/ca.pem"))
    }
}
