import Foundation

/// Any error as a person reads it, composed by us: our own errors say what they are; a
/// Foundation or POSIX error is reduced to the system's words for its errno ("No such file or
/// directory"), never "The operation could not be completed. (NSCocoaErrorDomain error 512.)";
/// anything else is named, never dumped as a Swift value with `Optional(...)` in it.
package enum ErrorText {
    package static func describe(_ error: Error) -> String {
        switch error {
        case let f as FetchFailure: return f.message
        case let d as DownloadError: return Fetcher.failure(d).message
        case is CancellationError: return "interrupted"
        default: break
        }
        let foundation = type(of: error) is NSError.Type || error is CocoaError || error is POSIXError || error is URLError
        guard foundation else {
            // Our own errors compose their text (CustomStringConvertible); anything that would
            // print as a dumped Swift value is named instead.
            let text = String(describing: error)
            return looksDumped(text) ? "an unexpected error (\(type(of: error)))" : text
        }
        let ns = error as NSError
        if let errno = posixCode(ns) { return String(cString: strerror(errno)) }
        if ns.domain == NSCocoaErrorDomain, let words = cocoaWords[ns.code] { return words }
        if ns.domain == NSURLErrorDomain { return "a network error (\(ns.code))" }
        return "an unexpected error (\(ns.domain) \(ns.code))"
    }

    /// Text a person should never read: Swift's spelling of a value, Foundation's stock phrases.
    package static func looksDumped(_ text: String) -> Bool {
        let tells = ["Optional(", "NSCocoaErrorDomain", "Error Domain=", "The operation could not be completed", "(rawValue:"]
        if tells.contains(where: text.contains) { return true }
        // `caseName(label: value, ...)`: an enum case with associated values, dumped.
        return text.range(of: #"^[a-zA-Z_][a-zA-Z0-9_.]*\([a-zA-Z_][a-zA-Z0-9_]*: "#, options: .regularExpression) != nil
    }

    private static func posixCode(_ e: NSError) -> Int32? {
        if e.domain == NSPOSIXErrorDomain { return Int32(truncatingIfNeeded: e.code) }
        if let underlying = e.userInfo[NSUnderlyingErrorKey] as? NSError { return posixCode(underlying) }
        return nil
    }

    private static let cocoaWords: [Int: String] = [
        NSFileNoSuchFileError: "no such file or folder",
        NSFileReadNoSuchFileError: "no such file or folder",
        NSFileReadNoPermissionError: "permission denied",
        NSFileWriteNoPermissionError: "permission denied",
        NSFileWriteOutOfSpaceError: "no space left on the device",
        NSFileWriteVolumeReadOnlyError: "the file system is read-only",
        NSFileWriteFileExistsError: "a file is in the way",
        NSFileReadCorruptFileError: "the file is damaged",
        NSFileReadInvalidFileNameError: "the name is not valid",
        NSFileWriteInvalidFileNameError: "the name is not valid",
        NSFileReadUnknownError: "it cannot be read",
        NSFileWriteUnknownError: "it cannot be written",
    ]
}
