// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "tokc",
    products: [
        .library(name: "Tokc", targets: ["Tokc"]),
        .executable(name: "tokc", targets: ["tokc"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.0.0"..<"5.0.0"),
    ],
    targets: [
        // ICU stays behind a plain-C header: Foundation on Linux carries its own ICU headers with the
        // same names, and a Swift module that sees both does not compile (DESIGN.md, "Native dependencies").
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
                "CPCRE2",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(
            name: "tokc",
            dependencies: [
                "Tokc",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "TokcTests",
            dependencies: ["Tokc"]
        ),
    ]
)
