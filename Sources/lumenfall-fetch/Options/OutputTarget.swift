import ArgumentParser
import LumenfallCore

/// `-o`: a local folder, or `s3://bucket/prefix/`. Parsed once, here; the commands switch on
/// the case instead of testing the text's prefix.
enum OutputTarget: Sendable, CustomStringConvertible {
    case folder(String)
    case s3(S3Location)

    /// For `@Option(transform:)`: a bad `s3://` address names what is wrong with it.
    static func parse(_ text: String) throws -> OutputTarget {
        guard text.hasPrefix("s3://") else { return .folder(text) }
        switch S3Location.parse(text) {
        case .success(let l): return .s3(l)
        case .failure(let e): throw ValidationError("\(e)")
        }
    }

    var description: String {
        switch self {
        case .folder(let path): path
        case .s3(let l): "\(l)"
        }
    }
}
