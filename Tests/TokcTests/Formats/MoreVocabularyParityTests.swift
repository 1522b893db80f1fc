import Foundation
import Testing
import TokcTestSupport
@testable import Tokc

/// The tokenizer files users bring (issue #25), each opened by path as it is, against the ids its reference
/// gave (`../shared/reference/fixtures-more`, made by llama.cpp, Hugging Face tokenizers, sentencepiece and
/// mistral-common; how, in its README). Skipped, saying so, where `../shared` is absent.
private enum SharedReference {
    static let fixtures = References.repositoryRoot + "/../shared/reference/fixtures-more"
    static let vocabularies = References.repositoryRoot + "/../shared/reference/vocab-more"
}

@Suite(.enabled(if: FileManager.default.fileExists(atPath: SharedReference.fixtures), "../shared/reference/fixtures-more is absent"))
struct MoreVocabularyParityTests {
    static let fixtures = SharedReference.fixtures
    static let vocabularies = SharedReference.vocabularies

    static let ggufNames = [
        "aquila", "baichuan", "bert-bge", "command-r", "deepseek-coder", "deepseek-llm", "falcon", "gemma-4", "gpt-2",
        "gpt-neox", "llama-bpe", "llama-spm", "mpt", "nomic-bert-moe", "phi-3", "qwen2", "qwen35", "refact", "starcoder",
    ]

    static func records(_ name: String) throws -> [[String: Any]] {
        let bytes = try FileIO.readAll(fixtures + "/" + name + ".jsonl")
        return try bytes.split(separator: UInt8(ascii: "\n")).map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        }
    }

    static func load(_ file: String) throws -> Tokenizer {
        try VocabularyRegistry.standard.load(vocabularies + "/" + file)
    }

    /// llama.cpp's ids with and without parsing special tokens. Without, llama.cpp still matches user-defined
    /// tokens (GPT-NeoX's runs of spaces, DeepSeek's single characters), which tokc's caller asks for by name.
    @Test(arguments: ggufNames)
    func ggufFixtures(name: String) throws {
        let path = Self.vocabularies + "/ggml-vocab-\(name).gguf"
        let tokenizer = try VocabularyRegistry.standard.load(path)
        let userDefined = try GGUFFormat.userDefinedTokens(try GGUFMetadata.read(path: path), path: path)
        let records = try Self.records("gguf-\(name)")
        #expect(records.count == 112)
        for record in records {
            let label = "gguf-\(name) \(record.string("id") ?? "?")"
            let text = try #require(record.string("text"))
            #expect(tokenizer.encode(text, allowedSpecial: .only(userDefined)) == record.ids("ids"), "\(label): \(text.debugDescription)")
            #expect(tokenizer.encode(text, allowedSpecial: .all) == record.ids("ids_special"), "\(label) (special)")
            let plain = tokenizer.encode(text)
            #expect(tokenizer.count(text) == plain.count, "\(label)")
        }
    }

    /// llama.cpp's own test strings beside each GGUF file (`.inp`, cut at `__ggml_vocab_test__` lines) and the ids
    /// it expects for them (`.out`, a line each), as its test-tokenizer-0 runs them: no BOS, special tokens parsed.
    @Test(arguments: ggufNames)
    func llamaCppTestCases(name: String) throws {
        let path = Self.vocabularies + "/ggml-vocab-\(name).gguf"
        guard FileManager.default.fileExists(atPath: path + ".inp") else { return }
        let tokenizer = try VocabularyRegistry.standard.load(path)
        let inputs = String(decoding: try FileIO.readAll(path + ".inp"), as: UTF8.self).components(separatedBy: "\n__ggml_vocab_test__\n")
        let outputs = String(decoding: try FileIO.readAll(path + ".out"), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(inputs.count >= 30, "\(name): \(inputs.count) cases")
        for (index, input) in inputs.enumerated() where index < outputs.count {
            let expected = outputs[index].split(separator: " ").map { TokenID($0)! }
            #expect(tokenizer.encode(input, allowedSpecial: .all) == expected, "\(name) case \(index): \(input.debugDescription)")
        }
    }

    /// Hugging Face tokenizer.json files (Qwen 2.5 / 3 / 3.5, GLM-4, MiniMax M3, legacy Claude, DeepSeek V3): HF
    /// matches the file's added tokens in text, which tokc does when special tokens are allowed.
    @Test(arguments: ["qwen2.5", "qwen3", "qwen3.5", "glm-4", "minimax-m3", "claude-legacy", "deepseek-v3-litellm"])
    func tokenizerJSONFixtures(name: String) throws {
        let tokenizer = try Self.load("\(name).tokenizer.json")
        let records = try Self.records(name)
        #expect(records.count == 112)
        for record in records {
            let label = "\(name) \(record.string("id") ?? "?")"
            let text = try #require(record.string("text"))
            let ids = tokenizer.encode(text, allowedSpecial: .all)
            #expect(ids == record.ids("ids"), "\(label): \(text.debugDescription)")
            #expect(tokenizer.encode(text, allowedSpecial: .all, addingTemplate: true) == record.ids("ids_with_special"), "\(label) (template)")
            #expect(try tokenizer.decodeText(ids) == record.string("decoded"), "\(label) decoded")
        }
    }

    /// `.tiktoken` files by path, recognised by their sha256: `qwen.tiktoken` (dashscope's) gets the shipped
    /// `qwen2.5` entry's pattern, NFC and added tokens, and gives Hugging Face's ids for Qwen 2.5 and Qwen 3 (whose
    /// fixtures match added tokens, so special tokens are allowed); OpenAI's r50k and p50k files, tiktoken's.
    @Test(arguments: [("qwen.tiktoken", "qwen2.5", true), ("qwen.tiktoken", "qwen3", true),
                      ("r50k_base.tiktoken", "r50k_base", false), ("p50k_base.tiktoken", "p50k_base", false)])
    func tiktokenFilesByPath(file: String, fixture: String, allowsSpecial: Bool) throws {
        let tokenizer = try Self.load(file)
        let records = try Self.records(fixture)
        #expect(records.count == 112)
        for record in records {
            let text = try #require(record.string("text"))
            #expect(tokenizer.encode(text, allowedSpecial: allowsSpecial ? .all : .none) == record.ids("ids"), "\(file) \(fixture) \(record.string("id") ?? "?")")
        }
    }

    /// Mistral's SentencePiece models (`.model.v2/.v3/.v7`, loaded whatever their name) and Tekken.
    @Test(arguments: [("mistral-v2", "mistral-v2.tokenizer.model.v2"), ("mistral-v3", "mistral-v3.tokenizer.model.v3"),
                      ("mistral-v7", "mistral-v7.tokenizer.model.v7"), ("tekken", "tekken_240718.json")])
    func mistralFixtures(name: String, file: String) throws {
        let tokenizer = try Self.load(file)
        let records = try Self.records(name)
        #expect(records.count == 112)
        for record in records {
            let label = "\(name) \(record.string("id") ?? "?")"
            let text = try #require(record.string("text"))
            let ids = tokenizer.encode(text)
            #expect(ids == record.ids("ids"), "\(label): \(text.debugDescription)")
            #expect(try tokenizer.decodeText(ids) == record.string("decoded"), "\(label) decoded")
        }
        if name == "tekken" {
            #expect(tokenizer.vocabularySize == 131_072)
            #expect(tokenizer.specialTokens.id(of: "[INST]") == 3)
            #expect(tokenizer.specialTokens.id(of: "<SPECIAL_999>") == 999)
            #expect(tokenizer.encode("[INST]") != [3])
            #expect(tokenizer.encode("[INST]", allowedSpecial: .all) == [3])
        }
    }
}
