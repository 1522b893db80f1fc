import Foundation
import Testing
import TokcTestSupport
@testable import Tokc

/// SentencePiece `.model` files against sentencepiece 0.2.3's fixtures: the Unigram `unigram-multi-8k` (shipped)
/// and Mistral's BPE `tokenizer.model.v1` (in Tests/Fixtures): ids, pieces and decoded text.
@Suite struct SentencePieceTests {
    static func check(_ tokenizer: Tokenizer, model: SentencePieceModel, fixtures: String, count: Int) throws {
        let records = try Fixtures.jsonLines(fixtures)
        #expect(records.count == count)
        for record in records {
            let name = "\(fixtures) \(record.string("id") ?? "?")"
            let text = try #require(record.string("text"))
            let expected = try #require(record.ids("ids"))
            let ids = tokenizer.encode(text)
            #expect(ids == expected, "\(name): \(text.debugDescription)")
            #expect(tokenizer.count(text) == expected.count, "\(name) count")
            let pieces = expected.map { String(decoding: model.pieces[Int($0)].text, as: UTF8.self) }
            #expect(pieces == record["pieces"] as? [String], "\(name) pieces")
            #expect(try tokenizer.decodeText(expected) == record.string("decoded"), "\(name) decoded")
        }
    }

    @Test func unigramFixtures() throws {
        let tokenizer = try Tokenizer.named("unigram-multi-8k")
        #expect(Scheme.of(tokenizer.encoder) == .unigram && tokenizer.vocabularySize == 8_000)
        let path = Fixtures.repositoryRoot + "/Vocabularies/unigram-multi-8k.model"
        try Self.check(tokenizer, model: try SentencePieceModel.parse(try FileIO.readAll(path), path: path), fixtures: "unigram-multi-8k.jsonl", count: 112)
    }

    /// Every file of Corpus/split encoded as one text gives sentencepiece 0.2.3's ids (count and sha256 of the
    /// ids, from scripts/make-unigram-long-fixtures.py): the running score reaches millions there, and only with
    /// sentencepiece's rebase past ±100,000 do Float ties break its way (without it the ids differed in a few
    /// places in every file, the counts in some).
    @Test func wholeFilesAsOneTextAsSentencePiece() throws {
        let tokenizer = try Tokenizer.named("unigram-multi-8k")
        let records = try Fixtures.jsonLines("extra-unigram-multi-8k-long.jsonl")
        #expect(records.count == 10)
        for record in records {
            let file = try #require(record.string("file"))
            let ids = tokenizer.encode(try FileIO.readAll(Fixtures.repositoryRoot + "/" + file))
            #expect(ids.count == record["count"] as? Int, "\(file)")
            #expect(VocabularyRegistry.sha256(Array(ids.map(String.init).joined(separator: ",").utf8)) == record.string("ids_sha256"), "\(file)")
        }
    }

    /// The lattice cut before every `▁` (one word's lattice at a time) gives the whole lattice's ids, for
    /// SentencePiece's reading and Hugging Face's, on held-out prose in every language and on random strings
    /// of spaces, letters, marks, unknown characters and `▁` itself.
    @Test func cutLatticeMatchesTheWholeOne() throws {
        let converted = try #require(try UnigramJSONTests.converted(byteFallback: false).encoder as? UnigramEncoder)
        let withBytes = try #require(try UnigramJSONTests.converted(byteFallback: true).encoder as? UnigramEncoder)
        let shipped = try #require(try Tokenizer.named("unigram-multi-8k").encoder as? UnigramEncoder)
        #expect(shipped.cutsAtSpaces && converted.cutsAtSpaces && withBytes.cutsAtSpaces)
        var random = SeededGenerator(seed: 5)
        let alphabet = Array("  ▁▁ab cdée\u{301}日本語カﾀ\u{1F600}\u{E000}\u{10FFFD}x".unicodeScalars)
        var texts = try PythonReference.heldOutLines().prefix(2_000).map { $0 }
        for _ in 0..<500 {
            texts.append(String(String.UnicodeScalarView((0..<Int.random(in: 1...40, using: &random)).map { _ in alphabet.randomElement(using: &random)! })))
        }
        for encoder in [shipped, converted, withBytes] {
            var whole = encoder
            whole.cutsAtSpaces = false
            for text in texts {
                // The encoder's own input: the normalised text, as the pipeline hands it over.
                let normalized = "▁" + text.replacingOccurrences(of: " ", with: "▁")
                var cut = IDSink(), uncut = IDSink()
                Array(normalized.utf8).withUnsafeBufferPointer { bytes in
                    encoder.encode(piece: bytes, into: &cut)
                    whole.encode(piece: bytes, into: &uncut)
                }
                guard cut.ids == uncut.ids else {
                    Issue.record("\(text.debugDescription): cut \(cut.ids), whole \(uncut.ids)")
                    return
                }
            }
        }
    }

    /// ASCII runs are copied without the rule walk, except where a rule starts with the letter (nmt_nfkc joins
    /// a letter and a combining mark): sentencepiece 0.2.3's `normalize` of these texts, with its `▁` prefix.
    @Test func asciiLettersBeforeCombiningMarks() throws {
        let tokenizer = try Tokenizer.named("unigram-multi-8k")
        let normalizer = try #require(tokenizer.normalizer as? SentencePieceNormalizer)
        // No rule starts with a space in nmt_nfkc: spaces take the fast path too.
        #expect(normalizer.spaceIsPlain)
        let expected = ["A\u{30A}": "▁Å", "e\u{301}t\u{E9}": "▁été", "\u{FB01}ne": "▁fine", "x\u{308}y": "▁ẍy", "abc  d ": "▁abc▁d", "  a   b  c  ": "▁a▁b▁c", " ": "",
                        "Zoe\u{308}": "▁Zoë"]
        for (text, normalized) in expected {
            let output = Array(text.utf8).withUnsafeBufferPointer { normalizer.normalize($0) }
            // Bytes, not `String`s: `String` equality is canonical equivalence, under which "か\u{3099}" equals "が".
            #expect(output == Array(normalized.utf8), "\(text.debugDescription)")
        }
    }

    /// Kana and accented letters are copied without the rule walk unless the next character is one their rules
    /// join with (a combining or half-width voiced mark, a combining accent): sentencepiece 0.2.3's `normalize`
    /// (`SentencePieceNormalizer`) of these texts, with its `▁` prefix.
    @Test func charactersBeforeJoiningMarks() throws {
        let tokenizer = try Tokenizer.named("unigram-multi-8k")
        let normalizer = try #require(tokenizer.normalizer as? SentencePieceNormalizer)
        let expected = ["か\u{3099}き": "▁がき", "は\u{309A}ひ\u{3099}": "▁ぱび", "ｶﾞｷﾞ": "▁ガギ", "カ\u{FF9E}カ": "▁ガカ",
                        "é\u{300}": "▁é\u{300}", "ê\u{301}x": "▁ê\u{301}x", "日本\u{3099}": "▁日本\u{3099}", "かきく": "▁かきく",
                        "ä\u{308}ö": "▁ä\u{308}ö", "ウ\u{3099}ォ": "▁ヴォ"]
        for (text, normalized) in expected {
            let output = Array(text.utf8).withUnsafeBufferPointer { normalizer.normalize($0) }
            // Bytes, not `String`s: `String` equality is canonical equivalence, under which "か\u{3099}" equals "が".
            #expect(output == Array(normalized.utf8), "\(text.debugDescription)")
        }
    }

    @Test func sentencePieceBPEFixtures() throws {
        let path = Fixtures.directory + "/mistral-v1.tokenizer.model"
        let content = try FileIO.readAll(path)
        let tokenizer = try SentencePieceFormat.load(content, name: "mistral-v1", path: path)
        #expect(Scheme.of(tokenizer.encoder) == .bpe && tokenizer.vocabularySize == 32_000)
        try Self.check(tokenizer, model: try SentencePieceModel.parse(content, path: path), fixtures: "mistral-v1.jsonl", count: 112)
    }


    /// Both models give sentencepiece's ids on every held-out line of Corpus/split and on every code point.
    @Test(.enabled(if: References.sentencepiece.shouldRun, "no python3 with sentencepiece: `python3 scripts/reference_venv.py` makes the pinned reference environment"),
          arguments: ["Vocabularies/unigram-multi-8k.model", "Tests/Fixtures/mistral-v1.tokenizer.model"])
    func heldOutAndEveryCodePointAsSentencePiece(model: String) throws {
        let path = Fixtures.repositoryRoot + "/" + model
        let tokenizer = try SentencePieceFormat.load(try FileIO.readAll(path), name: model, path: path)
        let texts = try PythonReference.heldOutLines() + PythonReference.everyCodePoint()
        let script = """
            import json, sys
            import sentencepiece as spm
            sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
            for l in open(sys.argv[2], encoding="utf-8"):
                print(json.dumps(sp.encode(json.loads(l)["text"])))
            """
        let theirs = try PythonReference.run(python: try References.sentencepiece.executable(), script: script, arguments: [path], texts: texts)
        #expect(theirs.count == texts.count && texts.count == 6_789 + 17_376)
        let differing = zip(texts, theirs).filter { PythonReference.formatted(tokenizer.encode($0)) != $1 }
        #expect(differing.isEmpty, "\(differing.count) texts differ, the first: \(differing.first.map { String($0.0.prefix(40)).debugDescription } ?? "")")
    }

    @Test func modelRoundTrip() throws {
        let path = Fixtures.repositoryRoot + "/Vocabularies/unigram-multi-8k.model"
        let model = try SentencePieceModel.parse(try FileIO.readAll(path), path: path)
        #expect(model.pieces.count == 8_000 && model.byteFallback && model.normalization.name == "nmt_nfkc")
        #expect(model.normalization.precompiledCharsMap.count == 240_007)
        #expect(try SentencePieceModel.parse(model.serialized(), path: "again") == model)
    }

    /// A piece that repeats an earlier one is named with the earlier one's id; an empty piece is named.
    @Test func repeatedAndEmptyPiecesAreErrors() throws {
        let path = Fixtures.repositoryRoot + "/Vocabularies/unigram-multi-8k.model"
        let model = try SentencePieceModel.parse(try FileIO.readAll(path), path: path)
        var repeated = model
        repeated.pieces[7_000].text = model.pieces[300].text
        repeated.pieces[7_500].text = model.pieces[20].text
        let text = String(decoding: model.pieces[300].text, as: UTF8.self)
        #expect(throws: TokcError.invalidVocabulary(path: "bad.model", reason: "piece 7000 '\(text)' repeats piece 300")) {
            _ = try SentencePieceModel.parse(repeated.serialized(), path: "bad.model")
        }
        var empty = model
        empty.pieces[4_000].text = []
        #expect(throws: TokcError.invalidVocabulary(path: "bad.model", reason: "piece 4000 is empty")) {
            _ = try SentencePieceModel.parse(empty.serialized(), path: "bad.model")
        }
    }

    @Test func truncatedAndCorruptFilesAreErrors() throws {
        let path = Fixtures.repositoryRoot + "/Vocabularies/unigram-multi-8k.model"
        let content = try FileIO.readAll(path)
        for (bytes, reason) in [
            // Cut inside the normalizer spec, whose charsmap is the last big field.
            (Array(content.prefix(370_000)), "byte 130210: expected 240021 bytes of field 3, but the message ends after 239790"),
            (Array(content.prefix(5)), "byte 2: expected 14 bytes of field 1, but the message ends after 3"),
            (Array("hello world\n".utf8), "byte 2: expected a field key with wire type 4 and number 13, which is not valid here"),
            // One piece "a", an empty normalizer spec, no trainer spec.
            ([0x0A, 0x03, 0x0A, 0x01, 0x61, 0x1A, 0x00], "byte 7: expected pieces and a trainer_spec (this is not a SentencePiece model)"),
        ] {
            #expect(throws: TokcError.invalidVocabulary(path: "bad.model", reason: reason)) {
                _ = try SentencePieceModel.parse(bytes, path: "bad.model")
            }
        }
    }
}
