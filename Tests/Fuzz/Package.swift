// swift-tools-version:6.1
// libFuzzer targets for tokc's file readers, encoders and the daemon's request parser: a package of its own
// (like Benchmarks/), built only by scripts/fuzz with `--sanitize fuzzer --sanitize address`, never by
// `swift test`.
import PackageDescription

let package = Package(
    name: "tokc-fuzz",
    dependencies: [.package(name: "tokc", path: "../..")],
    targets: [
        .executableTarget(
            name: "tokc-fuzz",
            dependencies: [
                .product(name: "Tokc", package: "tokc"),
                .product(name: "TokcServer", package: "tokc"),
                .product(name: "TokcJinja", package: "tokc"),
            ],
            path: "Sources",
            // libFuzzer brings `main`; this target only defines LLVMFuzzerTestOneInput.
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
