import ArgumentParser
import Foundation
import LumenfallCore
import LumenfallCurl

/// How to reach the API: shared by every subcommand that talks to it.
struct ConnectionOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "API base URL (default: $LUMENFALL_BASE_URL, else \(APIClient.defaultBaseURL)).", valueName: "URL"))
    var baseURL: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Read the API key from this file instead of $LUMENFALL_API_KEY.", valueName: "PATH"))
    var apiKeyFile: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Trust the CA certificates in this PEM file instead of the system's (as curl's --cacert); default: $CURL_CA_BUNDLE, then $SSL_CERT_FILE.",
            valueName: "FILE"))
    var cacert: String?

    /// --cacert, else the variables curl and OpenSSL honour.
    var resolvedCAFile: String? {
        let env = ProcessInfo.processInfo.environment
        return cacert ?? [env["CURL_CA_BUNDLE"], env["SSL_CERT_FILE"]].compactMap { $0 }.first { !$0.isEmpty }
    }

    var resolvedBaseURL: String {
        baseURL ?? ProcessInfo.processInfo.environment["LUMENFALL_BASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
            ?? APIClient.defaultBaseURL
    }

    /// Where the key came from, for messages that ask a person to check it.
    var keySource: String { apiKeyFile ?? "LUMENFALL_API_KEY" }

    func validate() throws {
        if let ca = resolvedCAFile, !FileManager.default.isReadableFile(atPath: ca) {
            throw ValidationError("--cacert \(ca): cannot read this file; give a PEM file of CA certificates")
        }
        if let why = APIClient.checkBaseURL(resolvedBaseURL) {
            throw ValidationError("--base-url \(URLPolicy.redacted(resolvedBaseURL)): \(why)")
        }
    }

    func makeClient(key: APIKey, multi: CurlMulti = .shared) -> APIClient {
        var api = APIClient(baseURL: resolvedBaseURL, key: key)
        api.multi = multi
        api.caFile = resolvedCAFile
        return api
    }

    /// The key, or an error saying where it was looked for. The key itself is never shown.
    func loadKey() throws(CLIError) -> APIKey {
        let key = try loadKeyUnchecked()
        if key.looksTooShort {
            Diagnostics.line(
                "warning: the API key is shorter than \(APIKey.minRedactedLength) characters and looks wrong; it is not redacted from output"
            )
        }
        return key
    }

    private func loadKeyUnchecked() throws(CLIError) -> APIKey {
        if let path = apiKeyFile {
            // Bounded, never blocking (a FIFO or /dev/zero named by mistake), a regular file only.
            guard let bytes = SecretFile.read(path),
                let text = String(validating: bytes, as: UTF8.self)
            else {
                throw CLIError(
                    code: Exit.apiKey, "cannot read the API key file \(path): it must be a readable regular file of UTF-8 text under 64 KiB"
                )
            }
            guard let key = APIKey(text) else {
                throw CLIError(code: Exit.apiKey, "the API key file \(path) is empty or holds more than one line")
            }
            SecretFile.warnIfExposed(path, what: "API key")
            return key
        }
        guard let raw = ProcessInfo.processInfo.environment["LUMENFALL_API_KEY"], !raw.isEmpty else {
            throw CLIError(
                code: Exit.apiKey, "no API key: set LUMENFALL_API_KEY (export LUMENFALL_API_KEY=lmnfl_...) or pass --api-key-file PATH")
        }
        guard let key = APIKey(raw) else {
            throw CLIError(code: Exit.apiKey, "LUMENFALL_API_KEY is malformed (it contains a line break); set it to the key alone")
        }
        return key
    }
}
