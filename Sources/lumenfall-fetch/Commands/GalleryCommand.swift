import ArgumentParser
import Foundation
import LumenfallCore

struct GalleryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gallery",
        abstract: "Write DIR/index.html: one static page of every saved video, newest first.",
        discussion: """
            Each video shows its thumbnail (saved with fetch --with thumbnail) or a video player, \
            its prompt, model, size, seconds, cost and times, and links to the file and its \
            sidecar; totals are at the top. No JavaScript, nothing from the network: open it from \
            disk. Written again from the folder each time.
            """)

    @OptionGroup(title: "Configuration") var configFile: ConfigOptions

    @Argument(help: "The folder lumenfall-fetch saved into.")
    var directory: String

    @OptionGroup(title: "Logging") var logging: LogOptions

    func run() throws {
        let say = { (s: String) in Diagnostics.line(TerminalText.safe(s)) }
        let path = try writeGallery(directory, say: say)
        print(path)
    }
}

/// Writes DIR/index.html (shared by `gallery`, `fetch --gallery` and `archive --gallery`);
/// returns its path. A folder that cannot be read or written is a set-up error.
@discardableResult
func writeGallery(_ directory: String, say: (String) -> Void) throws -> String {
    let path = "\(directory)/\(Gallery.fileName)"
    let result: (videos: Int, problems: [ArchiveItem.Problem])
    if let why = AtomicFile.folderProblem(directory) { throw CLIError(code: Exit.setup, "cannot read the folder \(directory): \(why)") }
    do {
        result = try Gallery.write(directory: directory)
    } catch let e as AtomicFile.Failure {
        throw CLIError(code: Exit.setup, "cannot write the gallery: \(e)")
    } catch {
        throw CLIError(code: Exit.setup, "cannot read the folder \(directory): \(ErrorText.describe(error))")
    }
    for p in result.problems { say("gallery: skipped: \(p)") }
    say("gallery: \(path) lists \(result.videos) video\(result.videos == 1 ? "" : "s")")
    return path
}
