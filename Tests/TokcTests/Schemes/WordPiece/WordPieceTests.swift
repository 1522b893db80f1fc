import Foundation
import Testing
import TokcTestSupport
@testable import Tokc

/// WordPiece with BERT's pre-processing, against the public bert-base-uncased fixtures (Hugging Face
/// tokenizers 0.23.3 on the file shipped as Vocabularies/bert-base-uncased.tokenizer.json).
@Suite struct WordPieceTests {
    /// BERT's character tables, filled without property lookups in the blocks that are one answer throughout,
    /// equal the lookups at every code point of the Basic Multilingual Plane.
    @Test func bertCharacterTablesEqualThePropertyLookups() {
        var differing: [String] = []
        for value in 0..<0x10000 {
            guard let scalar = Unicode.Scalar(UInt32(value)) else { continue }
            if BertCharacterTraits.of(scalar) != BertCharacterTraits.lookUp(scalar) { differing.append("traits U+\(String(value, radix: 16))") }
            if CharacterLowercase.changesWhenLowercased(scalar) != scalar.properties.changesWhenLowercased {
                differing.append("lowercase U+\(String(value, radix: 16))")
            }
        }
        #expect(differing.isEmpty, "\(differing.prefix(20))")
    }

    static func bert() throws -> Tokenizer { try Tokenizer.named("bert-base-uncased") }

    /// Every fixture through `tokenizer`: ids (added tokens matched, as Hugging Face always does), the
    /// `[CLS] … [SEP]` template, each token's text, and the decoder's text.
    static func checkFixtures(_ tokenizer: Tokenizer, label: String) throws {
        let records = try Fixtures.jsonLines("bert-base-uncased.jsonl")
        #expect(records.count == 112)
        for record in records {
            let name = "\(label) \(record.string("id") ?? "?")"
            let text = try #require(record.string("text"))
            let expected = try #require(record.ids("ids"))
            let ids = tokenizer.encode(text, allowedSpecial: .all)
            #expect(ids == expected, "\(name): \(text.debugDescription)")
            #expect(tokenizer.encode(text, allowedSpecial: .all, addingTemplate: true) == record.ids("ids_with_special"), "\(name) template")
            #expect(tokenizer.count(text, allowedSpecial: .all) == expected.count, "\(name) count")
            #expect(try tokenizer.decodeText(expected) == record.string("decoded"), "\(name) decoded")
            let tokens = try #require(record["tokens"] as? [String])
            let texts = expected.map { id in
                var bytes: [UInt8] = []
                _ = tokenizer.encoder.appendBytes(of: id, to: &bytes)
                return String(decoding: bytes, as: UTF8.self)
            }
            #expect(texts == tokens, "\(name) tokens")
        }
    }

    @Test func publicFixtures() throws {
        let tokenizer = try Self.bert()
        #expect(tokenizer.vocabularySize == 30_522)
        #expect(Scheme.of(tokenizer.encoder) == .wordpiece)
        try Self.checkFixtures(tokenizer, label: "bert")
    }

    /// The shipped tokenizer.json's vocabulary written as vocab.txt is Google's file, byte for byte (its
    /// well-known sha256), and read back with BERT's pipeline it gives the reference ids.
    @Test func vocabularyTextRoundTrip() throws {
        let encoder = try #require(try Self.bert().encoder as? WordPieceEncoder)
        let text = WordPieceFormat.serialize(encoder)
        #expect(VocabularyRegistry.sha256(text) == "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3")
        let reread = WordPieceFormat.bertTokenizer(try WordPieceFormat.parse(text, path: "vocab.txt"), name: "vocab.txt")
        try Self.checkFixtures(reread, label: "vocab.txt")
    }

    /// tokc's own tokenizer.json of the vocabulary reads back into the same tokenizer.
    @Test func tokenizerJSONRoundTrip() throws {
        let encoder = try #require(try Self.bert().encoder as? WordPieceEncoder)
        let written = try TokenizerJSONFormat.serialize(wordPiece: encoder, normalizer: BertNormalizer())
        let reread = try TokenizerJSONFormat.load(written, name: "written", path: "written.json")
        try Self.checkFixtures(reread, label: "written tokenizer.json")
    }

    /// Every code point, in words, between words, uppercased and next to an accent, 64 code points a line:
    /// Hugging Face's ids on all 17,376 lines. Its character categories are Unicode 8.0's, which tokc follows.
    @Test(.enabled(if: References.tokenizers.shouldRun, "no python3 with tokenizers: `python3 scripts/reference_venv.py` makes the pinned reference environment"))
    func everyCodePointAsHuggingFace() throws {
        let lines = PythonReference.everyCodePoint()
        let script = """
            import json, sys
            from tokenizers import Tokenizer
            tok = Tokenizer.from_file(sys.argv[1])
            lines = [json.loads(l)["text"] for l in open(sys.argv[2], encoding="utf-8")]
            for e in tok.encode_batch(lines, add_special_tokens=False):
                print(json.dumps(e.ids))
            """
        let theirs = try PythonReference.run(
            python: try References.tokenizers.executable(), script: script,
            arguments: [Fixtures.repositoryRoot + "/Vocabularies/bert-base-uncased.tokenizer.json"], texts: lines)
        #expect(theirs.count == lines.count && lines.count == 17_376)
        let tokenizer = try Self.bert()
        let differing = zip(lines, theirs).filter { PythonReference.formatted(tokenizer.encode($0, allowedSpecial: .all)) != $1 }
        #expect(differing.isEmpty, "\(differing.count) lines differ, the first: \(differing.first.map { String($0.0.prefix(40)).debugDescription } ?? "")")
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
                try WordPieceFormat.parse(Array(content.utf8), path: "v.txt")
            }
        }
        #expect(throws: TokcError.invalidVocabulary(path: "v.txt", reason: "the unknown token [UNK] is not in the vocabulary")) {
            try WordPieceFormat.parse(Array("a\nb\n".utf8), path: "v.txt")
        }
    }
}
