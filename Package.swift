// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "lumenfall-fetch",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "lumenfall-fetch", targets: ["lumenfall-fetch"]),
        .executable(name: "lumenfall-sandbox", targets: ["lumenfall-sandbox"]),
        .library(name: "LumenfallCore", targets: ["LumenfallCore"]),
        .library(name: "LumenfallWatch", targets: ["LumenfallWatch"]),
        .library(name: "LumenfallSandbox", targets: ["LumenfallSandbox"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // Defaults in a config file (TOML), for the command only.
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // TLS for the sandbox (https media hosts behind a CONNECT proxy) and watch's listener.
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        // Heap and Deque for the schedulers' queues (already built for SwiftNIO).
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        // watch's metrics: the swift-metrics API, rendered for /metrics by swift-prometheus.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // watch's parts as services with an ordered graceful shutdown; its signals (UnixSignals).
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // `swift package generate-documentation`: LumenfallCore's DocC (Scripts/docs). A plugin:
        // nothing of it is built into the tool.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // libcurl from Debian's libcurl4-openssl-dev; shim.h gives typed, non-variadic wrappers.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // Linux calls glibc hides behind _GNU_SOURCE (sync_file_range), as plain C functions.
        .target(name: "CLinux"),
        // The only importer of CCurl.
        .target(
            name: "LumenfallCurl",
            dependencies: ["CCurl"]
        ),
        // libarchive from Debian's libarchive-dev (gzip, zstd and xz built in).
        .systemLibrary(
            name: "CArchive",
            pkgConfig: "libarchive",
            providers: [.apt(["libarchive-dev"])]
        ),
        // The only importer of CArchive.
        .target(
            name: "LumenfallArchive",
            dependencies: ["CArchive"]
        ),
        // Pure Swift: models, API client, poller, downloader, sidecar, archiver, pipeline.
        .target(
            name: "LumenfallCore",
            dependencies: [
                "LumenfallCurl",
                "CLinux",
                "LumenfallArchive",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        // `watch`: the webhook receiver (SwiftNIO, TLS by NIOSSL), its durable queue and sweep.
        .target(
            name: "LumenfallWatch",
            dependencies: [
                "LumenfallCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The offline Lumenfall-compatible server used by the demo and the tests.
        .target(
            name: "LumenfallSandbox",
            dependencies: [
                // Its webhook deliveries go out through libcurl.
                "LumenfallCurl",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(
            name: "lumenfall-fetch",
            dependencies: [
                "LumenfallCore",
                "LumenfallWatch",
                "LumenfallCurl",
                "LumenfallArchive",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "lumenfall-sandbox",
            dependencies: [
                "LumenfallSandbox",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "LumenfallCoreTests",
            dependencies: ["LumenfallCore", "LumenfallArchive"]
        ),
        .testTarget(
            name: "LumenfallWatchTests",
            dependencies: ["LumenfallWatch", "LumenfallCore", .product(name: "MetricsTestKit", package: "swift-metrics")]
        ),
        .testTarget(
            name: "LumenfallCurlTests",
            dependencies: ["LumenfallCurl"]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["LumenfallCore", "LumenfallSandbox", "LumenfallCurl", "LumenfallWatch"],
            // The help snapshots are read by path (#filePath), not bundled.
            exclude: ["CLI/Snapshots"]
        ),
    ]
)
