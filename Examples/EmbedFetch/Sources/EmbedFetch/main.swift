// Saves the videos named on the command line into ./videos, printing progress, as an app that
// embeds lumenfall-fetch would. Usage: LUMENFALL_API_KEY=... EmbedFetch [--base-url URL] ID...
import Foundation
import LumenfallCore

var args = Array(CommandLine.arguments.dropFirst())
var baseURL = ProcessInfo.processInfo.environment["LUMENFALL_BASE_URL"] ?? APIClient.defaultBaseURL
if let i = args.firstIndex(of: "--base-url"), i + 1 < args.count {
    baseURL = args[i + 1]
    args.removeSubrange(i...(i + 1))
}
guard let key = APIKey(ProcessInfo.processInfo.environment["LUMENFALL_API_KEY"] ?? ""), !args.isEmpty else {
    print("usage: LUMENFALL_API_KEY=... EmbedFetch [--base-url URL] ID...")
    exit(64)
}

// One value says what to do: where the files go, which API, how many downloads at once.
var config = FetchConfiguration(outputDirectory: "videos", api: APIClient(baseURL: baseURL, key: key))
config.jobs = 2

// Events arrive from several tasks at once; printing each is safe.
let fetcher = Fetcher(config: config) { event in
    switch event {
    case .status(let id, let status, _):
        print("\(id): \(status.text)")
    case .download(let id, .progress(let bytes, let total)):
        print("\(id): \(bytes) of \(total.map(String.init) ?? "?") bytes")
    case .saved(let id, let file, let bytes, let sha256, _, _):
        print("\(id): saved \(file) (\(bytes) bytes, sha256 \(sha256.prefix(12)))")
    case .alreadySaved(let id, let file):
        print("\(id): already saved as \(file)")
    case .failed(let id, let failure):
        print("\(id): \(failure.message)")
    default:
        break
    }
}

// The report counts what happened; a partial download stays in the folder and resumes on the
// next run, as with the command.
let report = await fetcher.run(args)
print("saved \(report.tally.saved), already saved \(report.tally.alreadySaved), failed \(report.tally.failed)")
exit(report.allSucceeded ? 0 : 1)
