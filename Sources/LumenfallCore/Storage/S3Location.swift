import Foundation

/// `s3://bucket/prefix/`: where objects go. The prefix has no leading slash and, when not
/// empty, ends with one.
public struct S3Location: Sendable, Equatable, CustomStringConvertible {
    public var bucket: String
    public var prefix: String

    /// nil with the reason when the text is not a usable `s3://bucket[/prefix]`.
    public static func parse(_ text: String) -> Result<S3Location, S3Error> {
        guard text.hasPrefix("s3://") else { return .failure(.usage("\(text) is not an s3:// address")) }
        let rest = text.dropFirst(5)
        let bucket = String(rest.prefix { $0 != "/" })
        // S3's rules for new buckets: 3-63 characters, lower-case letters, digits, '.' and '-'.
        let okChars = bucket.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "." || $0 == "-" }
        guard (3...63).contains(bucket.count), okChars, bucket.first != ".", bucket.first != "-" else {
            return .failure(.usage("\(text): the bucket name must be 3-63 lower-case letters, digits, '.' or '-'"))
        }
        var prefix = String(rest.dropFirst(bucket.count).drop { $0 == "/" })
        if !prefix.isEmpty && !prefix.hasSuffix("/") { prefix += "/" }
        guard !prefix.contains("//"), !prefix.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }),
            prefix.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F })
        else {
            return .failure(.usage("\(text): the prefix may not hold empty, '.' or '..' segments or control characters"))
        }
        return .success(S3Location(bucket: bucket, prefix: prefix))
    }

    public var description: String { "s3://\(bucket)/\(prefix)" }
    public func key(_ name: String) -> String { prefix + name }
}

extension S3Location {
    /// `s3://bucket/path/name.tar.zst`: the bucket (prefix empty) and the object's key.
    package static func parseObject(_ text: String) -> Result<(S3Location, String), S3Error> {
        switch parse(text) {
        case .failure(let e): return .failure(e)
        case .success(let l):
            let key = String(l.prefix.dropLast())  // parse added the trailing slash
            guard !key.isEmpty else { return .failure(.usage("\(text): name the object, e.g. s3://\(l.bucket)/archives/2026-11.tar.zst")) }
            return .success((S3Location(bucket: l.bucket, prefix: ""), key))
        }
    }
}
