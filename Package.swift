// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "tokc",
    products: [
        .library(name: "Tokc", targets: ["Tokc"]),
        .library(name: "TokcServer", targets: ["TokcServer"]),
        .library(name: "TokcClient", targets: ["TokcClient"]),
        .library(name: "TokcJinja", targets: ["TokcJinja"]),
        .executable(name: "tokc", targets: ["tokc"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
    ],
    targets: [
        // ICU stays behind a plain-C header: Foundation on Linux carries its own ICU headers with the
        // same names, and a Swift module that sees both does not compile (README, "Dependencies and why").
        .target(
            name: "CICU",
            linkerSettings: [.linkedLibrary("icuuc"), .linkedLibrary("icui18n"), .linkedLibrary("icudata")]
        ),
        .systemLibrary(
            name: "CPCRE2",
            pkgConfig: "libpcre2-8",
            providers: [.apt(["libpcre2-dev"])]
        ),
        .target(
            name: "Tokc",
            dependencies: [
                "CICU",
                "TokcJinja",
                "CPCRE2",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // A Jinja interpreter for the subset chat templates use (issue #27): no dependencies, its own tests.
        .target(name: "TokcJinja"),
        // The daemon's wire format: messages and line framing, shared by the server and the client.
        .target(
            name: "TokcProtocol",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")]
        ),
        .target(
            name: "TokcServer",
            dependencies: [
                "Tokc", "TokcJinja", "TokcProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),  // the playground's CSP hashes
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "TokcClient",
            dependencies: [
                "TokcProtocol",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "tokc",
            dependencies: [
                "Tokc", "TokcJinja", "TokcProtocol", "TokcServer", "TokcClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Finds the reference tools (pinned Python libraries, Chromium) for both test targets, and says when a
        // missing one is a skip and when (TOKC_REQUIRE_REFERENCES=1, in CI) a failure.
        .target(
            name: "TokcTestSupport",
            path: "Tests/TokcTestSupport"
        ),
        .testTarget(
            name: "TokcJinjaTests",
            dependencies: ["TokcJinja", "Tokc", "TokcTestSupport"]
        ),
        .testTarget(
            name: "TokcTests",
            dependencies: ["Tokc", "TokcJinja", "TokcTestSupport"]
        ),
        .testTarget(
            name: "TokcServerTests",
            dependencies: [
                "Tokc", "TokcJinja", "TokcServer", "TokcClient", "TokcProtocol", "TokcTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)
