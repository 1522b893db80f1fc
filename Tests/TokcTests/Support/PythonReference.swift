import Foundation
@testable import Tokc

/// Runs a reference implementation in Python over texts and compares its ids with tokc's, line by line.
enum PythonReference {
    /// Writes `texts` as JSON Lines (`{"text": …}`), runs `script` with `arguments` and that file's path last, and
    /// returns its standard output's lines (one JSON id list per text).
    static func run(python: String, script: String, arguments: [String], texts: [String]) throws -> [Substring] {
        let folder = NSTemporaryDirectory() + "tokc-reference-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/texts.jsonl"
        var file: [UInt8] = []
        for text in texts {
            JSONValue.object([("text", .text(text))]).write(to: &file)
            file.append(UInt8(ascii: "\n"))
        }
        try Data(file).write(to: URL(fileURLWithPath: path))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script] + arguments + [path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Fixtures.FixtureError(message: "\(python) -c <script> exited with status \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self).split(separator: "\n")
    }

    /// The texts' ids in `tokenizer`, as Python's `json.dumps` writes a list.
    static func formatted(_ ids: [TokenID]) -> String {
        "[" + ids.map(String.init).joined(separator: ", ") + "]"
    }

    /// Every code point in words, between spaces and next to an accent, 64 code points a text (17,376 texts).
    static func everyCodePoint() -> [String] {
        let scalars = (0..<0x110000).compactMap { Unicode.Scalar(UInt32($0)) }
        return stride(from: 0, to: scalars.count, by: 64).map { start in
            scalars[start..<min(start + 64, scalars.count)].map { scalar in
                let c = String(Character(scalar))
                return "x\(c)y \(c)a\(c)  \(c.uppercased())é\(c)"
            }.joined(separator: " ")
        }
    }

    /// The held-out lines of every language of Corpus/split.
    static func heldOutLines() throws -> [String] {
        try TrainedParityTests.heldOutLines().map { String(decoding: $0, as: UTF8.self) }
    }
}
