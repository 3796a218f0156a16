import ArgumentParser

/// `--with thumbnail,spritesheet`: previews saved beside each video (fetch and watch).
struct PreviewOptions: ParsableArguments {
    static let names = ["thumbnail", "spritesheet"]

    @Option(
        name: .customLong("with"),
        help: ArgumentHelp(
            "Also save previews beside each video: thumbnail (DIR/<id>.thumbnail.webp), spritesheet (DIR/<id>.spritesheet.png), or both, comma-separated. A server without them gets a note, not a failure.",
            valueName: "LIST"))
    var with: [String] = []

    /// The names asked for, in a fixed order, each once.
    var previews: [String] {
        let asked = Set(with.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() } })
        return Self.names.filter(asked.contains)
    }

    func validate() throws {
        for item in with.flatMap({ $0.split(separator: ",", omittingEmptySubsequences: false) }) {
            guard Self.names.contains(item.trimmingCharacters(in: .whitespaces).lowercased()) else {
                throw ValidationError("--with \(item): give thumbnail, spritesheet or both (--with thumbnail,spritesheet)")
            }
        }
    }
}
