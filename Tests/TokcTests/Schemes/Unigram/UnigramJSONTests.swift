import Foundation
import Testing
import TokcTestSupport
@testable import Tokc

/// Unigram models in Hugging Face `tokenizer.json`: the file transformers' converter makes of the shipped
/// unigram-multi-8k (Tests/Fixtures/unigram-multi-8k.tokenizer.json), as it is and with byte fallback, against
/// tokenizers 0.23.3's ids and decoded text (scripts/make-unigram-tokenizer-json.py); and the file tokc writes,
/// against Python tokenizers itself where it is installed.
@Suite struct UnigramJSONTests {
    static let convertedPath = Fixtures.directory + "/unigram-multi-8k.tokenizer.json"

    static func converted(byteFallback: Bool) throws -> Tokenizer {
        var text = String(decoding: try FileIO.readAll(convertedPath), as: UTF8.self)
        if byteFallback {
            // The variant the fixture script makes: byte_fallback on, and the decoder that turns <0xNN> into bytes.
            let decoderStart = try #require(text.range(of: "\"decoder\": {"))
            let decoderEnd = try #require(text.range(of: "\"model\": {"))
            text.replaceSubrange(decoderStart.lowerBound..<decoderEnd.lowerBound, with: """
                "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                  {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},

                """)
            let flag = try #require(text.range(of: "\"byte_fallback\": false"))
            text.replaceSubrange(flag, with: "\"byte_fallback\": true")
        }
        return try TokenizerJSONFormat.load(Array(text.utf8), name: "converted", path: convertedPath)
    }

    @Test(arguments: ["converted", "byte-fallback"])
    func convertedFileGivesTokenizersIds(variant: String) throws {
        let tokenizer = try Self.converted(byteFallback: variant == "byte-fallback")
        #expect(Scheme.of(tokenizer.encoder) == .unigram && tokenizer.vocabularySize == 8_000)
        let records = try Fixtures.jsonLines("extra-unigram-multi-8k-json.jsonl").filter { $0.string("variant") == variant }
        #expect(records.count == 120)
        for record in records {
            let label = "\(variant) \(record.string("id") ?? "?")"
            let text = try #require(record.string("text"))
            let expected = try #require(record.ids("ids"))
            // Hugging Face always matches its added tokens (<s>, </s>); tokc when special tokens are allowed.
            #expect(tokenizer.encode(text, allowedSpecial: .all) == expected, "\(label): \(text.debugDescription)")
            #expect(tokenizer.count(text, allowedSpecial: .all) == expected.count, "\(label) count")
            #expect(try tokenizer.decodeText(expected) == record.string("decoded"), "\(label) decoded")
        }
    }

    /// Where the two pipelines of the same model part: `Precompiled` rewrites a short grapheme cluster by its
    /// first rule and drops the rest (Ａ + U+0301 → `A`), SentencePiece rewrites code point by code point with the
    /// longest rule (→ `Á`, spelt in byte pieces here). Elsewhere they agree (on every held-out line, with byte
    /// fallback on).
    @Test func differsFromSentencePieceWhereThePipelinesDo() throws {
        let json = try Self.converted(byteFallback: true)
        let model = try Tokenizer.named("unigram-multi-8k")
        #expect(json.encode("Ａ\u{301}") == json.encode("A"))
        #expect(model.encode("Ａ\u{301}") == model.encode("A\u{301}"))
        #expect(json.encode("Ａ\u{301}") != model.encode("Ａ\u{301}"))
        for text in ["Hello world.", "  leading  and  inner   spaces ", "東京タワーは日本の電波塔です。", "Größe ändern"] {
            #expect(json.encode(text) == model.encode(text), "\(text)")
        }
    }

    /// docs/vocabularies.md's figures: with byte fallback the converter's file gives the `.model`'s ids on every
    /// held-out line; as converted (no byte fallback), 321 of the 6,789 lines differ, each by `<unk>`. (Each side
    /// is its reference's ids: the parity tests of both formats hold them to tokenizers and sentencepiece.)
    @Test func heldOutLinesAgainstTheModelWithAndWithoutByteFallback() throws {
        let model = try Tokenizer.named("unigram-multi-8k")
        let lines = try TrainedParityTests.heldOutLines().map(Array.init)
        #expect(lines.count == 6_789)
        let withFallback = try Self.converted(byteFallback: true)
        #expect(lines.allSatisfy { withFallback.encode($0) == model.encode($0) })
        let converted = try Self.converted(byteFallback: false)
        let unknown: TokenID = 0  // the file's model.unk_id, as in the .model
        let differing = lines.map { converted.encode($0) }.enumerated().filter { $0.element != model.encode(lines[$0.offset]) }
        #expect(differing.count == 321)
        #expect(differing.allSatisfy { $0.element.contains(unknown) })
    }

    @Test func writtenFileReadsBackToTheSameIds() throws {
        let path = Fixtures.repositoryRoot + "/Vocabularies/unigram-multi-8k.model"
        let model = try SentencePieceModel.parse(try FileIO.readAll(path), path: path)
        let written = try TokenizerJSONFormat.serialize(unigram: model)
        #expect(try TokenizerJSONFormat.serialize(unigram: model) == written, "the same bytes every time")
        let tokenizer = try TokenizerJSONFormat.load(written, name: "written", path: "written")
        let reference = try Self.converted(byteFallback: true)
        for record in try Fixtures.jsonLines("extra-unigram-multi-8k-json.jsonl") where record.string("variant") == "byte-fallback" {
            let text = try #require(record.string("text"))
            let ids = tokenizer.encode(text, allowedSpecial: .all)
            #expect(ids == reference.encode(text, allowedSpecial: .all), "\(text.debugDescription)")
            #expect(try tokenizer.decodeText(ids) == record.string("decoded"), "\(text.debugDescription) decoded")
        }
    }

    /// The file tokc writes (byte fallback on) and the converter's file give Python tokenizers' ids on every
    /// held-out line of Corpus/split and on every code point.
    @Test(.enabled(if: References.tokenizers.shouldRun, "no python3 with tokenizers: `python3 scripts/reference_venv.py` makes the pinned reference environment"),
          arguments: ["written", "converted"])
    func heldOutAndEveryCodePointAsTokenizers(file: String) throws {
        let content: [UInt8]
        if file == "written" {
            let path = Fixtures.repositoryRoot + "/Vocabularies/unigram-multi-8k.model"
            content = try TokenizerJSONFormat.serialize(unigram: try SentencePieceModel.parse(try FileIO.readAll(path), path: path))
        } else {
            content = try FileIO.readAll(Self.convertedPath)
        }
        let folder = NSTemporaryDirectory() + "tokc-unigram-json-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/tokenizer.json"
        try Data(content).write(to: URL(fileURLWithPath: path))
        let tokenizer = try TokenizerJSONFormat.load(content, name: file, path: path)
        let texts = try PythonReference.heldOutLines() + PythonReference.everyCodePoint()
        let script = """
            import json, sys
            from tokenizers import Tokenizer
            tok = Tokenizer.from_file(sys.argv[1])
            for l in open(sys.argv[2], encoding="utf-8"):
                print(json.dumps(tok.encode(json.loads(l)["text"], add_special_tokens=False).ids))
            """
        let theirs = try PythonReference.run(python: try References.tokenizers.executable(), script: script, arguments: [path], texts: texts)
        #expect(theirs.count == texts.count && texts.count == 6_789 + 17_376)
        let differing = zip(texts, theirs).filter { PythonReference.formatted(tokenizer.encode($0)) != $1 }
        #expect(differing.isEmpty, "\(differing.count) texts differ, the first: \(differing.first.map { String($0.0.prefix(60)).debugDescription } ?? "")")
    }
}

/// Scores are read as Hugging Face reads them (serde_json's default number parsing), not correctly rounded.
@Suite struct SerdeNumberTests {
    static func read(_ number: String) throws -> Double? {
        try JSONNode.withDocument(Array("[\(number)]".utf8), path: "number") { root in root.array?.first?.serdeNumber }
    }

    @Test func seventeenDigitScoresRoundTwice() throws {
        // 72625226974487305 is past 2^53: it rounds to a Double, then the division by 10^16 rounds again.
        #expect(try Self.read("-7.2625226974487305") == -7.262522697448731)
        #expect(Double("-7.2625226974487305")! == -7.2625226974487305 && -7.2625226974487305 != -7.262522697448731)
        #expect(try Self.read("-2.9047999382019043") == -2.9047999382019043)
    }

    /// docs/vocabularies.md's figure: of the 8,000 scores of the converter's `unigram-multi-8k` file, 1,840 read
    /// one ULP away from the correctly rounded value, none further.
    @Test func scoresOfTheUnigramFileThatReadDifferently() throws {
        let content = try FileIO.readAll(Fixtures.directory + "/unigram-multi-8k.tokenizer.json")
        let ulps = try JSONNode.withDocument(content, path: "unigram-multi-8k.tokenizer.json") { root in
            (root["model"]?["vocab"]?.array ?? []).compactMap { entry -> Int? in
                guard let score = entry.array?.last, let serde = score.serdeNumber, let rounded = Double(score.source) else { return nil }
                return serde == rounded ? 0 : (serde.nextUp == rounded || serde.nextDown == rounded ? 1 : 2)
            }
        }
        #expect(ulps.count == 8_000)
        #expect(ulps.filter { $0 == 1 }.count == 1_840 && !ulps.contains(2))
    }

    @Test func formsOfNumbers() throws {
        #expect(try Self.read("0") == 0 && Self.read("-0.0")?.sign == .minus)
        #expect(try Self.read("12") == 12 && Self.read("-1.5e3") == -1500 && Self.read("25E-1") == 2.5)
        #expect(try Self.read("1e-320") == 1e-320)
        #expect(try Self.read("1e400") == nil)
        #expect(try Self.read("\"1\"") == nil)
        // Digits past UInt64's range are dropped (those before the point still count as powers of ten).
        #expect(try Self.read("123456789012345678901234") == 1.2345678901234567e23)  // 12345678901234567890 × 10⁴
    }
}
