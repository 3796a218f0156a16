import Foundation

/// Every line a person reads goes out here, with write(2). FileHandle.write traps when the
/// write fails: under systemd SIGPIPE is ignored, so a log reader that went away made the
/// next warning a crash (SIGILL, exit 132). A line that cannot be written is dropped; the
/// work goes on.
enum Console {
    static func err(_ text: String) { write(text, to: STDERR_FILENO) }
    static func out(_ text: String) { write(text, to: STDOUT_FILENO) }

    static func write(_ text: String, to fd: Int32) {
        let bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return }
            done += n
        }
    }
}
