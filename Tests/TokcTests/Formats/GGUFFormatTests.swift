import Foundation
import Testing
@testable import Tokc

/// GGUF tokenizers assembled from small files written here (the real ones, against llama.cpp's ids, are in
/// MoreVocabularyParityTests).
struct GGUFFormatTests {
    typealias Writer = GGUFMetadataTests.Writer

    static func strings(_ key: String, _ values: [String]) -> (String, @Sendable (inout Writer) -> Void) {
        (key, { w in
            w.integer(UInt32(9)); w.integer(UInt32(8)); w.integer(UInt64(values.count))
            for value in values { w.string(value) }
        })
    }

    static func text(_ key: String, _ value: String) -> (String, @Sendable (inout Writer) -> Void) {
        (key, { w in w.integer(UInt32(8)); w.string(value) })
    }

    static func int32s(_ key: String, _ values: [Int32]) -> (String, @Sendable (inout Writer) -> Void) {
        (key, { w in
            w.integer(UInt32(9)); w.integer(UInt32(5)); w.integer(UInt64(values.count))
            for value in values { w.integer(value) }
        })
    }

    static func floats(_ key: String, _ values: [Float]) -> (String, @Sendable (inout Writer) -> Void) {
        (key, { w in
            w.integer(UInt32(9)); w.integer(UInt32(6)); w.integer(UInt64(values.count))
            for value in values { w.integer(value.bitPattern) }
        })
    }

    /// GPT-2's spelling of a byte.
    static func byteLevel(_ byte: Int) -> String { ByteLevel.text(of: [UInt8(byte)]) }

    /// A byte-level BPE: the 256 bytes, `he` `ll` `hell` `hello` by four merges, and a control token.
    static func gpt2File(model: String = "gpt2", pre: String? = "gpt-2", tensors: UInt64 = 0) -> [UInt8] {
        let tokens = (0..<256).map(byteLevel) + ["he", "ll", "hell", "hello", "<|endoftext|>"]
        var entries = [
            text("tokenizer.ggml.model", model),
            strings("tokenizer.ggml.tokens", tokens),
            int32s("tokenizer.ggml.token_type", Array(repeating: 1, count: 260) + [3]),
            strings("tokenizer.ggml.merges", ["h e", "l l", "he ll", "hell o"]),
        ]
        if let pre { entries.append(text("tokenizer.ggml.pre", pre)) }
        return Writer.file(tensors: tensors, entries)
    }

    static func load(_ bytes: [UInt8], name: String = "vocab.gguf") throws -> Tokenizer {
        let path = try Fixtures.writeScratch(bytes, name: name)
        return try VocabularyRegistry.standard.load(path)
    }

    @Test func byteLevelBPEFollowsTheMergesAndThePreTokenizer() throws {
        let tokenizer = try Self.load(Self.gpt2File())
        // " hello" is one piece of GPT-2's split; "Ġ h" has no merge, so the space stays a byte.
        #expect(tokenizer.encode("hello hello\n") == [259, 32, 259, 10])
        #expect(tokenizer.encode("hel") == [256, 108])
        #expect(tokenizer.encode("<|endoftext|>x") != [260, 120])
        #expect(tokenizer.encode("<|endoftext|>x", allowedSpecial: .all) == [260, 120])
        #expect(try tokenizer.decode([259, 32, 260]) == Array("hello <|endoftext|>".utf8))
        #expect(Scheme.of(tokenizer.encoder) == .bpe)
    }

    /// A model-sized file: the vocabulary's metadata, then 8 GiB of tensor data, sparse on disk. It opens as the
    /// vocabulary alone does (only the metadata is read: `GGUFMetadata.bytesRead`).
    @Test func aLargeModelFileOpensAsItsVocabulary() throws {
        let metadata = Self.gpt2File(tensors: 291)
        let path = try Fixtures.writeScratch(metadata, name: "model.gguf")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(truncate(path, off_t(8) << 30) == 0)
        #expect(try GGUFMetadata.read(path: path).bytesRead == metadata.count)
        let tokenizer = try VocabularyRegistry.standard.load(path)
        #expect(tokenizer.encode("hello hello\n") == [259, 32, 259, 10])
    }

    @Test func unknownModelsAndPreTokenizersAreNamed() throws {
        #expect(throws: TokcError.self) { try Self.load(Self.gpt2File(model: "rwkv")) }
        do {
            _ = try Self.load(Self.gpt2File(model: "rwkv"))
        } catch {
            #expect("\(error)".hasSuffix("a GGUF tokenizer.ggml.model 'rwkv', which tokc does not know (it knows gpt2, llama, bert, t5, gemma4)"))
        }
        do {
            _ = try Self.load(Self.gpt2File(pre: "kimi-k2"))
            Issue.record("an unknown pre-tokenizer loaded")
        } catch {
            #expect("\(error)".contains("GGUF tokenizer.ggml.pre 'kimi-k2', which tokc does not know (it knows "))
            #expect("\(error)".contains("llama-bpe"))
        }
        // No pre at all: llama.cpp's `default` lists, as llama.cpp does (it warns).
        let unnamed = try Self.load(Self.gpt2File(pre: nil))
        #expect(unnamed.splitPatterns.count == 4)
    }

    /// SentencePiece-style (`llama`): spaces as `▁`, one in front, the highest score first, `<0xNN>` fallback.
    @Test func llamaModelsMergeByScore() throws {
        let tokens = ["<unk>", "<s>", "</s>"] + (0..<256).map { String(format: "<0x%02X>", $0) } + ["▁", "h", "e", "▁h", "he", "▁he"]
        let file = Writer.file([
            Self.text("tokenizer.ggml.model", "llama"),
            Self.strings("tokenizer.ggml.tokens", tokens),
            Self.int32s("tokenizer.ggml.token_type", [2, 3, 3] + Array(repeating: 6, count: 256) + Array(repeating: 1, count: 6)),
            Self.floats("tokenizer.ggml.scores", Array(repeating: 0, count: 259) + [-1, -2, -3, -4, -5, -6]),
        ])
        let tokenizer = try Self.load(file)
        #expect(tokenizer.encode("he hex\n") == [264, 264, 3 + 0x78, 3 + 0x0A])
        #expect(tokenizer.template.prefix == [1])
        #expect(try tokenizer.decodeText([264, 264, 123]) == "he hex")
    }

    @Test func missingPartsAreErrors() throws {
        let noTokens = Writer.file([Self.text("tokenizer.ggml.model", "gpt2")])
        do {
            _ = try Self.load(noTokens)
            Issue.record("a file without tokens loaded")
        } catch {
            #expect("\(error)".hasSuffix("GGUF tokenizer.ggml.tokens: expected a non-empty array of strings"))
        }
        let badMerge = Writer.file([
            Self.text("tokenizer.ggml.model", "gpt2"),
            Self.strings("tokenizer.ggml.tokens", (0..<256).map(Self.byteLevel)),
            Self.strings("tokenizer.ggml.merges", ["hello"]),
        ])
        do {
            _ = try Self.load(badMerge)
            Issue.record("a merge without a space loaded")
        } catch {
            #expect("\(error)".hasSuffix("GGUF tokenizer.ggml.merges[0] 'hello': expected two tokens and a space between"))
        }
    }
}
