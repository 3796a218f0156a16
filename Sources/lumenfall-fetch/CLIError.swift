import Foundation
import LumenfallCore

/// Documented in docs/reference.md ("Exit codes"), README.md and `--help`; scripts depend on these numbers.
enum Exit {
    static let someFailed: Int32 = 1
    static let setup: Int32 = 2
    static let apiKey: Int32 = 3
    /// The API could not be reached: never within --api-wait, or not again within --outage-limit.
    static let apiUnreachable: Int32 = 4
    /// Bad usage (a typo, a missing value, options that do not go together): what the argument
    /// parser uses, EX_USAGE.
    static let usage: Int32 = 64
    static let sigint: Int32 = 130
    static let sigterm: Int32 = 143

    static func forSignal(_ sig: Int32) -> Int32 { sig == SIGINT ? sigint : sigterm }
}

/// The one error the commands throw for a person: a message and the exit code it means.
/// `LumenfallFetch.main` prints it and exits; nothing else in the CLI calls `exit()` (but the
/// signal handlers, which must stop the process at once).
struct CLIError: Error {
    let code: Int32
    let message: String

    /// `key`: redacted from the message, should a server have echoed it into what we quote.
    init(code: Int32, _ message: String, redacting key: APIKey? = nil) {
        self.code = code
        self.message = key.map { $0.redact(message) } ?? message
    }

    /// A run whose outcome was already reported line by line: only the exit code is left.
    static func silent(_ code: Int32) -> CLIError { CLIError(code: code, "") }
}
