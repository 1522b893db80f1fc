import Testing
@testable import Tokc

@Suite struct TokenizerTests {
    @Test func helloWorld() throws {
        let o200k = try Tokenizer.named("o200k_base")
        #expect(o200k.encode("hello world") == [24912, 2375])
        #expect(o200k.count("hello world") == 2)
        #expect(o200k.vocabularySize == 200_019)
        let cl100k = try Tokenizer.named("cl100k_base")
        #expect(cl100k.encode("hello world") == [15339, 1917])
        #expect(cl100k.vocabularySize == 100_277)
    }

    @Test func emptyInput() throws {
        let tokenizer = try Tokenizer.named("o200k_base")
        #expect(tokenizer.encode("") == [])
        #expect(tokenizer.count([UInt8]()) == 0)
        #expect(try tokenizer.decode([]) == [])
    }

    /// Special tokens are ordinary text unless allowed, by name or all at once.
    @Test func specialTokenPolicy() throws {
        let tokenizer = try Tokenizer.named("cl100k_base")
        let text = "a<|endoftext|>b<|fim_prefix|>"
        let ordinary = tokenizer.encode(text)
        #expect(!ordinary.contains(100_257))
        #expect(ordinary == tokenizer.encode(text, allowedSpecial: .only(["<|unknown|>"])))
        let all = tokenizer.encode(text, allowedSpecial: .all)
        #expect(all == tokenizer.encode("a") + [100_257] + tokenizer.encode("b") + [100_258])
        let one = tokenizer.encode(text, allowedSpecial: .only(["<|fim_prefix|>"]))
        #expect(one == tokenizer.encode("a<|endoftext|>b") + [100_258])
        #expect(try tokenizer.decodeText(all) == text)
    }

    @Test func unknownIDsAreErrors() throws {
        let tokenizer = try Tokenizer.named("o200k_base")
        #expect(throws: TokcError.unknownTokenID(id: 199_998, position: 1, vocabularySize: 200_019)) {
            try tokenizer.decode([0, 199_998])
        }
        #expect(throws: TokcError.unknownTokenID(id: 300_000, position: 0, vocabularySize: 200_019)) {
            try tokenizer.decode([300_000])
        }
    }

    /// Any bytes round-trip, and `count` always equals the number of ids.
    @Test func randomBytesRoundTrip() throws {
        let tokenizer = try Tokenizer.named("o200k_base")
        var random = SeededGenerator(seed: 17)
        let alphabet: [UInt8] = Array("  \n\r\tab'é東京😀".utf8) + [0xFF, 0x80, 0xC3]
        for round in 0..<300 {
            let length = Int.random(in: 0...400, using: &random)
            let input = (0..<length).map { _ in
                round % 2 == 0 ? UInt8.random(in: 0...255, using: &random) : alphabet.randomElement(using: &random)!
            }
            let ids = tokenizer.encode(input)
            #expect(try tokenizer.decode(ids) == input, "round \(round): \(hex(input))")
            #expect(tokenizer.count(input) == ids.count)
        }
    }

    /// One tokenizer, shared by many threads at once, gives every thread the same ids as one thread does.
    @Test func concurrentUseGivesIdenticalIDs() async throws {
        let tokenizer = try Tokenizer.named("o200k_base")
        let texts = try Fixtures.jsonLines("o200k_base.jsonl").compactMap { $0.string("text") }
        let expected = texts.map { tokenizer.encode($0) }
        let results = await withTaskGroup(of: [[TokenID]].self) { group in
            for _ in 0..<8 {
                group.addTask { (0..<5).flatMap { _ in texts.map { tokenizer.encode($0) } } }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 8)
        for result in results {
            #expect(result == Array((0..<5).map { _ in expected }.joined()))
        }
    }

    /// The fixtures' ugly cases are all present, so the parity tests really cover them.
    @Test func fixturesHoldTheUglyCases() throws {
        let ids = Set(try Fixtures.jsonLines("o200k_base.jsonl").compactMap { $0.string("id") })
        for required in ["edge-empty", "edge-many-spaces", "edge-crlf", "edge-crlf-mix", "edge-ws-only-mix",
                         "edge-emoji-zwj-family", "edge-combining-acute", "edge-nfd-cafe", "edge-halfwidth-katakana",
                         "edge-long-word-5000", "edge-control-chars"] {
            #expect(ids.contains(required), "\(required)")
        }
    }

    /// NFD and NFC spellings of a word are different byte strings and get different ids: no normalisation.
    @Test func noNormalisationForTiktokenVocabularies() throws {
        let tokenizer = try Tokenizer.named("o200k_base")
        #expect(tokenizer.encode("café") != tokenizer.encode("cafe\u{301}"))
        #expect(try tokenizer.decode(tokenizer.encode("cafe\u{301}")) == Array("cafe\u{301}".utf8))
    }
}
