import ArgumentParser

/// `--listen ADDR:PORT` (`[::1]:8787` for IPv6), parsed once into its parts.
struct ListenAddress: ExpressibleByArgument, CustomStringConvertible, Sendable {
    let host: String
    let port: Int

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// For `@Option(transform:)`: a bad value names what to give.
    static func parse(_ text: String) throws -> ListenAddress {
        guard let a = ListenAddress(argument: text) else {
            throw ValidationError("give ADDR:PORT, e.g. 0.0.0.0:8443, 127.0.0.1:8787 or [::1]:8787")
        }
        return a
    }

    init?(argument: String) {
        guard let colon = argument.lastIndex(of: ":"), let port = Int(argument[argument.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        var host = String(argument[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.host = host
        self.port = port
    }

    var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    var defaultValueDescription: String { description }
}
