import Foundation
import Testing
@testable import Tokc

/// Hugging Face `tokenizer.json`: exact ids against tokenizers 0.23.3 on the public llama3 (merges follow ids)
/// and deepseek-v3 (merges ranked by the list, three Split regexes) fixtures (shared/reference/fixtures,
/// copied), and glm-4.7's on the same texts (`scripts/make-tokenizer-json-fixtures.py`: ../shared has none for
/// it); and clear errors for components tokc does not read.
@Suite struct TokenizerJSONTests {
    @Test(arguments: [("llama3", 128_256), ("deepseek-v3", 128_815), ("glm-4.7", 154_856)])
    func publicFixtures(vocabulary: String, size: Int) throws {
        let tokenizer = try Tokenizer.named(vocabulary)
        #expect(tokenizer.vocabularySize == size)
        let records = try Fixtures.jsonLines("\(vocabulary).jsonl")
        #expect(records.count == 112)
        for record in records {
            let label = "\(vocabulary) \(record.string("id") ?? "?")"
            let text = try #require(record.string("text"))
            let expected = try #require(record.ids("ids"))
            // Hugging Face matches added tokens in the text always: tokc does when specials are allowed.
            let ids = tokenizer.encode(text, allowedSpecial: .all)
            #expect(ids == expected, "\(label): \(text.debugDescription)")
            // This file's post-processor is ByteLevel alone: add_special_tokens=True adds nothing.
            #expect(record.ids("ids_with_special") == expected, "\(label)")
            #expect(tokenizer.count(text, allowedSpecial: .all) == expected.count, "\(label)")
            #expect(try tokenizer.decodeText(ids) == record.string("decoded"), "\(label) decode")
            // The token strings, in the byte-level alphabet, are the file's own.
            let tokens = try #require(record["tokens"] as? [String])
            let tokenBytes = try ids.map { try tokenizer.decode([$0]) }
            #expect(tokens.map { ByteLevel.bytes(of: $0) ?? Array($0.utf8) } == tokenBytes, "\(label) tokens")
        }
    }

    static func write(_ json: String) throws -> String {
        try Fixtures.writeScratch(json.utf8, name: "tokenizer")
    }

    /// A minimal byte-level BPE file: the 256 bytes and one merge.
    static func file(model: String = #""ignore_merges": true"#, normalizer: String = "null", preTokenizer: String = #"{"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}"#, decoder: String = #"{"type": "ByteLevel"}"#) -> String {
        let alphabet = (0...255).map { byte -> String in
            let character = ByteLevel.byteOfCharacter.first { $0.value == UInt8(byte) }!.key
            let escaped = character == "\"" ? "\\\"" : character == "\\" ? "\\\\" : String(character)
            return "\"\(escaped)\": \(byte)"
        }
        return """
            {"version": "1.0", "added_tokens": [{"id": 257, "content": "<|end|>", "special": true}],
             "normalizer": \(normalizer), "pre_tokenizer": \(preTokenizer), "post_processor": null, "decoder": \(decoder),
             "model": {"type": "BPE", \(model), "vocab": {\(alphabet.joined(separator: ", ")), "ab": 256}, "merges": ["a b"]}}
            """
    }

    @Test func aMinimalFileLoadsFromItsPath() throws {
        let path = try Self.write(Self.file())
        let tokenizer = try VocabularyRegistry(folders: [Fixtures.repositoryRoot + "/Vocabularies"]).load(path)
        #expect(tokenizer.encode("ab abc") == [256, 32, 256, 99])
        #expect(tokenizer.encode("ab<|end|>", allowedSpecial: .all) == [256, 257])
        #expect(tokenizer.vocabularySize == 258)
        // Ranked by the merge list, a pair merges only if the list has it: "ab" is a token either way here.
        let listed = try VocabularyRegistry(folders: [Fixtures.repositoryRoot + "/Vocabularies"]).load(try Self.write(Self.file(model: #""ignore_merges": false"#)))
        #expect(listed.encode("ab abc") == [256, 32, 256, 99])
    }

    @Test func mergeListRanksDifferFromTokenOrder() throws {
        // Tokens bc = 256 and ab = 258, merges ["a b", "b c"]: the list ranks a+b first, so "abc" is ab + c,
        // where ranking by id (tiktoken's rule) would take bc first and give a + bc.
        let json = Self.file(model: #""ignore_merges": false"#)
            .replacingOccurrences(of: #""ab": 256}, "merges": ["a b"]"#, with: #""ab": 258, "bc": 256}, "merges": ["a b", "b c"]"#)
        let tokenizer = try VocabularyRegistry(folders: [Fixtures.repositoryRoot + "/Vocabularies"]).load(try Self.write(json))
        #expect(tokenizer.encode("abc") == [258, 99])
        #expect(tokenizer.encode("bcb") == [256, 98])
    }

    @Test func unsupportedComponentsAreNamed() throws {
        let cases: [(String, String)] = [
            (Self.file(model: #""ignore_merges": false, "merges": ["a c"]"#).replacingOccurrences(of: #", "merges": ["a b"]"#, with: ""), #"model.merges[0] "a c" is not two tokens whose concatenation is a token"#),
            (Self.file(model: #""ignore_merges": true, "byte_fallback": true"#), "model.byte_fallback is not supported by this tokc: true in a byte-level vocabulary"),
            (Self.file(normalizer: #"{"type": "Precompiled"}"#), "normalizer Precompiled: precompiled_charsmap is not a charsmap (0 bytes"),
            (Self.file(normalizer: #"{"type": "Precompiled", "precompiled_charsmap": "AAA*"}"#), "normalizer Precompiled: precompiled_charsmap is not base64"),
            (Self.file(normalizer: #"{"type": "StripAccents"}"#), "normalizer 'StripAccents' is not supported"),
            (Self.file(preTokenizer: #"{"type": "Sequence", "pretokenizers": [{"type": "Whitespace"}, {"type": "ByteLevel"}]}"#), "pre_tokenizer 'Whitespace' in [Whitespace, ByteLevel] is not supported"),
            (Self.file(model: #""ignore_merges": false"#, preTokenizer: #"{"type": "Metaspace", "replacement": "▁"}"#), "a text BPE with neither unk_token nor byte_fallback is not supported"),
            (Self.file(decoder: #"{"type": "WordPiece"}"#), "decoder 'WordPiece' is not supported"),
        ]
        for (json, fragment) in cases {
            let path = try Self.write(json)
            #expect {
                try VocabularyRegistry(folders: [Fixtures.repositoryRoot + "/Vocabularies"]).load(path)
            } throws: { error in
                guard case let .invalidVocabulary(errorPath, reason) = error as? TokcError else { return false }
                return errorPath == path && reason.contains(fragment)
            }
        }
    }
}
