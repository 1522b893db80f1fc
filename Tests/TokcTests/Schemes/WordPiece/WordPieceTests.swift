import Foundation
import Testing
@testable import Tokc

/// WordPiece with BERT's pre-processing, against the public bert-base-uncased fixtures (Hugging Face
/// tokenizers 0.23.3 on the file whose vocabulary is Vocabularies/bert-base-uncased.vocab.txt).
@Suite struct WordPieceTests {
    static func bert() throws -> Tokenizer {
        let path = Fixtures.repositoryRoot + "/Vocabularies/bert-base-uncased.vocab.txt"
        let encoder = try WordPieceEncoder.parseVocabularyText(try FileIO.readAll(path), path: path)
        return Tokenizer(
            name: "bert-base-uncased", normalizer: BertNormalizer(), preTokenizer: BertPreTokenizer(), encoder: encoder,
            specialTokens: ["[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102, "[MASK]": 103],
            template: TokenTemplate(prefix: [101], suffix: [102]))
    }

    @Test func publicFixtures() throws {
        let tokenizer = try Self.bert()
        #expect(tokenizer.vocabularySize == 30_522)
        let records = try Fixtures.jsonLines("bert-base-uncased.jsonl")
        #expect(records.count == 112)
        for record in records {
            let label = "bert \(record.string("id") ?? "?")"
            let text = try #require(record.string("text"))
            let expected = try #require(record.ids("ids"))
            // Hugging Face matches added tokens ([CLS], [SEP], ...) in the text always: tokc when allowed.
            let ids = tokenizer.encode(text, allowedSpecial: .all)
            #expect(ids == expected, "\(label): \(text.debugDescription)")
            #expect(tokenizer.encode(text, allowedSpecial: .all, addingTemplate: true) == record.ids("ids_with_special"), "\(label) template")
            let tokens = try #require(record["tokens"] as? [String])
            #expect(try ids.map { try tokenizer.decodeText([$0]) } == tokens, "\(label) tokens")
        }
    }

    @Test func greedyLongestMatchAndUnknownWords() throws {
        let encoder = try #require(WordPieceEncoder(
            tokens: ["[UNK]", "un", "##aff", "##able", "a", "##ff", "##a"].map { Array($0.utf8) }, unknownToken: Array("[UNK]".utf8),
            maxCharactersPerWord: 9))
        let tokenizer = Tokenizer(name: "tiny", preTokenizer: BertPreTokenizer(), encoder: encoder)
        #expect(tokenizer.encode("unaffable") == [1, 2, 3])
        #expect(tokenizer.encode("affa") == [4, 5, 6])
        // A tail nothing matches makes the whole word unknown, not just the tail.
        #expect(tokenizer.encode("unaffx") == [0])
        // More characters than the limit: unknown without trying (10 > 9).
        #expect(tokenizer.encode("unaffablea unaffable") == [0, 1, 2, 3])
    }

    @Test func vocabularyTextErrorsNameTheLine() throws {
        let cases: [(String, Int, String)] = [
            ("[UNK]\na\n\nb\n", 3, "a token (an empty line has none)"),
            ("[UNK]\na\nb\na\n", 4, "a token not already on line 2"),
        ]
        for (content, line, expected) in cases {
            #expect(throws: TokcError.malformedFile(path: "v.txt", line: line, expected: expected)) {
                try WordPieceEncoder.parseVocabularyText(Array(content.utf8), path: "v.txt")
            }
        }
        #expect(throws: TokcError.invalidVocabulary(path: "v.txt", reason: "the unknown token [UNK] is not in the vocabulary")) {
            try WordPieceEncoder.parseVocabularyText(Array("a\nb\n".utf8), path: "v.txt")
        }
    }
}
