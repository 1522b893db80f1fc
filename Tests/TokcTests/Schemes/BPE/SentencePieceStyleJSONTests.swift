import Foundation
import Testing
@testable import Tokc

/// SentencePiece-style BPE in `tokenizer.json` (Llama 2, Mistral): character symbols, byte fallback, unknown
/// tokens, the `▁` normalisers and pre-tokenizer, the decoder chains and the `<s>` template. Checked against
/// sentencepiece's ids for the 112 public mistral-v1 texts (Hugging Face gives the same ids on the shipped
/// file), and against Hugging Face tokenizers 0.23.3 on variants of the file that swap in the other layouts
/// real files use (scripts/make-tokenizer-json-variants.py).
@Suite struct SentencePieceStyleJSONTests {
    static let mistral: Tokenizer? = try? Tokenizer.named("mistral-v1")

    @Test func publicFixtures() throws {
        let tokenizer = try #require(Self.mistral)
        #expect(tokenizer.vocabularySize == 32_000)
        #expect(tokenizer.template == TokenTemplate(prefix: [1], suffix: []))
        let records = try Fixtures.jsonLines("mistral-v1.jsonl")
        #expect(records.count == 112)
        for record in records {
            let label = "mistral-v1 \(record.string("id") ?? "?")"
            let text = try #require(record.string("text"))
            let expected = try #require(record.ids("ids"))
            let ids = tokenizer.encode(text)
            #expect(ids == expected, "\(label): \(text.debugDescription)")
            #expect(tokenizer.encode(text, allowedSpecial: .all) == expected, "\(label) with specials")
            #expect(tokenizer.count(text) == expected.count, "\(label) count")
            #expect(tokenizer.encode(text, addingTemplate: true) == [1] + expected, "\(label) template")
            #expect(try tokenizer.decodeText(ids) == record.string("decoded"), "\(label) decode")
            // Each piece is the token's text: `▁` as it is, byte-fallback tokens as their one byte.
            let pieces = try #require(record["pieces"] as? [String])
            for (id, piece) in zip(ids, pieces) {
                var bytes: [UInt8] = []
                #expect(tokenizer.encoder.appendBytes(of: id, to: &bytes), "\(label) id \(id)")
                let byte = piece.count == 6 && piece.hasPrefix("<0x") ? UInt8(piece.dropFirst(3).prefix(2), radix: 16) : nil
                #expect(bytes == (byte.map { [$0] } ?? Array(piece.utf8)), "\(label) piece \(piece)")
            }
        }
    }

    @Test func roundTripsEveryByteString() throws {
        let tokenizer = try #require(Self.mistral)
        // Byte fallback covers every byte, ill-formed UTF-8 included: decode gives back the bytes, less the
        // one leading space the decoder's Strip removes (the dummy prefix).
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<300 {
            let length = Int.random(in: 1...40, using: &generator)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(try tokenizer.decode(tokenizer.encode(bytes)) == bytes, "\(hex(bytes))")
        }
        let long = Array(String(repeating: "Ab ç 日本 ", count: 2_000).utf8)
        #expect(try tokenizer.decode(tokenizer.encode(long)) == long)
    }

    /// The shipped file with its pipeline swapped: the header is rewritten, the model section kept as bytes.
    static func variant(_ name: String) throws -> String {
        let original = try FileIO.readAll(Fixtures.repositoryRoot + "/Vocabularies/mistral-v1.tokenizer.json")
        let text = String(decoding: original, as: UTF8.self)
        let modelStart = try #require(text.range(of: "\"model\": {"))
        let headerEnd = try #require(text.range(of: "\"normalizer\": "))
        var model = String(text[modelStart.lowerBound...])
        var normalizer = #"{"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}"#
        var preTokenizer = "null"
        var decoder = #"{"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}"#
        switch name {
        case "metaspace-first-split":
            normalizer = "null"
            preTokenizer = #"{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true}"#
            decoder = #"{"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true}]}"#
        case "metaspace-always-whole":
            normalizer = "null"
            preTokenizer = #"{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": false}"#
        case "nfkc-lowercase":
            normalizer = #"{"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"}, {"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}"#
        case "unknown-fused", "unknown-unfused":
            model = model.replacingOccurrences(of: #""byte_fallback": true"#, with: #""byte_fallback": false"#)
            if name == "unknown-unfused" { model = model.replacingOccurrences(of: #""fuse_unk": true"#, with: #""fuse_unk": false"#) }
            decoder = decoder.replacingOccurrences(of: #"{"type": "ByteFallback"}, "#, with: "")
        default:
            throw Fixtures.FixtureError(message: "no variant \(name)")
        }
        let postProcessor = #"{"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}], "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}}"#
        return String(text[..<headerEnd.lowerBound])
            + "\"normalizer\": \(normalizer), \"pre_tokenizer\": \(preTokenizer), \"post_processor\": \(postProcessor), \"decoder\": \(decoder),\n  "
            + model
    }

    @Test(arguments: ["metaspace-first-split", "metaspace-always-whole", "nfkc-lowercase", "unknown-fused", "unknown-unfused"])
    func layoutVariants(variant: String) throws {
        let tokenizer = try TokenizerJSONFormat.load(Array(try Self.variant(variant).utf8), name: variant, path: variant)
        let records = try Fixtures.jsonLines("extra-mistral-v1-variants.jsonl").filter { $0.string("variant") == variant }
        #expect(records.count == 118)
        for record in records {
            let label = "\(variant) \(record.string("id") ?? "?")"
            let text = try #require(record.string("text"))
            let expected = try #require(record.ids("ids"))
            // Hugging Face matches added tokens (<s>, </s>, <unk>) in the text always: tokc when allowed.
            let ids = tokenizer.encode(text, allowedSpecial: .all)
            #expect(ids == expected, "\(label): \(text.debugDescription)")
            #expect(tokenizer.encode(text, allowedSpecial: .all, addingTemplate: true) == record.ids("ids_with_special"), "\(label) template")
            #expect(try tokenizer.decodeText(ids) == record.string("decoded"), "\(label) decode")
        }
    }

    @Test func decoderChainsTokcDoesNotModelAreNamed() throws {
        let text = try Self.variant("metaspace-always-whole")
        let strip = #"{"type": "Strip", "content": " ", "start": 1, "stop": 0}"#
        let cases: [(String, String)] = [
            // Strip before Fuse strips every token, which tokc does not model.
            (text.replacingOccurrences(of: #"{"type": "Fuse"}, \#(strip)"#, with: #"\#(strip), {"type": "Fuse"}"#), "decoder 'Strip' in [Replace, ByteFallback, Strip, Fuse] is not supported"),
            (text.replacingOccurrences(of: #"{"type": "ByteFallback"}, "#, with: ""), "model.byte_fallback without a ByteFallback decoder is not supported"),
            (text.replacingOccurrences(of: #""prepend_scheme": "always""#, with: #""prepend_scheme": "sometimes""#), "Metaspace prepend_scheme 'sometimes' is not supported"),
            (text.replacingOccurrences(of: #""ids": [1]"#, with: #""ids": []"#), "TemplateProcessing names '<s>', which its special_tokens do not give ids for"),
        ]
        for (json, fragment) in cases {
            #expect {
                try TokenizerJSONFormat.load(Array(json.utf8), name: "variant", path: "variant.json")
            } throws: { error in
                guard case let .invalidVocabulary(path, reason) = error as? TokcError else { return false }
                return path == "variant.json" && reason.contains(fragment)
            }
        }
    }

    /// Merging word by word (each `▁` after a non-`▁` starts a word) gives the ids of merging the whole text
    /// at once: on random text with runs of spaces, newlines, CJK and rare characters, and on the held-out
    /// corpus when it is there.
    @Test func wordByWordMergeMatchesWholeMerge() throws {
        let tokenizer = try #require(Self.mistral)
        let encoder = try #require(tokenizer.encoder as? MergeListBPEEncoder)
        #expect(encoder.wordStart != nil)
        let whole = Tokenizer(
            name: "mistral-v1 whole", normalizer: tokenizer.normalizer, preTokenizer: tokenizer.preTokenizer,
            encoder: encoder.mergingWholePieces())
        let words = ["the", "  ", " ", "▁", "ing", "\n", "日本語", "x", "Ünïcödé", "🙂", "\u{0301}", "ab", "    ", "\t", "."]
        var random = SeededGenerator(seed: 29)
        var texts: [[UInt8]] = (0..<200).map { _ in
            Array((0..<Int.random(in: 10...80, using: &random)).map { _ in words.randomElement(using: &random)! }.joined().utf8)
        }
        if let split = EvaluationCorpus.shippedFolder.map({ $0 + "/split" }) {
            for language in ["de", "en", "ja"] { texts.append(try FileIO.readAll(split + "/" + language + ".heldout.txt")) }
        }
        for (index, text) in texts.enumerated() {
            #expect(tokenizer.encode(text) == whole.encode(text), "text \(index)")
        }
    }
}

