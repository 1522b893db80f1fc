import Testing
@testable import Tokc

/// Exact ids against tiktoken 0.14.0: the public fixtures (shared/reference/fixtures, copied) and the extra ones
/// made by `scripts/make-extra-fixtures.py` (random Unicode, one-megabyte lines, ill-formed UTF-8).
@Suite struct BPEParityTests {
    static let vocabularies = ["o200k_base", "cl100k_base"]

    /// A text record: `ids` (ordinary), `ids_special_all` (all specials allowed), count, and the round trip.
    static func checkText(_ record: [String: Any], _ tokenizer: Tokenizer) throws {
        let label = "\(tokenizer.name) \(record.string("id") ?? "?")"
        let text = try #require(record.string("text"))
        let expected = try #require(record.ids("ids"))
        let ids = tokenizer.encode(text)
        #expect(ids == expected, "\(label): \(text.debugDescription)")
        #expect(tokenizer.count(text) == expected.count, "\(label)")
        #expect(tokenizer.encode(text, allowedSpecial: .all) == record.ids("ids_special_all"), "\(label)")
        #expect(try tokenizer.decode(ids) == Array(text.utf8), "\(label) round trip")
    }

    @Test(arguments: vocabularies)
    func publicFixtures(vocabulary: String) throws {
        let tokenizer = try Tokenizer.named(vocabulary)
        let records = try Fixtures.jsonLines("\(vocabulary).jsonl")
        #expect(records.count == 112)
        for record in records { try Self.checkText(record, tokenizer) }
    }

    /// The other tiktoken encodings tokc ships (issue #25): GPT-2/3's r50k_base, Codex's p50k_base, and gpt-oss's
    /// o200k_harmony (o200k_base with 1,089 special tokens); fixtures from ../shared/reference/fixtures-more, copied.
    /// And Llama 4's (o200k_base's pattern on ranks of its own, 2,048 special tokens), whose fixtures Meta's own
    /// tokenizer made (`scripts/make-llama4-fixtures.py`: the same texts and three that spell its special tokens).
    @Test(arguments: ["r50k_base", "p50k_base", "o200k_harmony", "llama4"])
    func moreTiktokenEncodings(vocabulary: String) throws {
        // Loaded first, o200k_base's tokenizer must not stand in for o200k_harmony, which shares its file (the
        // registry's cache once keyed tokenizers by file and checksum only).
        #expect(try Tokenizer.named("o200k_base").vocabularySize == 200_019)
        let tokenizer = try Tokenizer.named(vocabulary)
        let records = try Fixtures.jsonLines("\(vocabulary).jsonl")
        #expect(records.count == (vocabulary == "llama4" ? 115 : 112))
        for record in records { try Self.checkText(record, tokenizer) }
        #expect(tokenizer.vocabularySize == ["r50k_base": 50_257, "p50k_base": 50_281, "o200k_harmony": 201_088, "llama4": 202_048][vocabulary])
    }

    @Test(arguments: vocabularies)
    func randomUnicodeFixtures(vocabulary: String) throws {
        let tokenizer = try Tokenizer.named(vocabulary)
        let records = try Fixtures.jsonLines("extra-\(vocabulary).jsonl").filter { $0["text"] != nil }
        #expect(records.count == 400)
        for record in records { try Self.checkText(record, tokenizer) }
    }

    /// Megabyte lines: one piece of a million letters, a million spaces, digits, punctuation, kanji.
    @Test(arguments: vocabularies)
    func oneMegabyteLines(vocabulary: String) throws {
        let tokenizer = try Tokenizer.named(vocabulary)
        let records = try Fixtures.jsonLines("extra-\(vocabulary).jsonl").filter { $0["repeat"] != nil }
        #expect(records.count == 7)
        for record in records {
            let id = record.string("id") ?? "?"
            let unit = try #require(record.string("repeat"))
            let times = try #require(record["times"] as? Int)
            let text = Array(String(repeating: unit, count: times).utf8)
            let ids = tokenizer.encode(text)
            #expect(ids.count == record["count"] as? Int, "\(vocabulary) \(id)")
            #expect(VocabularyRegistry.sha256(Array(ids.map(String.init).joined(separator: ",").utf8)) == record.string("ids_sha256"), "\(vocabulary) \(id)")
            #expect(tokenizer.count(text) == ids.count, "\(vocabulary) \(id)")
            #expect(try tokenizer.decode(ids) == text, "\(vocabulary) \(id) round trip")
        }
    }

    /// Ill-formed UTF-8 encodes byte-exactly: each well-formed stretch as tiktoken's `encode_ordinary`, each
    /// maximal ill-formed run as tiktoken's BPE of those bytes.
    @Test(arguments: vocabularies)
    func illFormedUTF8(vocabulary: String) throws {
        let tokenizer = try Tokenizer.named(vocabulary)
        let records = try Fixtures.jsonLines("extra-\(vocabulary).jsonl").filter { $0["bytes_hex"] != nil }
        #expect(records.count == 12)
        for record in records {
            let id = record.string("id") ?? "?"
            let input = bytes(fromHex: try #require(record.string("bytes_hex")))
            let ids = tokenizer.encode(input)
            #expect(ids == record.ids("ids"), "\(vocabulary) \(id)")
            #expect(tokenizer.count(input) == ids.count, "\(vocabulary) \(id)")
            #expect(try tokenizer.decode(ids) == input, "\(vocabulary) \(id) round trip")
        }
    }
}
