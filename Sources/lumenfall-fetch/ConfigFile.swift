import ArgumentParser
import Foundation
import LumenfallCore
import TOMLKit

/// Defaults from a TOML file, as curl has `.curlrc` and yt-dlp its config:
/// `$XDG_CONFIG_HOME/lumenfall-fetch/config.toml` (else `~/.config/lumenfall-fetch/config.toml`),
/// or `--config PATH`, or none with `--no-config`. One table per subcommand, a key per long
/// option with `_` for `-`:
///
///     [fetch]
///     jobs = 8
///     output = "~/videos"
///     base_url = "https://api.lumenfall.ai/openai/v1"
///
/// The entries become arguments placed before the user's own, so the command line wins (for an
/// option that takes one value, the last one given counts). Unknown keys, a key in the wrong
/// type, and the API key itself are errors that name the key and the file.
enum ConfigFile {
    /// A table per subcommand that takes options (a group such as `s3` has none of its own).
    /// `config` and `doctor` have none: `config` shows the file, `doctor` reads `[fetch]` (the
    /// connection and folder it checks are fetch's).
    static let subcommands: [String: ParsableCommand.Type] = Dictionary(
        uniqueKeysWithValues: LumenfallFetch.commands.compactMap { type in
            guard type.configuration.subcommands.isEmpty, let name = type.configuration.commandName, !tableless.contains(name)
            else { return nil }
            return (name, type)
        })

    static let tableless: Set<String> = ["config", "doctor"]

    /// "[fetch], [list], ... or [watch]", in the order the commands are listed.
    static var tableNames: String {
        let names = LumenfallFetch.commands.compactMap { $0.configuration.commandName }.filter { subcommands[$0] != nil }.map { "[\($0)]" }
        return names.dropLast().joined(separator: ", ") + " or " + (names.last ?? "")
    }

    /// The file to read: `--config PATH`, none with `--no-config`, else the usual place if a
    /// file is there.
    static func path(in args: [String], environment env: [String: String]) throws(CLIError) -> String? {
        var explicit: String?
        var i = 0
        while i < args.count, args[i] != "--" {
            if args[i] == "--no-config" { return nil }
            if args[i] == "--config" {
                guard i + 1 < args.count else { throw CLIError(code: 64, "--config needs a file: --config PATH") }
                explicit = args[i + 1]
                i += 1
            } else if args[i].hasPrefix("--config=") {
                explicit = String(args[i].dropFirst("--config=".count))
            }
            i += 1
        }
        if let explicit {
            guard FileManager.default.fileExists(atPath: explicit) else {
                throw CLIError(code: 2, "the config file \(explicit) does not exist; give another with --config, or none with --no-config")
            }
            return explicit
        }
        let home = env["HOME"] ?? NSHomeDirectory()
        let base = env["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(home)/.config"
        let usual = "\(base)/lumenfall-fetch/config.toml"
        return FileManager.default.fileExists(atPath: usual) ? usual : nil
    }

    /// `args` (without the program's name) with the file's defaults for their subcommand
    /// inserted in front of the user's own.
    static func apply(
        to args: [String], environment env: [String: String] = ProcessInfo.processInfo.environment
    ) throws(CLIError) -> [String] {
        guard let file = try path(in: args, environment: env) else { return args }
        // The subcommand the arguments run: named first, else fetch (the default).
        let named = args.first.flatMap { subcommands[$0] != nil ? $0 : nil }
        if let first = args.first, first == "help" || first == "--help" || first == "-h" || first == "--version" { return args }
        let home = env["HOME"] ?? NSHomeDirectory()
        if args.first == "doctor" {
            // fetch's connection and folder, the ones doctor checks; fetch's other keys are not doctor's.
            let fetch = try arguments(from: file, for: "fetch", home: home)
            return ["doctor"] + keep(fetch, of: FetchCommand.self, only: DoctorCommand.self) + Array(args.dropFirst())
        }
        // A subcommand without a table of its own (config, the s3 group): its arguments as typed.
        if named == nil, let first = args.first, CommandWords.names.contains(first) || first == "s3" { return args }
        let command = named ?? "fetch"
        let defaults = try arguments(from: file, for: command, home: home)
        return named == nil ? defaults + args : [command] + defaults + Array(args.dropFirst())
    }

    /// The options among `args` (as `arguments(from:for:home:)` makes them: an option, then its
    /// value unless it is a switch) that `type` has.
    static func keep(_ args: [String], of source: ParsableCommand.Type, only type: ParsableCommand.Type) -> [String] {
        let help = type.helpMessage(columns: 10_000)
        return pairs(args, of: source).flatMap { o, v in
            help.range(of: NSRegularExpression.escapedPattern(for: o) + "[ ,\\n<]", options: .regularExpression) == nil
                ? [] : [o] + (v.map { [$0] } ?? [])
        }
    }

    /// `args` as `arguments(from:for:home:)` made them for `type`, back into options and their
    /// values: an option takes the next argument when `type`'s help shows it with a value,
    /// whatever that value looks like (a value may begin with `--`).
    static func pairs(_ args: [String], of type: ParsableCommand.Type) -> [(option: String, value: String?)] {
        let help = type.helpMessage(columns: 10_000)
        var out: [(String, String?)] = []
        var i = 0
        while i < args.count {
            let option = args[i]
            if help.contains("\(option) <"), i + 1 < args.count {
                out.append((option, args[i + 1]))
                i += 2
            } else {
                out.append((option, nil))
                i += 1
            }
        }
        return out
    }

    /// The arguments the file's `[command]` table stands for.
    static func arguments(from file: String, for command: String, home: String) throws(CLIError) -> [String] {
        // Read as any input: bounded, never blocking on a FIFO, a regular file only.
        guard let bytes = AtomicFile.readSmall(file, limit: 1 << 20, followLinks: true),
            let text = String(validating: bytes, as: UTF8.self)
        else {
            throw CLIError(code: 2, "cannot read the config file \(file): it must be a readable regular file of UTF-8 text under 1 MiB")
        }
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            throw CLIError(code: 2, "the config file \(file) is not valid TOML (\(e.source.begin.debugDescription)): \(e.description)")
        } catch {
            throw CLIError(code: 2, "the config file \(file) is not valid TOML: \(ErrorText.describe(error))")
        }
        for key in root.keys.sorted() {
            guard subcommands[key] != nil, root[key]?.table != nil else {
                throw CLIError(
                    code: 2, "unknown key '\(key)' in \(file): options go under \(tableNames)")
            }
        }
        // Every table is checked, not only the one this run reads: a typo under [gallery] is
        // said when `fetch` runs, not left to surprise a later `gallery`.
        var mine: [String] = []
        for name in root.keys.sorted() {
            guard let table = root[name]?.table, let type = subcommands[name] else { continue }
            let args = try arguments(of: table, command: name, type: type, file: file, home: home)
            if name == command { mine = args }
        }
        return mine
    }

    /// The arguments one `[command]` table stands for, each key checked against the command's options.
    static func arguments(
        of table: TOMLTable, command: String, type: ParsableCommand.Type, file: String, home: String
    ) throws(CLIError) -> [String] {
        let help = type.helpMessage(columns: 10_000)
        var out: [String] = []
        for key in table.keys.sorted() {
            let option = "--" + key.replacingOccurrences(of: "_", with: "-")
            let here = "[\(command)] \(key) in \(file)"
            if ["api-key", "key", "lumenfall-api-key", "openai-api-key"].contains(option.dropFirst(2)) {
                throw CLIError(
                    code: 2,
                    "\(here): the API key does not belong in a config file; remove it, put the key in a file only you can read, and set api_key_file = \"PATH\""
                )
            }
            // The key comes from the file: matched as literal text, never as a pattern.
            let literal = NSRegularExpression.escapedPattern(for: option)
            guard !["--config", "--no-config", "--help", "--version"].contains(option),
                help.range(of: "\(literal)[ ,\\n<]", options: .regularExpression) != nil
            else {
                throw CLIError(code: 2, "unknown key \(here): `lumenfall-fetch \(command) --help` lists the options (use _ for -)")
            }
            let takesValue = help.contains("\(option) <")
            guard let value = table[key] else { continue }
            switch (takesValue, value.type) {
            case (false, .bool):
                if value.bool == true { out.append(option) }
            case (true, .string), (true, .int), (true, .double):
                let v = try scalar(value, here: here, home: home)
                out += [option, v]
            case (true, .array):
                for element in value.array ?? TOMLArray() {
                    out += [option, try scalar(element, here: here, home: home)]
                }
            case (false, _):
                throw CLIError(code: 2, "\(here): \(option) is a switch; write true or false")
            default:
                throw CLIError(code: 2, "\(here): \(option) takes a value; write it as a string or a number")
            }
        }
        return out
    }

    private static func scalar(_ value: TOMLValueConvertible, here: String, home: String) throws(CLIError) -> String {
        switch value.type {
        case .string:
            let s = value.string ?? ""
            if s.hasPrefix("lmnfl_") || s.hasPrefix("sk-") {
                throw CLIError(
                    code: 2, "\(here) looks like an API key; keys do not belong in a config file: use api_key_file = \"PATH\"")
            }
            return s == "~" ? home : s.hasPrefix("~/") ? home + s.dropFirst(1) : s
        case .int: return String(value.int ?? 0)
        case .double: return String(value.double ?? 0)
        default: throw CLIError(code: 2, "\(here): write a string or a number")
        }
    }
}

/// `--config` and `--no-config`, read before parsing (ConfigFile); declared here so every
/// subcommand accepts them and lists them in its help.
struct ConfigOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Defaults from this TOML file instead of $XDG_CONFIG_HOME/lumenfall-fetch/config.toml (else ~/.config/...).",
            valueName: "PATH"))
    var config: String?

    @Flag(help: "Read no config file.")
    var noConfig = false
}
