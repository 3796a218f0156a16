import Foundation

/// The name a worker gives in its claims: the host, and a token kept in its work folder. The
/// folder's lock lets one process at a time use it, so the name is one worker's; and a run
/// killed mid-download that starts again in the same folder is the same worker, which takes
/// back its own claims at once (with a process id in the name it would wait for them to go
/// stale, the claim TTL).
public enum WorkerIdentity {
    public static let fileName = ".lumenfall-worker"

    /// Reads `directory/.lumenfall-worker`, or writes a new random token there. The file is
    /// input like any other: only 32 lowercase hex digits are taken; anything else (a link, a
    /// FIFO, junk) is replaced by a fresh token.
    public static func load(directory: String, host: String = ProcessInfo.processInfo.hostName) throws -> String {
        let path = "\(directory)/\(fileName)"
        if let bytes = AtomicFile.readSmall(path, limit: 256) {
            let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if isToken(text) { return name(host: host, token: text) }
        }
        var random = [UInt8](repeating: 0, count: 16)
        for i in random.indices { random[i] = UInt8.random(in: 0...255) }
        let token = Hex.string(random)
        try AtomicFile.write(Array((token + "\n").utf8), to: path)
        return name(host: host, token: token)
    }

    static func isToken(_ s: String) -> Bool {
        s.utf8.count == 32 && s.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// A host name is printable ASCII here (it goes into a JSON string and into messages).
    static func name(host: String, token: String) -> String {
        let h = String(host.unicodeScalars.filter { $0.isASCII && $0.value > 32 && $0 != "\"" && $0 != "\\" }.prefix(64))
        return "\(h.isEmpty ? "host" : h)/\(token)"
    }
}
