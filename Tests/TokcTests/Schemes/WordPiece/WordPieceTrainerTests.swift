import Foundation
import Testing
@testable import Tokc

@Suite struct WordPieceTrainerTests {
    static func train(_ texts: [String], _ configure: (inout WordPieceTrainer.Options) -> Void) throws -> TrainedWordPiece {
        var options = WordPieceTrainer.Options(vocabSize: 13)
        options.specialTokens = ["[UNK]"]
        configure(&options)
        var trainer = try WordPieceTrainer(options: options)
        for text in texts { Array(text.utf8).withUnsafeBufferPointer { trainer.add($0) } }
        return try trainer.train { _ in }
    }

    static func vocabulary(_ model: TrainedWordPiece) -> [String] {
        model.encoder.tokenTexts.map { String(decoding: $0, as: UTF8.self) }
    }

    static let texts = ["hug hug HUG hug hug", "pug pug hugs", "hugs"]

    /// hug ×5, pug ×2, hugs ×2 (lowercased): ##u + ##g (9) first, then h + ##ug (7), then the tie between
    /// hug + ##s and p + ##ug (2 each) goes to the pair of smaller ids.
    @Test func mergesFollowFrequencyWithContinuationPrefix() throws {
        let model = try Self.train(Self.texts) { _ in }
        #expect(Self.vocabulary(model) == ["[UNK]", "g", "h", "p", "s", "u", "##u", "##g", "##s", "##ug", "hug", "pug", "hugs"])
        let tokenizer = try model.tokenizer(name: "tiny")
        #expect(tokenizer.encode("Hugs pugs gug gush") == [12, 11, 8, 1, 9, 0])  // no ##h: gush is unknown
        #expect(try tokenizer.decodeText([12, 11, 8]) == "hugs pugs")
        #expect(String(decoding: try model.serialize(format: "vocab.txt"), as: UTF8.self) == Self.vocabulary(model).joined(separator: "\n") + "\n")
    }

    @Test func minimumFrequencyAndAlphabetLimit() throws {
        #expect(Self.vocabulary(try Self.train(Self.texts) { $0.minFrequency = 3 }).suffix(2) == ["##ug", "hug"])
        // Four characters: p and s are seen twice each, s has the larger code point and goes; so do the words
        // that hold it.
        let limited = try Self.train(Self.texts) { $0.alphabetLimit = 4; $0.vocabSize = 11 }
        #expect(Self.vocabulary(limited) == ["[UNK]", "g", "h", "p", "u", "##u", "##g", "##ug", "hug", "pug"])
        #expect(try limited.tokenizer(name: "limited").encode("hugs") == [0])
    }

    @Test func batchingDoesNotChangeTheVocabulary() throws {
        let text = try FileIO.readAll(Fixtures.repositoryRoot + "/Corpus/split/fr.heldout.txt")
        let lines = text.split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }
        let whole = try Self.train(lines) { $0.vocabSize = 2_000; $0.specialTokens = WordPieceFormat.bertSpecialTokens }
        let batched = try Self.train(lines) { $0.vocabSize = 2_000; $0.specialTokens = WordPieceFormat.bertSpecialTokens; $0.batchBytes = 4096 }
        #expect(whole.encoder.idLimit == 2_000)
        #expect(Self.vocabulary(whole) == Self.vocabulary(batched))
    }

    @Test func icuWordBreakingKeepsJapaneseWordsTogether() throws {
        let sentence = "東京タワーは日本の電波塔です。"
        let texts = Array(repeating: sentence, count: 5)
        let plain = try Self.train(texts) { $0.vocabSize = 60 }
        let icu = try Self.train(texts) { $0.vocabSize = 60; $0.icuWordLocale = "ja" }
        // BERT's split makes each ideograph a word; with ICU the dictionary's words are learned whole.
        #expect(!Self.vocabulary(plain).contains("日本"))
        #expect(Self.vocabulary(icu).contains("日本") && Self.vocabulary(icu).contains("東京タワー"))
        let tokenizer = try icu.tokenizer(name: "icu")
        let decoded = try tokenizer.decodeText(tokenizer.encode(sentence))
        // Uncased strips the voicing mark of で (NFD + drop Mn, as BERT does), and the dictionary splits てす.
        #expect(decoded == "東京タワー は 日本 の 電波 塔 て す 。")
        #expect(throws: TokcError.malformedInput(source: "--format", line: 1, expected: "vocab.txt: Hugging Face's tokenizer.json has no ICU word breaking; use the vocab.txt with --pretokenizer icu-words")) {
            try icu.serialize(format: "tokenizer.json")
        }
    }

    @Test func badOptionsAreErrors() {
        #expect(throws: TokcError.malformedInput(source: "--special", line: 1, expected: "the unknown token [UNK] among the special tokens")) {
            var options = WordPieceTrainer.Options(vocabSize: 100)
            options.specialTokens = ["[PAD]"]
            _ = try WordPieceTrainer(options: options)
        }
        #expect(throws: TokcError.malformedInput(source: "--vocab-size", line: 1, expected: "more than the 5 special tokens")) {
            _ = try WordPieceTrainer(options: .init(vocabSize: 5))
        }
    }
}
