/// What every `--help` ends with: real examples, then the exit codes (docs/reference.md has the same
/// table). swift-argument-parser prints a command's discussion above its options; these go
/// below them, where a reader who scrolled past the options looks next.
enum HelpEpilogue {
    /// The epilogue for the command a help screen is about, by its name ("" for the root).
    static func text(for command: String) -> String {
        let (examples, codes): ([(String, String)], [(String, String)]) =
            switch command {
            case "fetch", "": (fetchExamples, fetchCodes)
            case "list": (listExamples, [("0", "listed"), ("1", "the server cannot list"), keyCode, usageCode])
            case "archive":
                (
                    archiveExamples,
                    [
                        ("0", "written"), ("1", "the archive could not be written (nothing is left under its name)"),
                        ("2", "the folder cannot be read"), usageCode,
                    ]
                )
            case "verify": (verifyExamples, [("0", "every archive checks out"), ("1", "a problem was found"), usageCode])
            case "gallery": (galleryExamples, [("0", "written"), ("2", "the folder cannot be read or written"), usageCode])
            case "s3", "s3 cleanup":
                (
                    s3Examples,
                    [
                        ("0", "listed (and aborted what was asked)"), ("1", "an upload could not be aborted (each is named above)"),
                        ("2", "the bucket cannot be listed (credentials, endpoint, a missing bucket)"), usageCode,
                    ]
                )
            case "watch":
                (
                    watchExamples,
                    [
                        ("0", "stopped by SIGTERM/SIGINT (transfers checkpointed; the next start resumes them)"),
                        ("2", "a set-up problem (the folder, its lock, the port, the secret file, the TLS files)"), keyCode, usageCode,
                    ]
                )
            case "config": (configExamples, [("0", "shown"), ("2", "the config file is missing or invalid"), usageCode])
            case "doctor": (doctorExamples, [("0", "every check passed"), ("1", "a check failed (each says what to do)"), usageCode])
            default: ([], [])
            }
        guard !examples.isEmpty else { return "" }
        var out = "EXAMPLES:\n"
        for (what, line) in examples { out += "  # \(what)\n  \(line)\n\n" }
        out += "EXIT CODES:\n"
        for (code, meaning) in codes { out += "  \(code.padding(toLength: 8, withPad: " ", startingAt: 0))\(meaning)\n" }
        return out
    }

    static let keyCode = ("3", "the API key is missing or was rejected")
    static let usageCode = ("64", "bad usage (an unknown option, a bad value)")
    static let fetchCodes = [
        ("0", "every id saved (or already saved)"), ("1", "some ids not saved (each is named above the summary)"),
        ("2", "a local set-up problem (the folder, the lock, an id list)"), keyCode,
        ("4", "the API could not be reached (not once within --api-wait, or not again within --outage-limit)"),
        ("64", "bad usage (an unknown option, a bad value, a typo of a subcommand, an id that cannot be one, an unreadable --cacert)"),
        ("130/143", "interrupted by SIGINT/SIGTERM; partial files are kept and resume"),
    ]

    static let fetchExamples = [
        ("Save two videos into ./videos, waiting for them to finish", "lumenfall-fetch video_abc123 video_def456 -o videos"),
        ("Everything the API lists from the last week, 8 downloads at once", "lumenfall-fetch --all --since 7d -o videos --jobs 8"),
        (
            "Ids from a file (one a line), then bundle them into one archive",
            "lumenfall-fetch -i ids.txt -o videos --archive videos.tar.zst"
        ),
        ("A host that caps each connection: 4 ranged connections per file", "lumenfall-fetch video_abc123 -o videos --segments 4"),
        (
            "With thumbnails and spritesheets, then a page to browse them (videos/index.html)",
            "lumenfall-fetch --all -o videos --with thumbnail,spritesheet --gallery"
        ),
        (
            "OpenAI's API, with the key in a file",
            "lumenfall-fetch video_abc123 --base-url https://api.openai.com/v1 --api-key-file ~/.openai-key"
        ),
    ]
    static let listExamples = [
        ("The 100 newest videos (--limit says how many)", "lumenfall-fetch list"),
        ("The 20 newest", "lumenfall-fetch list --limit 20"),
        ("Completed videos of the last two days", "lumenfall-fetch list --status completed --since 2d"),
        ("One JSON object per line, for jq", "lumenfall-fetch list --json --limit 100 | jq -r .id"),
    ]
    static let archiveExamples = [
        ("Bundle a folder into a zstd-compressed tar", "lumenfall-fetch archive videos -o videos.tar.zst"),
        (
            "Parts of at most 4 GiB each: videos-0001.tar, videos-0002.tar, ...",
            "lumenfall-fetch archive videos -o videos.tar --max-size 4G"
        ),
        ("Archive, verify, then free the space", "lumenfall-fetch archive videos -o 2026-11.tar.zst --remove-after-archive"),
        ("An archive that opens in a browser once extracted", "lumenfall-fetch archive videos -o videos.tar.zst --gallery"),
    ]
    static let watchExamples = [
        (
            "Behind a TLS reverse proxy on this machine; the secret from the environment",
            "LUMENFALL_WEBHOOK_SECRET=whsec_... lumenfall-fetch watch -o videos --listen 127.0.0.1:8787"
        ),
        (
            "Terminate TLS itself on 8443 (Lumenfall delivers to https on 443 or 8443)",
            "lumenfall-fetch watch -o videos --listen 0.0.0.0:8443 --tls-cert fullchain.pem --tls-key privkey.pem"
        ),
        ("No webhooks: a polling daemon that sweeps every 5 minutes", "lumenfall-fetch watch -o videos --sweep 5m"),
        (
            "A zstd archive per day, originals removed once verified; JSON logs for journald",
            "lumenfall-fetch watch -o videos --archive-every 1d --archive-dir archives --remove-after-archive --log-format json"
        ),
    ]
    static let galleryExamples = [
        ("Write videos/index.html, then open it", "lumenfall-fetch gallery videos && xdg-open videos/index.html"),
        ("Fetch with thumbnails and refresh the page in one go", "lumenfall-fetch -i ids.txt -o videos --with thumbnail --gallery"),
        ("Share the folder on the LAN with any static server", "lumenfall-fetch gallery videos && python3 -m http.server -d videos"),
    ]
    static let s3Examples = [
        ("See what unfinished archive uploads a prefix holds, abort none", "lumenfall-fetch s3 cleanup s3://bucket/archives/ --dry-run"),
        ("Abort those started more than a week ago", "lumenfall-fetch s3 cleanup s3://bucket/archives/ --older-than 7d"),
        ("Against MinIO or another S3-compatible store", "lumenfall-fetch s3 cleanup s3://bucket/ --s3-endpoint https://minio.example.com"),
    ]
    static let configExamples = [
        ("What fetch would run with, and where each setting comes from", "lumenfall-fetch config"),
        ("The same for watch (its webhook secret is never shown)", "lumenfall-fetch config watch"),
        ("What the defaults and the environment alone give", "lumenfall-fetch config --no-config"),
    ]
    static let doctorExamples = [
        ("Before a first fetch: key, API, clock, folder, libcurl", "lumenfall-fetch doctor"),
        ("The folder a batch will go to", "lumenfall-fetch doctor -o /srv/videos"),
        ("OpenAI's API", "lumenfall-fetch doctor --base-url https://api.openai.com/v1 --api-key-file ~/.openai-key"),
    ]
    static let verifyExamples = [
        ("Check one archive against its manifest", "lumenfall-fetch verify videos.tar.zst"),
        ("Check every part of a split archive", "lumenfall-fetch verify videos-*.tar"),
        ("In a script: exit 0 only if all check out", "lumenfall-fetch verify *.tar.zst && echo intact"),
    ]
}
