import Foundation
import Testing
import TokcTestSupport
@testable import Tokc

@Suite struct UnigramTrainerTests {
    static func nmtNFKC() throws -> SentencePieceModel.Normalization {
        let path = Fixtures.repositoryRoot + "/Vocabularies/unigram-multi-8k.model"
        return try SentencePieceModel.parse(try FileIO.readAll(path), path: path).normalization
    }

    static func train(vocabSize: Int, batchBytes: Int = 8 << 20) throws -> TrainedUnigram {
        var options = UnigramTrainer.Options(vocabSize: vocabSize, normalization: try nmtNFKC())
        options.batchBytes = batchBytes
        var trainer = try UnigramTrainer(options: options)
        try trainer.add(file: Fixtures.repositoryRoot + "/Corpus/split/fr.heldout.txt")
        return try trainer.train { _ in }
    }

    /// A size below the required characters plus the meta pieces is refused, as sentencepiece 0.2.3 refuses it
    /// ("Vocabulary size is smaller than required_chars. 300 vs 333"); it used to loop forever, pruning what
    /// could not go (found while making the fuzz seeds: English and Japanese text, 557 characters, size 300).
    @Test func aSizeBelowTheAlphabetIsRefused() throws {
        var trainer = try UnigramTrainer(options: .init(vocabSize: 300, normalization: try Self.nmtNFKC()))
        let text = try FileIO.readAll(Fixtures.repositoryRoot + "/Corpus/split/ja.heldout.txt")
        text.withUnsafeBufferPointer { trainer.add(UnsafeBufferPointer(rebasing: $0[0..<60_000])) }
        var refusal: TokcError?
        do {
            _ = try trainer.train { _ in }
        } catch {
            refusal = error
        }
        guard case let .malformedInput(source, _, expected)? = refusal else {
            Issue.record("trained, or failed otherwise: \(String(describing: refusal))")
            return
        }
        #expect(source == "--vocab-size")
        #expect(expected.hasPrefix("at least ") && expected.contains("characters within --character-coverage 0.9995"))
    }

    @Test func modelShapeAndDeterminism() throws {
        let model = try Self.train(vocabSize: 1_000).model
        #expect(model.pieces.count == 1_000)
        #expect(model.pieces[0] == .init(text: Array("<unk>".utf8), score: 0, type: .unknown))
        #expect(model.pieces[1].type == .control && model.pieces[2].type == .control)
        #expect(model.pieces[3] == .init(text: Array("<0x00>".utf8), score: 0, type: .byte))
        #expect(model.pieces[258] == .init(text: Array("<0xFF>".utf8), score: 0, type: .byte))
        // Learned pieces follow, by score, highest first; `▁` alone and the frequent words are among them.
        let learned = model.pieces[259...]
        #expect(learned.allSatisfy { $0.type == .normal })
        #expect(zip(learned, learned.dropFirst()).allSatisfy { $0.score >= $1.score })
        #expect(learned.contains { $0.text == Array("▁de".utf8) })
        #expect(try SentencePieceModel.parse(model.serialized(), path: "again") == model)
        // Counting in small batches changes nothing.
        #expect(try Self.train(vocabSize: 1_000, batchBytes: 4096).model == model)
    }

    @Test(.enabled(if: References.sentencepiece.shouldRun, "no python3 with sentencepiece: `python3 scripts/reference_venv.py` makes the pinned reference environment"))
    func sentencePieceLoadsTheModelAndGivesTokcsIds() throws {
        let trained = try Self.train(vocabSize: 1_000)
        let folder = NSTemporaryDirectory() + "tokc-unigram-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/trained.model"
        try Data(try trained.serialize(format: "sentencepiece")).write(to: URL(fileURLWithPath: path))
        let texts = try PythonReference.heldOutLines()
        let script = """
            import json, sys
            import sentencepiece as spm
            sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
            for l in open(sys.argv[2], encoding="utf-8"):
                print(json.dumps(sp.encode(json.loads(l)["text"])))
            """
        let theirs = try PythonReference.run(python: try References.sentencepiece.executable(), script: script, arguments: [path], texts: texts)
        #expect(theirs.count == texts.count)
        let tokenizer = try trained.tokenizer(name: "trained")
        let differing = zip(texts, theirs).filter { PythonReference.formatted(tokenizer.encode($0)) != $1 }
        #expect(differing.isEmpty, "\(differing.count) held-out lines differ")
    }

    /// Written as tokenizer.json, the trained model gives the .model's ids on every held-out line (the two
    /// pipelines agree there with byte fallback on), and `--format` names both files.
    @Test func tokenizerJSONGivesTheModelsIds() throws {
        let trained = try Self.train(vocabSize: 1_000)
        let json = try TokenizerJSONFormat.load(try trained.serialize(format: "tokenizer.json"), name: "trained", path: "trained.json")
        let model = try trained.tokenizer(name: "trained")
        let lines = try PythonReference.heldOutLines()
        #expect(lines.count == 6_789)
        #expect(lines.filter { json.encode($0) != model.encode($0) }.isEmpty)
        #expect(throws: TokcError.malformedInput(source: "--format", line: 1, expected: "sentencepiece (a .model file) or tokenizer.json")) {
            try trained.serialize(format: "vocab.txt")
        }
    }

    @Test func badOptionsAreErrors() throws {
        #expect(throws: TokcError.malformedInput(source: "--vocab-size", line: 1, expected: "more than the 259 meta pieces (unknown, <s>, </s>, 256 bytes)")) {
            _ = try UnigramTrainer(options: .init(vocabSize: 259, normalization: .init()))
        }
    }
}
