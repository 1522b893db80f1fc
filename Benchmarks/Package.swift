// swift-tools-version:6.1
import PackageDescription

// SwiftPM names a path dependency after its directory, so the root package's identity is whatever the
// checkout folder is called ("tokc", "main", ...), not its declared name.
let rootIdentity = String(Context.packageDirectory.split(separator: "/").dropLast().last ?? "tokc").lowercased()

let package = Package(
    name: "tokc-benchmarks",
    dependencies: [
        .package(path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "tokc-throughput",
            dependencies: [.product(name: "Tokc", package: rootIdentity)],
            path: "Sources/Throughput"
        ),
        .executableTarget(
            name: "tokc-load",
            dependencies: [.product(name: "Tokc", package: rootIdentity)],
            path: "Sources/Load"
        ),
    ]
)
