import Foundation
import Testing
@testable import Tokc

/// The ungreedy scheme: capitalisation markers, the fewest-tokens encoder, its file format and its trainer.
@Suite struct UngreedyTests {
    static let shipped: Tokenizer? = try? Tokenizer.named("ungreedy-multi-8k")

    static func capcode(_ text: String) -> String {
        let marked = Array(text.utf8).withUnsafeBufferPointer { Capcode().normalize($0) } ?? Array(text.utf8)
        return String(decoding: marked, as: UTF8.self)
            .replacingOccurrences(of: "\u{F8F0}", with: "⟨C⟩").replacingOccurrences(of: "\u{F8F1}", with: "⟨W⟩")
            .replacingOccurrences(of: "\u{F8F2}", with: "⟨E⟩")
    }

    @Test func capcodeMarksCapitals() {
        #expect(Self.capcode("The cat") == "⟨C⟩the cat")
        #expect(Self.capcode("HTTP and NASA's A") == "⟨W⟩http and ⟨W⟩nasa's ⟨C⟩a")
        #expect(Self.capcode("McDonald iPhone") == "⟨C⟩mc⟨C⟩donald i⟨C⟩phone")
        #expect(Self.capcode("ÉCOLE Σοφία Дом") == "⟨W⟩école ⟨C⟩σοφία ⟨C⟩дом")
        // Not paired: ß has no one-letter capital, the Kelvin sign lowercases to k (whose capital is K), İ to i̇.
        #expect(Self.capcode("Straße \u{212A} İ 東京 123") == "⟨C⟩straße \u{212A} İ 東京 123")
        // The markers themselves are escaped.
        #expect(Self.capcode("a\u{F8F0}b") == "a⟨E⟩⟨C⟩b")
        #expect(Self.capcode("plain text") == "plain text")
    }

    /// The paired letters Capcode ships (`Capcode+Pairs.swift`) are the ones the standard library's Unicode
    /// tables give: a toolchain with other tables fails here, and `scripts/make-capcode-pairs.swift` says
    /// what they would be (a vocabulary trained with the shipped pairs keeps them).
    @Test func capcodePairsAreTheStandardLibrarys() {
        let computed = Capcode.pairsFromUnicodeProperties()
        #expect(computed.count == Capcode.pairs.count)
        #expect(computed == Capcode.pairs, "Capcode+Pairs.swift differs from this toolchain's Unicode tables")
        for index in stride(from: 0, to: Capcode.pairs.count, by: 2) {
            let (capital, small) = (Capcode.pairs[index], Capcode.pairs[index + 1])
            #expect(Capcode.lowercase(of: capital) == small && Capcode.uppercase(of: small) == capital)
            #expect(Capcode.lowercase(of: small) == nil && Capcode.uppercase(of: capital) == nil)
        }
        #expect(Capcode.lowercase(of: 0x4E00) == nil && Capcode.uppercase(of: 0x1_FFFF) == nil && Capcode.lowercase(of: 0x10_FFFF) == nil)
    }

    @Test func capcodeRoundTripsEveryText() throws {
        var texts = ["", "A", "AB", "Ab", "aB", "ABc", "A\u{301}B", "\u{F8F0}", "\u{F8F2}", "X\u{F8F1}Y", "ǅ Ǆ ǆ", "ΣΑΣ"]
        for name in ["o200k_base.jsonl", "unigram-multi-8k.jsonl", "bert-base-uncased.jsonl"] {
            texts += try Fixtures.jsonLines(name).compactMap { $0.string("text") }
        }
        for text in texts {
            let bytes = Array(text.utf8)
            let marked = bytes.withUnsafeBufferPointer { Capcode().normalize($0) } ?? bytes
            #expect(Capcode.decode(marked) == bytes, "\(text.debugDescription)")
        }
        var generator = SeededGenerator(seed: 11)
        let alphabet: [UInt8] = Array("aAbBzZ ".utf8) + [0xC3, 0x89, 0xA9, 0xEF, 0xA3, 0xB0, 0xB1, 0xB2, 0xFF, 0x80]
        for _ in 0..<2_000 {
            let bytes = (0..<Int.random(in: 0...24, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            let marked = bytes.withUnsafeBufferPointer { Capcode().normalize($0) } ?? bytes
            #expect(Capcode.decode(marked) == bytes, "\(hex(bytes))")
        }
    }

    @Test func fewestTokensNotLongestFirst() throws {
        func tokenizer(_ tokens: [String]) throws -> Tokenizer {
            UngreedyFormat.tokenizer(try #require(UngreedyEncoder(multiByteTokens: tokens.map { Array($0.utf8) })), capcode: false, name: "t")
        }
        // Greedy longest match takes `abc`, then needs `d`, `e`, `f`: 4 tokens. Looking ahead, `ab` + `cdef`: 2.
        let ungreedy = try tokenizer(["abc", "ab", "cdef"])
        #expect(ungreedy.encode("abcdef") == [257, 258])
        #expect(ungreedy.encode("abcdefabc") == [257, 258, 256])
        // Of equally few tokens, the longer first token: `the c` + `at`, not `the` + ` cat`.
        let tie = try tokenizer(["the", "the c", " cat", "at"])
        #expect(tie.encode("the cat") == [257, 259])
        #expect(tie.encode("the cats") == [257, 259, UInt32(UInt8(ascii: "s"))])
        // Bytes no token covers are single-byte ids, ill-formed UTF-8 included.
        #expect(tie.encode([0xFF, 0x74, 0x68, 0x65]) == [0xFF, 256])
        #expect(UngreedyEncoder(multiByteTokens: [Array("ab".utf8), Array("ab".utf8)]) == nil)
        #expect(UngreedyEncoder(multiByteTokens: [[0x61]]) == nil)
    }

    @Test func shippedVocabularyRoundTripsEveryFixtureAndRandomBytes() throws {
        let tokenizer = try #require(Self.shipped)
        #expect(Scheme.of(tokenizer.encoder) == .ungreedy && tokenizer.vocabularySize == 8_000)
        let files = try FileManager.default.contentsOfDirectory(atPath: Fixtures.directory).filter { $0.hasSuffix(".jsonl") }.sorted()
        #expect(files.count >= 10)
        var checked = 0
        for file in files {
            for record in try Fixtures.jsonLines(file) {
                guard let text = record.string("text") else { continue }
                let ids = tokenizer.encode(text)
                #expect(try tokenizer.decodeText(ids) == text, "\(file) \(record.string("id") ?? "?")")
                #expect(tokenizer.count(text) == ids.count)
                checked += 1
            }
        }
        #expect(checked > 1_500)
        var generator = SeededGenerator(seed: 5)
        for _ in 0..<500 {
            let bytes = (0..<Int.random(in: 0...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(try tokenizer.decode(tokenizer.encode(bytes)) == bytes, "\(hex(bytes))")
        }
        let long = Array(String(repeating: "The Ünïcode 東京タワー\r\n\t ", count: 3_000).utf8)
        #expect(try tokenizer.decode(tokenizer.encode(long)) == long)
    }

    @Test func fileRoundTripAndErrors() throws {
        let tokenizer = try #require(Self.shipped)
        let encoder = try #require(tokenizer.encoder as? UngreedyEncoder)
        let file = UngreedyFormat.serialize(encoder, capcode: true, specialTokens: ["<|end|>": 8_000])
        let again = try UngreedyFormat.load(file, name: "again", path: "again.json")
        let text = "The ungreedy tokenizer<|end|> 東京"
        #expect(again.encode(text) == tokenizer.encode(text))
        #expect(again.encode(text, allowedSpecial: .all).contains(8_000))
        let shippedBytes = try FileIO.readAll(Fixtures.repositoryRoot + "/Vocabularies/ungreedy-multi-8k.json")
        #expect(UngreedyFormat.serialize(encoder, capcode: true) == shippedBytes)

        let cases: [(String, TokcError)] = [
            (#"{"format": "tokc-ungreedy", "version": 2, "tokens": []}"#, .malformedFile(path: "v.json", line: 1, expected: "\"version\": 1, not 2")),
            (#"{"format": "tokc-ungreedy", "version": 1}"#, .malformedFile(path: "v.json", line: 1, expected: "\"tokens\", a list of strings")),
            (#"{"format": "tokc-ungreedy", "version": 1, "tokens": ["ab", "a"]}"#, .invalidVocabulary(path: "v.json", reason: "tokens[1] (id 257) is \"a\": each token is a string of two bytes or more, listed once (ids 0-255 are the single bytes)")),
            (#"{"format": "tokc-ungreedy", "version": 1, "tokens": ["ab", "ab"]}"#, .invalidVocabulary(path: "v.json", reason: "tokens[1] (id 257) is \"ab\": each token is a string of two bytes or more, listed once (ids 0-255 are the single bytes)")),
            (#"{"format": "tokc-ungreedy", "version": 1, "tokens": ["ab"], "special_tokens": {"<s>": 3}}"#, .invalidVocabulary(path: "v.json", reason: "special token \"<s>\" has id 3; special ids follow the tokens (from 257)")),
        ]
        for (json, expected) in cases {
            #expect(throws: expected) { try UngreedyFormat.load(Array(json.utf8), name: "v", path: "v.json") }
        }
    }

    static func train(vocabSize: Int, capcode: Bool = true) throws -> TrainedUngreedy {
        var options = UngreedyTrainer.Options(vocabSize: vocabSize)
        options.capcode = capcode
        var trainer = try UngreedyTrainer(options: options)
        try trainer.add(file: Fixtures.repositoryRoot + "/Corpus/split/fr.heldout.txt")
        return try trainer.train { _ in }
    }

    @Test func trainerIsDeterministicAndBeatsBPE() throws {
        let trained = try Self.train(vocabSize: 1_000)
        #expect(trained.encoder.idLimit == 1_000)
        #expect(try Self.train(vocabSize: 1_000).serialize(format: "tokc-ungreedy") == trained.serialize(format: "tokc-ungreedy"))
        let tokenizer = try trained.tokenizer(name: "trained")
        let text = try FileIO.readAll(Fixtures.repositoryRoot + "/Corpus/split/fr.heldout.txt")
        // Fewer tokens than tokc's byte-level BPE of the same size trained on the same lines.
        let lines = String(decoding: text, as: UTF8.self).split(separator: "\n").map(String.init)
        let bpe = try BPETrainerTests.train(lines) { $0.vocabSize = 1_000 }.tokenizer(name: "bpe")
        let count = tokenizer.count(text), bpeCount = bpe.count(text)
        #expect(count < bpeCount, "ungreedy \(count) tokens, BPE \(bpeCount), for \(text.count) bytes")
        #expect(try tokenizer.decode(tokenizer.encode(text)) == text)
        // Frequent words with their space, capitalised forms sharing the lowercase token.
        #expect(trained.encoder.tokens.contains(Array("de ".utf8)))
        #expect(throws: TokcError.malformedInput(source: "--vocab-size", line: 1, expected: "more than the 256 single-byte tokens")) {
            try UngreedyTrainer(options: .init(vocabSize: 256))
        }
    }
}
