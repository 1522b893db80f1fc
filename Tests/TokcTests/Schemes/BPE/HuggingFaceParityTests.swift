import Foundation
import Testing
@testable import Tokc

/// A vocabulary trained by tokc loads in Python `tokenizers` and gives exactly tokc's ids on every held-out
/// line of every language. Skipped, with a message, where Python or `tokenizers` is absent (CI installs it).
@Suite struct HuggingFaceParityTests {
    static let python: String? = {
        for candidate in ["/usr/bin/python3", "/usr/local/bin/python3"] + (ProcessInfo.processInfo.environment["PATH"] ?? "")
            .split(separator: ":").map({ $0 + "/python3" }) where FileManager.default.isExecutableFile(atPath: candidate) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: candidate)
            process.arguments = ["-c", "import tokenizers"]
            process.standardError = FileHandle.nullDevice
            guard (try? process.run()) != nil else { continue }
            process.waitUntilExit()
            if process.terminationStatus == 0 { return candidate }
        }
        return nil
    }()

    static let languages = ["ja", "zh", "de", "fr", "en"]
    static let split = Fixtures.repositoryRoot + "/Corpus/split/"

    @Test(.enabled(if: python != nil, "python3 with the tokenizers package is not installed (pip install tokenizers); skipped"))
    func trainedVocabularyGivesTheSameIdsInTokenizers() throws {
        var trainer = try BPETrainer(options: .init(vocabSize: 32_000))
        for language in Self.languages { try trainer.add(file: Self.split + "\(language).train.txt") }
        let model = try trainer.train { _ in }
        let folder = NSTemporaryDirectory() + "tokc-hf-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let vocabulary = folder + "/trained.json"
        try Data(try model.serialize(format: "tokenizer.json")).write(to: URL(fileURLWithPath: vocabulary))
        let tokenizer = try model.tokenizer(name: "trained")

        let script = """
            import json, sys
            from tokenizers import Tokenizer
            tok = Tokenizer.from_file(sys.argv[1])
            for path in sys.argv[2:]:
                for line in open(path, encoding="utf-8").read().split("\\n")[:-1]:
                    print(json.dumps(tok.encode(line, add_special_tokens=False).ids))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python ?? "python3")
        process.arguments = ["-c", script, vocabulary] + Self.languages.map { Self.split + "\($0).heldout.txt" }
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let theirs = String(decoding: data, as: UTF8.self).split(separator: "\n")

        var lines: [ArraySlice<UInt8>] = []
        for language in Self.languages {
            lines += try FileIO.readAll(Self.split + "\(language).heldout.txt").split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast()
        }
        #expect(lines.count == 6_789 && theirs.count == lines.count)
        var differing = 0
        for (line, answer) in zip(lines, theirs) {
            let ours = "[" + tokenizer.encode(Array(line)).map(String.init).joined(separator: ", ") + "]"
            if ours != answer {
                differing += 1
                if differing <= 3 { Issue.record("tokenizers differs on \(String(decoding: line.prefix(80), as: UTF8.self).debugDescription)") }
            }
        }
        #expect(differing == 0)
    }
}
