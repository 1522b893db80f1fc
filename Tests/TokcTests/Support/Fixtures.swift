import Foundation
@testable import Tokc

/// Test data under `Tests/Fixtures`, found from this file's path so tests never depend on `../shared`.
enum Fixtures {
    static let directory: String = {
        var path = #filePath  // Tests/TokcTests/Support/Fixtures.swift
        for _ in 0..<3 { path = (path as NSString).deletingLastPathComponent }
        return path + "/Fixtures"
    }()

    /// The repository root (holds `Vocabularies/`, `README.md`).
    static let repositoryRoot: String = ((directory as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent

    /// A folder for the files tests write, removed when the test process exits (tests once left hundreds of
    /// files in /tmp per run).
    static let scratchDirectory: String = {
        let path = NSTemporaryDirectory() + "tokc-tests-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: Fixtures.scratchDirectory) }
        return path
    }()

    /// Writes `bytes` to a new file in `scratchDirectory` and returns its path.
    static func writeScratch(_ bytes: some Sequence<UInt8>, name: String) throws -> String {
        let path = scratchDirectory + "/" + name + "-" + UUID().uuidString + ".json"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// One JSON object per line; records are split on "\n" only (U+2028 may sit inside a string).
    static func jsonLines(_ name: String) throws -> [[String: Any]] {
        let bytes = try FileIO.readAll(directory + "/" + name)
        return try bytes.split(separator: UInt8(ascii: "\n")).map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                throw FixtureError(message: "\(name): a line is not a JSON object")
            }
            return object
        }
    }

    struct FixtureError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}

extension Dictionary where Key == String, Value == Any {
    func ids(_ key: String) -> [TokenID]? {
        (self[key] as? [NSNumber])?.map { TokenID(truncating: $0) }
    }

    func string(_ key: String) -> String? { self[key] as? String }
}

/// Deterministic pseudo-random numbers, so a failing random case reproduces.
typealias SeededGenerator = SplitMix64

/// Hex of bytes, for readable failures.
func hex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

func bytes(fromHex text: String) -> [UInt8] {
    var result: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        result.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return result
}
