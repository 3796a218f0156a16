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

/// An archive's place (`archive -o`, `fetch --archive`, `verify`): a local path, or
/// `s3://bucket/key` (one object, or `key-0001...` parts). Parsed once; `path` is the text the
/// Archiver and the messages use.
enum ArchiveTarget: Sendable, CustomStringConvertible {
    case file(String)
    case s3(String)

    /// For writing: the name must pick a compression, and an `s3://` one must name an object.
    static func parseForWriting(_ text: String) throws -> ArchiveTarget {
        if let why = Archiver.checkName(text) { throw ValidationError(why) }
        return try parse(text)
    }

    /// For reading (`verify`): any name; an `s3://` one must name an object.
    static func parse(_ text: String) throws -> ArchiveTarget {
        guard text.hasPrefix("s3://") else { return .file(text) }
        if case .failure(let e) = S3Location.parseObject(text) { throw ValidationError("\(e)") }
        return .s3(text)
    }

    var path: String {
        switch self {
        case .file(let p), .s3(let p): p
        }
    }

    var isS3: Bool {
        if case .s3 = self { return true }
        return false
    }

    var description: String { path }
}
