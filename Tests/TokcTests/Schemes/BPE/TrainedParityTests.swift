import Foundation
import Testing
import TokcTestSupport
@testable import Tokc

/// A vocabulary trained by tokc (32,000 tokens on Corpus/split) loads in the reference tools and gives exactly
/// tokc's ids on every held-out line of every language: as `tokenizer.json` in Python `tokenizers`, and as
/// `.tiktoken` in Python `tiktoken`. Each test is skipped, with a message, where Python or the package is
/// absent, and fails there in CI (`References`).
@Suite struct TrainedParityTests {
    static let languages = ["ja", "zh", "de", "fr", "en"]
    static let split = Fixtures.repositoryRoot + "/Corpus/split/"

    /// Trained once for both tests.
    static let model: Result<TrainedBPE, TokcError> = Result { () throws(TokcError) in
        var trainer = try BPETrainer(options: .init(vocabSize: 32_000))
        for language in languages { try trainer.add(file: split + "\(language).train.txt") }
        return try trainer.train { _ in }
    }

    static func heldOutLines() throws -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        for language in languages {
            lines += try FileIO.readAll(split + "\(language).heldout.txt").split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast()
        }
        return lines
    }

    /// Runs `script` with the vocabulary file and the held-out files as arguments; it prints one JSON id list
    /// per line. Compares with `tokenizer`, line by line.
    static func compare(
        python: String, script: String, environment: [String: String] = [:], vocabulary: [UInt8], tokenizer: Tokenizer, reference: String
    ) throws {
        let folder = NSTemporaryDirectory() + "tokc-parity-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/trained"
        try Data(vocabulary).write(to: URL(fileURLWithPath: path))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script, path] + languages.map { split + "\($0).heldout.txt" }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let theirs = String(decoding: data, as: UTF8.self).split(separator: "\n")

        let lines = try heldOutLines()
        #expect(lines.count == 6_789 && theirs.count == lines.count)
        var differing = 0
        for (line, answer) in zip(lines, theirs) {
            let ours = "[" + tokenizer.encode(Array(line)).map(String.init).joined(separator: ", ") + "]"
            if ours != answer {
                differing += 1
                if differing <= 3 { Issue.record("\(reference) differs on \(String(decoding: line.prefix(80), as: UTF8.self).debugDescription)") }
            }
        }
        #expect(differing == 0)
    }

    @Test(.enabled(if: References.tokenizers.shouldRun, "no python3 with tokenizers: `python3 scripts/reference_venv.py` makes the pinned reference environment"))
    func tokenizerJSONGivesTheSameIdsInTokenizers() throws {
        let model = try Self.model.get()
        let script = """
            import json, sys
            from tokenizers import Tokenizer
            tok = Tokenizer.from_file(sys.argv[1])
            for path in sys.argv[2:]:
                for line in open(path, encoding="utf-8").read().split("\\n")[:-1]:
                    print(json.dumps(tok.encode(line, add_special_tokens=False).ids))
            """
        try Self.compare(python: try References.tokenizers.executable(), script: script, vocabulary: try model.serialize(format: "tokenizer.json"),
                         tokenizer: try model.tokenizer(name: "trained"), reference: "tokenizers")
    }

    @Test(.enabled(if: References.tiktoken.shouldRun, "no python3 with tiktoken: `python3 scripts/reference_venv.py` makes the pinned reference environment"))
    func tiktokenFileGivesTheSameIdsInTiktoken() throws {
        let model = try Self.model.get()
        // The pattern goes to tiktoken's Encoding in code, as for OpenAI's own files.
        let script = """
            import base64, json, os, sys, tiktoken
            ranks = {}
            for line in open(sys.argv[1], "rb"):
                token, rank = line.split()
                ranks[base64.b64decode(token)] = int(rank)
            enc = tiktoken.Encoding(name="trained", pat_str=os.environ["TOKC_PATTERN"], mergeable_ranks=ranks, special_tokens={})
            for path in sys.argv[2:]:
                for line in open(path, encoding="utf-8").read().split("\\n")[:-1]:
                    print(json.dumps(enc.encode_ordinary(line)))
            """
        let tiktokenRule = try model.tiktokenRuleTokenizer(name: "trained")
        try Self.compare(python: try References.tiktoken.executable(), script: script, environment: ["TOKC_PATTERN": model.options.pattern], vocabulary: try model.serialize(format: "tiktoken"),
                         tokenizer: tiktokenRule, reference: "tiktoken")
        // And on this corpus tiktoken's rule gives the merge list's ids on every held-out line.
        let mergeList = try model.tokenizer(name: "trained")
        let differing = try Self.heldOutLines().filter { tiktokenRule.encode(Array($0)) != mergeList.encode(Array($0)) }
        #expect(differing.isEmpty)
    }
}
