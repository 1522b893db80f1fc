// swift-tools-version:6.1
import PackageDescription

// SwiftPM names a path dependency after its directory, so the root package's identity is whatever the
// checkout folder is called ("tokc", "main", ...), not its declared name.
let rootIdentity = String(Context.packageDirectory.split(separator: "/").dropLast().last ?? "tokc").lowercased()

let package = Package(
    name: "tokc-benchmarks",
    dependencies: [
        .package(path: ".."),
        // The ordo-one suite (`swift package benchmark`). Only the malloc interposer trait: the default traits
        // also pull in a Swift runtime interposer for ARC counts on Linux, which this suite does not measure.
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
        // The interposer the suite preloads; read directly for allocations per MB of input.
        .package(url: "https://github.com/ordo-one/malloc-interposer", exact: "1.6.1"),
    ],
    targets: [
        .executableTarget(
            name: "tokc-throughput",
            dependencies: [.product(name: "Tokc", package: rootIdentity)],
            path: "Sources/Throughput"
        ),
        .executableTarget(
            name: "tokc-load",
            dependencies: [.product(name: "Tokc", package: rootIdentity), .product(name: "TokcJinja", package: rootIdentity)],
            path: "Sources/Load"
        ),
        // The benchmark plugin runs executables whose folder sits in a folder named `Benchmarks`, hence
        // Benchmarks/Benchmarks/. Not part of the root package, so `swift test` never builds or runs it.
        .executableTarget(
            name: "tokc-benchmarks",
            dependencies: [
                .product(name: "Tokc", package: rootIdentity),
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ],
            path: "Benchmarks/tokc-benchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
