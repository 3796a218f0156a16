import Foundation

/// Ids become file names inside the output folder, so they are checked before any request:
/// letters, digits, `_`, `-`, `.`; not `.` or `..`; at most 128 characters. Nothing else can
/// name a path outside the folder.
package enum VideoID {
    package static let maxLength = 128

    /// nil when valid, else why not.
    package static func problem(with id: String) -> String? {
        if id.isEmpty { return "the id is empty" }
        if id.utf8.count > maxLength { return "the id is longer than \(maxLength) characters" }
        if id == "." || id == ".." { return "'\(id)' is not an id" }
        for u in id.unicodeScalars {
            let ok =
                (u >= "a" && u <= "z") || (u >= "A" && u <= "Z") || (u >= "0" && u <= "9")
                || u == "_" || u == "-" || u == "."
            if !ok { return "ids may contain only letters, digits, '_', '-' and '.'" }
        }
        return nil
    }

    /// Reads ids from an input file's text: one a line, blank lines and `#` comments skipped.
    package static func parseList(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            var s = Substring(line)
            if let hash = s.firstIndex(of: "#") { s = s[..<hash] }
            let t = s.trimmingCharacters(in: .whitespaces)
            return t.isEmpty ? nil : t
        }
    }
}
