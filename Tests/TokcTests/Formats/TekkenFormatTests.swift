import Foundation
import Testing
@testable import Tokc

/// Tekken files written here; the real one (`tekken_240718.json`, against mistral-common) is in
/// MoreVocabularyParityTests, and the shipped `tekken` in VocabularyRegistryTests' manifest checks.
struct TekkenFormatTests {
    /// A Tekken file: the 256 bytes, then `he`, `ll`, `hell` by rank; `extra` more ranks than the size uses.
    static func file(vocabularySize: Int = 269, specialCount: Int = 10, extra: Int = 2, specials: [String]? = nil, rankOffset: Int = 0) -> [UInt8] {
        var vocab: [[String: Any]] = (0..<256).map { ["rank": $0, "token_bytes": Data([UInt8($0)]).base64EncodedString(), "token_str": NSNull()] }
        for (rank, token) in ["he", "ll", "hell"].enumerated() {
            vocab.append(["rank": 256 + rank + rankOffset, "token_bytes": Data(token.utf8).base64EncodedString(), "token_str": token])
        }
        for index in 0..<extra { vocab.append(["rank": 259 + index, "token_bytes": Data("x\(index)y".utf8).base64EncodedString(), "token_str": NSNull()]) }
        var root: [String: Any] = [
            "config": [
                "pattern": #"[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"#,
                "num_vocab_tokens": vocab.count, "default_vocab_size": vocabularySize,
                "default_num_special_tokens": specialCount, "version": "v3",
            ],
            "vocab": vocab,
        ]
        if let specials { root["special_tokens"] = specials.enumerated().map { ["rank": $0.offset, "token_str": $0.element, "is_control": true] } }
        return Array(try! JSONSerialization.data(withJSONObject: root))
    }

    static func load(_ bytes: [UInt8]) throws(TokcError) -> Tokenizer {
        try TekkenFormat.load(bytes, name: "tekken", path: "t.json")
    }

    @Test func ranksBecomeIdsAfterTheSpecialTokens() throws {
        let tokenizer = try Self.load(Self.file())
        // Ids are ranks + 10; the ranks beyond default_vocab_size - 10 = 259 (x0y, x1y) are not used.
        #expect(tokenizer.vocabularySize == 269)
        let o: TokenID = 10 + 0x6F, x: TokenID = 10 + 0x78, zero: TokenID = 10 + 0x30, y: TokenID = 10 + 0x79
        #expect(tokenizer.encode("hello") == [268, o])
        #expect(tokenizer.encode("x0y") == [x, zero, y])
        // No special_tokens list: mistral-common's built-in names, then <SPECIAL_n>.
        #expect(tokenizer.specialTokens.id(of: "[INST]") == 3 && tokenizer.specialTokens.id(of: "[TOOL_CALLS]") == 9)
        let wider = try Self.load(Self.file(vocabularySize: 283, specialCount: 24))
        #expect(wider.specialTokens.id(of: "[TOOL_CONTENT]") == 19 && wider.specialTokens.id(of: "<SPECIAL_21>") == 21)
        #expect(wider.encode("hello") == [282, 24 + 0x6F])
        #expect(tokenizer.encode("[INST]hello", allowedSpecial: .all) == [3, 268, o])
        #expect(try tokenizer.decode([3, 268, o]) == Array("[INST]hello".utf8))
    }

    @Test func aSpecialTokensListNamesThem() throws {
        let names = (0..<10).map { "<|s\($0)|>" }
        let tokenizer = try Self.load(Self.file(specials: names))
        #expect(tokenizer.specialTokens.id(of: "<|s4|>") == 4)
        #expect(tokenizer.specialTokens.id(of: "[INST]") == nil)
    }

    @Test func malformedFilesAreNamedErrors() {
        func reason(_ bytes: [UInt8]) -> String {
            do {
                _ = try Self.load(bytes)
                return "loaded"
            } catch {
                if case let .invalidVocabulary(_, reason) = error { return reason }
                return "\(error)"
            }
        }
        #expect(reason(Self.file(vocabularySize: 400)) == "Tekken vocab has 261 entries; config.default_vocab_size - default_num_special_tokens needs 390")
        #expect(reason(Self.file(vocabularySize: 10)) == "Tekken config needs 'default_vocab_size' and 'default_num_special_tokens', integers with 0 ≤ special < size")
        #expect(reason(Self.file(rankOffset: 1)) == "Tekken vocab entry 256: expected 'rank' 256 (ranks are listed in order from 0)")
        #expect(reason(Array(#"{"config": {}, "vocab": []}"#.utf8)) == "Tekken config without a 'pattern' string")
        #expect(reason(Array(#"{"vocab": []}"#.utf8)) == "Tekken file without a 'config' object")
    }

    /// A gzipped vocabulary is read as the file inside, whatever it is called.
    @Test func aGzippedFileLoadsByPath() throws {
        let shipped = Fixtures.repositoryRoot + "/Vocabularies/tekken.json.gz"
        let copy = try Fixtures.writeScratch(try FileIO.readAll(shipped), name: "tokenizer.bin")
        let tokenizer = try VocabularyRegistry.standard.load(copy)
        #expect(tokenizer.vocabularySize == 131_072)
        #expect(tokenizer.encode("Hello world") == (try Tokenizer.named("tekken")).encode("Hello world"))
    }
}
