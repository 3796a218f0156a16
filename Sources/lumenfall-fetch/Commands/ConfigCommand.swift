import ArgumentParser
import Foundation
import LumenfallCore

/// `config`: the settings a subcommand would run with, and where each comes from (the config
/// file, the environment, or the default). Secrets are never shown, only where they are.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show the settings a subcommand runs with and where each comes from: the config file, the environment, the default.",
        discussion: "The API key and webhook secrets are never shown: only where they are read from.")

    @Argument(help: ArgumentHelp("The subcommand whose settings to show.", valueName: "SUBCOMMAND"))
    var subcommand = "fetch"

    @OptionGroup(title: "Configuration") var configFile: ConfigOptions

    @OptionGroup(title: "Logging") var logging: LogOptions

    func validate() throws {
        guard ConfigFile.subcommands[subcommand] != nil else {
            throw ValidationError("'\(subcommand)' has no settings of its own; one of: \(ConfigFile.tableNames)")
        }
    }

    func run() throws {
        let env = ProcessInfo.processInfo.environment
        var args: [String] = []
        if let c = configFile.config { args += ["--config", c] }
        if configFile.noConfig { args.append("--no-config") }
        let file = try ConfigFile.path(in: args, environment: env)
        let fromFile = try file.map { try ConfigFile.arguments(from: $0, for: subcommand, home: env["HOME"] ?? NSHomeDirectory()) } ?? []
        print(
            "config file: \(file.map(TerminalText.safe) ?? (configFile.noConfig ? "none (--no-config)" : "none (no \(Self.usualPath(env)))"))"
        )
        print("[\(subcommand)]")
        guard let type = ConfigFile.subcommands[subcommand] else { return }
        let options = Self.options(of: type)
        var fileValues: [String: [String]] = [:]
        for (o, v) in ConfigFile.pairs(fromFile, of: type) { fileValues[o, default: []].append(v ?? "true") }
        let width = options.map(\.name.count).max() ?? 10
        for o in options {
            let (value, source): (String, String)
            if let v = fileValues[o.name] {
                (value, source) = (v.joined(separator: ", "), "config file")
            } else if let (name, v) = Self.environment(for: o.name, env) {
                (value, source) = (v, "$\(name)")
            } else {
                (value, source) = (o.defaultValue ?? (o.isFlag ? "false" : "-"), "default")
            }
            // A URL may carry credentials or a signed query: shown without them.
            let shown = Self.urlOptions.contains(o.name) && value.contains("://") ? URLPolicy.redacted(value) : value
            print("  \(o.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(TerminalText.safe(shown))  (\(source))")
        }
        // The secrets: where they come from, never what they are.
        if options.contains(where: { $0.name == "--api-key-file" }) {
            let where_ =
                fileValues["--api-key-file"].map { "the file \($0.last ?? "")" }
                ?? ((env["LUMENFALL_API_KEY"] ?? "").isEmpty ? "nowhere: set LUMENFALL_API_KEY or api_key_file" : "$LUMENFALL_API_KEY")
            print("  API key: read from \(TerminalText.safe(where_)) (not shown)")
        }
        if subcommand == "watch" {
            let secret =
                (env["LUMENFALL_WEBHOOK_SECRET"] ?? "").isEmpty ? "--webhook-secret-file, or asked of the API" : "$LUMENFALL_WEBHOOK_SECRET"
            print("  webhook secret: read from \(secret) (not shown)")
        }
    }

    /// Options whose values are URLs.
    static let urlOptions: Set<String> = ["--base-url", "--s3-endpoint"]

    static func usualPath(_ env: [String: String]) -> String {
        let home = env["HOME"] ?? NSHomeDirectory()
        return "\(env["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(home)/.config")/lumenfall-fetch/config.toml"
    }

    /// The variables an option falls back on, as the options' own code reads them.
    static func environment(for option: String, _ env: [String: String]) -> (String, String)? {
        let names: [String] =
            switch option {
            case "--base-url": ["LUMENFALL_BASE_URL"]
            case "--cacert": ["CURL_CA_BUNDLE", "SSL_CERT_FILE"]
            case "--s3-endpoint": ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
            default: []
            }
        for n in names { if let v = env[n], !v.isEmpty { return (n, v) } }
        return nil
    }

    struct Option {
        var name: String
        var defaultValue: String?
        var isFlag: Bool
    }

    /// The long options of a subcommand's help, with their defaults as the help prints them.
    static func options(of type: ParsableCommand.Type) -> [Option] {
        let help = type.helpMessage(columns: 10_000)
        var out: [Option] = []
        // An option's entry is its line and the lines indented under it (a long label puts the
        // text on the next line); the default is at the end of the entry.
        var entries: [(name: String, isFlag: Bool, text: String)] = []
        for line in help.split(separator: "\n") {
            if let m = line.firstMatch(of: /^\s{1,4}(?:-[a-zA-Z], )?(--[a-z0-9][a-z0-9-]*)( <[^>]+>)?/) {
                entries.append((String(m.1), m.2 == nil, String(line)))
            } else if line.hasPrefix("          "), !entries.isEmpty {
                entries[entries.count - 1].text += " " + line.trimmingCharacters(in: .whitespaces)
            } else if !line.hasPrefix(" ") {
                entries.append(("", true, ""))  // a heading ends the entry before it
            }
        }
        for e in entries where !e.name.isEmpty {
            if ["--help", "--version", "--config", "--no-config"].contains(e.name) || out.contains(where: { $0.name == e.name }) {
                continue
            }
            let d = e.text.firstMatch(of: /default: ([^)]*)\)\s*$/).map { String($0.1) }
            out.append(Option(name: e.name, defaultValue: d, isFlag: e.isFlag))
        }
        return out
    }
}
