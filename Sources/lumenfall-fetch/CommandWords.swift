import LumenfallCore

/// The words that name subcommands, and what a word that misses one by a typo means. `fetch`
/// is the default, so a bare word is an id; but `lsit` or `verfiy` is far likelier a mistyped
/// subcommand than a video id, and sending it to the API costs a request, a confusing 404 and
/// (before this check) a lock file in the current folder. Such a word is bad usage with a
/// suggestion; `lumenfall-fetch fetch lsit` still fetches an id named `lsit`.
enum CommandWords {
    static var names: [String] { LumenfallFetch.commands.compactMap { $0.configuration.commandName } }

    /// The subcommand `word` is a near miss of: at most one edit for short names, two for
    /// longer ones (a swap of two neighbours is one edit), compared without case.
    static func nearMiss(_ word: String) -> String? {
        let w = word.lowercased()
        guard w.count >= 3, w.count <= 12, !names.contains(w) else { return nil }
        let scored = (names + ["help"]).map { ($0, editDistance(w, $0)) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        return best.1 <= (best.0.count <= 4 ? 1 : 2) ? best.0 : nil
    }

    /// Before parsing, on the user's own words: `help X` names a subcommand.
    static func checkHelp(_ args: [String]) throws(CLIError) {
        if args.first == "help", args.count > 1, let name = args.dropFirst().first, !name.hasPrefix("-"),
            !names.contains(name)
        {
            let hint = nearMiss(name).map { "; did you mean '\($0)'?" } ?? "."
            throw CLIError(
                code: Exit.usage, "help: there is no subcommand '\(name)'\(hint) The subcommands are: \(names.joined(separator: ", ")).")
        }
    }

    /// After parsing: the ids of an implicit `fetch` (the user's first word is not `fetch`)
    /// are not typos of a subcommand.
    static func checkIDs(userArguments args: [String], fetchIDs: [String]?) throws(CLIError) {
        guard args.first != "fetch", let ids = fetchIDs else { return }
        for id in ids {
            if let name = nearMiss(id) {
                throw CLIError(
                    code: Exit.usage,
                    "'\(id)' is not a subcommand; did you mean '\(name)'? (To fetch a video whose id is '\(id)', say: lumenfall-fetch fetch \(id))"
                )
            }
        }
    }

    /// `--retries -1` reads to the parser as an option named `-1` ("Missing value"): a negative
    /// number after a long option is joined to it (`--retries=-1`), so the option's own check
    /// says what is wrong with the value.
    static func joinNegativeValues(_ args: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < args.count {
            let a = args[i]
            if a == "--" { return out + args[i...] }
            if a.hasPrefix("--"), !a.contains("="), i + 1 < args.count, isNegativeNumber(args[i + 1]) {
                out.append("\(a)=\(args[i + 1])")
                i += 2
                continue
            }
            out.append(a)
            i += 1
        }
        return out
    }

    static func isNegativeNumber(_ s: String) -> Bool {
        guard s.count >= 2, s.first == "-", let second = s.dropFirst().first, second.isNumber else { return false }
        return s.dropFirst().allSatisfy { $0.isNumber || $0 == "." || $0.isLetter }
    }

    /// Damerau-Levenshtein (optimal string alignment) over Unicode scalars.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let x = Array(a.unicodeScalars)
        let y = Array(b.unicodeScalars)
        if x.isEmpty || y.isEmpty { return max(x.count, y.count) }
        var d = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
        for i in 0...x.count { d[i][0] = i }
        for j in 0...y.count { d[0][j] = j }
        for i in 1...x.count {
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[x.count][y.count]
    }
}
