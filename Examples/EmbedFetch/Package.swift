// swift-tools-version: 6.0
// An app that embeds lumenfall-fetch's engine: it depends on the package by path (an app of
// yours would name its git URL and a version) and uses the LumenfallCore library only.
import PackageDescription

let package = Package(
    name: "EmbedFetch",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "lumenfall-fetch", path: "../..")
    ],
    targets: [
        .executableTarget(
            name: "EmbedFetch",
            dependencies: [.product(name: "LumenfallCore", package: "lumenfall-fetch")]
        )
    ]
)
