import ArgumentParser
import Foundation
import LumenfallCore
import LumenfallCurl

/// `doctor`: checks what a fetch needs before one is run, each with what to do when it fails.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the key, the API (reachable, key accepted, clock), the output folder and libcurl, each with what to do.",
        discussion: "It reads the [fetch] table of the config file: it checks what fetch would use.")

    @OptionGroup(title: "Configuration") var configFile: ConfigOptions
    @OptionGroup(title: "Connection") var connection: ConnectionOptions

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("The output folder to check. (default: .)", valueName: "DIR"))
    var output = "."

    /// A clock further off than this from the API's is reported: webhook timestamps more than
    /// 300 s from ours are refused, so a few seconds is normal and a minute is a warning.
    static let clockWarning = 60.0

    @OptionGroup(title: "Logging") var logging: LogOptions

    func run() async throws {
        var failed = 0
        func report(_ ok: Bool, _ what: String, _ text: String) {
            if !ok { failed += 1 }
            print("\(ok ? "ok  " : "FAIL")  \(what): \(TerminalText.safe(text))")
        }
        // The key: present, readable, plausible. Never shown.
        var key: APIKey?
        do {
            let k = try connection.loadKey()
            key = k
            report(
                !k.looksTooShort, "key",
                "\(connection.keySource) holds a key\(k.looksTooShort ? " shorter than \(APIKey.minRedactedLength) characters: it looks wrong" : "")"
            )
        } catch {
            report(false, "key", error.message)
        }
        // The API: one request for an id that cannot exist (404 with a good key, 401 with a bad one).
        let api = connection.makeClient(key: key ?? APIKey("lmnfl_doctor_without_a_key")!)
        let base = URLPolicy.redacted(connection.resolvedBaseURL)
        let probe = await api.probe()
        let took = String(format: "%.2f s", probe.seconds)
        let via = probe.httpVersion.map { " over HTTP/\($0)" } ?? ""
        switch probe.status {
        case nil:
            report(
                false, "API", "\(base) could not be reached (\(probe.failure ?? "no answer")); check --base-url, the network and any proxy")
        case 401?:
            report(
                false, "API", "\(base) answered in \(took)\(via) but refused the key (HTTP 401); check the key in \(connection.keySource)")
        case let s? where s == 404 || (200..<300).contains(s):
            report(key != nil, "API", "\(base) answered in \(took)\(via)\(key != nil ? "; the key was accepted" : "; no key to check")")
        case let s?:
            report(false, "API", "\(base) answered HTTP \(s) in \(took); a Videos API answers 404 for an unknown id")
        }
        if let server = probe.serverDate {
            let skew = Date().addingTimeInterval(-probe.seconds / 2).timeIntervalSince(server)
            let ok = abs(skew) < Self.clockWarning
            report(
                ok, "clock",
                String(format: "%.0f s from the API's", skew)
                    + (ok
                        ? " (webhook timestamps allow 300 s)"
                        : "; webhook deliveries are refused past 300 s: sync the clock (timedatectl set-ntp true)"))
        } else if probe.status != nil {
            report(true, "clock", "the API sent no Date header; not compared")
        }
        checkFolder(report)
        let curl = LibcurlFeatures.current
        report(
            curl.tls != nil, "libcurl",
            "\(libcurlVersion)\(curl.tls == nil ? ": built without TLS, https cannot work" : "")"
                + (curl.http2 ? "; HTTP/2 on" : "; no HTTP/2 (HTTP/1.1 works)"))
        print(failed == 0 ? "doctor: every check passed" : "doctor: \(failed) check\(failed == 1 ? "" : "s") failed")
        if failed > 0 { throw CLIError.silent(Exit.someFailed) }
    }

    /// Writable (a file made and removed), and the space free on it.
    func checkFolder(_ report: (Bool, String, String) -> Void) {
        var existing = output
        while AtomicFile.folderProblem(existing) != nil {
            let parent = (existing as NSString).deletingLastPathComponent
            if parent.isEmpty || parent == existing {
                existing = "."
                break
            }
            existing = parent
        }
        let probe = "\(existing)/.lumenfall-doctor-\(getpid())"
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            report(false, "folder", "\(existing) is not writable (\(String(cString: strerror(errno)))); give -o a folder you can write")
            return
        }
        close(fd)
        unlink(probe)
        var fs = statvfs()
        let free = statvfs(existing, &fs) == 0 ? Int64(fs.f_bavail) * Int64(fs.f_frsize) : -1
        let made = existing == output ? "" : " (\(output) does not exist yet; fetch makes it in \(existing))"
        report(true, "folder", "\(output) is writable\(made); \(free >= 0 ? formatBytes(free) : "unknown space") free")
    }
}
