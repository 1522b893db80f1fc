import Foundation
import Testing
@testable import Tokc

/// Vocabularies that carry their pipeline (`tokenizer.json`, GGUF, SentencePiece, ungreedy) are stored compiled too: the encoder beside
/// its table (`CompiledEncoder`) and the file without what the encoder replaces. Read back, they must be the
/// same tokenizer, id for id.
@Suite struct CompiledPipelineTests {
    /// The shipped vocabularies whose encoders have a compiled form, by format.
    static let compiledNames = [
        "llama3", "deepseek-v3", "mistral-v1", "qwen3.5", "glm-4", "glm-4.7", "minimax-m3", "claude-legacy", "mistral-v3", "mistral-v7",
        "gemma-4", "llama2", "command-r", "bert-base-uncased", "unigram-multi-8k", "ungreedy-multi-8k",
    ]

    static let texts: [String] = {
        var texts = [
            "hello world", "  \r\n\t tabs  and   runs\n\n\n", "日本語のテキストとｶﾀｶﾅ", "👩‍👩‍👧 e\u{301} Ω",
            String(repeating: "x", count: 5000), "<|endoftext|> <s> [INST] <BOS_TOKEN> <start_of_turn>user",
        ]
        for language in ["ja", "zh", "de", "en"] {
            if let text = try? FileIO.readAll(Fixtures.repositoryRoot + "/Corpus/\(language).txt") {
                texts.append(String(decoding: text.prefix(40_000), as: UTF8.self))
            }
        }
        return texts
    }()

    static func registry(cache: String) -> VocabularyRegistry {
        VocabularyRegistry(folders: VocabularyRegistry.standard.folders, cacheFolder: cache)
    }

    /// The shipped entry `name` under a name of its own: `VocabularyRegistry.load(_: Located)` keeps what it
    /// loaded for the life of the process by name, file and checksum, and these loads must each reach the cache.
    static func located(_ name: String, in registry: VocabularyRegistry) throws -> VocabularyRegistry.Located {
        let shipped = try #require(try registry.vocabularies().first { $0.entry.name == name })
        var entry = shipped.entry
        entry.name = name + "-" + UUID().uuidString
        return VocabularyRegistry.Located(entry: entry, folder: shipped.folder)
    }

    static func table(of encoder: any Encoder) -> TokenTable? {
        (encoder as? MergeListBPEEncoder)?.table ?? (encoder as? BPEEncoder)?.table ?? (encoder as? WordPieceEncoder)?.tokens
    }

    /// The first load builds from the file and stores; a load by path (past the process's cache of tokenizers
    /// by name) reads the stored form: a mapped table, the same encoding with and without special tokens and
    /// template, the same decoding, special tokens, template and patterns.
    @Test(arguments: compiledNames)
    func readBackAsTheSameTokenizer(name: String) throws {
        let cache = CompiledTableCacheTests.scratchFolder("pipeline-\(name)")
        let registry = Self.registry(cache: cache)
        let built = try registry.load(try Self.located(name, in: registry))
        // The trie encoders hold no table: their stored encoder is read back below (`trieEncodersReadBack`).
        let hasTable = Self.table(of: built.encoder) != nil
        #expect(!hasTable || Self.table(of: built.encoder)?.isMapped == false)
        let compiledCache = CompiledTableCache(folder: cache)
        let located = try Self.located(name, in: registry)
        #expect(FileIO.isFile(compiledCache.pipelinePath(for: located.entry.sha256)), "no pipeline stored for \(name)")

        let read = try registry.load(located)
        #expect(!hasTable || Self.table(of: read.encoder)?.isMapped == true, "\(name) was not read from the cache")
        #expect(read.vocabularySize == built.vocabularySize)
        #expect(read.splitPatterns == built.splitPatterns)
        #expect(read.template == built.template)
        #expect(read.specialTokens.all.map { "\($0.text)=\($0.id)" }.sorted() == built.specialTokens.all.map { "\($0.text)=\($0.id)" }.sorted())
        for text in Self.texts {
            let ids = built.encode(text)
            #expect(read.encode(text) == ids, "\(name): \(text.prefix(40))")
            #expect(read.encode(text, allowedSpecial: .all, addingTemplate: true) == built.encode(text, allowedSpecial: .all, addingTemplate: true))
            #expect(try read.decode(ids) == (try built.decode(ids)))
        }
    }

    /// A damaged pipeline file is refused, never misread, and the load rebuilds it from the source.
    @Test func aDamagedPipelineIsRebuilt() throws {
        let cache = CompiledTableCacheTests.scratchFolder("pipeline-damaged")
        let registry = Self.registry(cache: cache)
        let built = try registry.load(try Self.located("claude-legacy", in: registry))
        let located = try Self.located("claude-legacy", in: registry)
        let compiledCache = CompiledTableCache(folder: cache)
        let path = compiledCache.pipelinePath(for: located.entry.sha256)
        let good = try FileIO.readAll(path)
        #expect(compiledCache.pipeline(sha256: located.entry.sha256) != nil)
        #expect(compiledCache.pipeline(sha256: String(repeating: "0", count: 64)) == nil)
        for offset in [0, 9, 20, 88, 90, good.count / 2, good.count - 1] {
            var damaged = good
            damaged[offset] ^= 0x08
            try FileIO.writeAtomically([damaged], to: path)
            #expect(compiledCache.pipeline(sha256: located.entry.sha256) == nil, "a flipped bit at \(offset) went unnoticed")
        }
        try FileIO.writeAtomically([Array(good.dropLast(3))], to: path)
        #expect(compiledCache.pipeline(sha256: located.entry.sha256) == nil)

        let rebuilt = try registry.load(located)
        #expect(Self.table(of: rebuilt.encoder)?.isMapped == false)
        #expect(rebuilt.encode(Self.texts[2]) == built.encode(Self.texts[2]))
        #expect(try FileIO.readAll(path) == good)
    }

    /// A compiled encoder's bytes are refused when they are not one: another kind, cut short, a pair table of
    /// the wrong size.
    @Test func compiledEncoderBytesAreChecked() throws {
        let tokenizer = try Tokenizer.named("mistral-v1")
        let encoder = try #require(tokenizer.encoder as? MergeListBPEEncoder)
        let (serializedTable, bytes) = try #require(CompiledEncoder.serialize(encoder))
        #expect(serializedTable === encoder.table)
        let table = encoder.table
        let path = CompiledTableCacheTests.scratchFolder("encoder")
        func readBack(_ bytes: [UInt8]) throws -> (any Encoder)? {
            // The slots are read where they lie, 8-byte aligned, as in a cache file.
            try FileIO.writeAtomically([bytes], to: path)
            let file = try #require(MappedFile(path: path))
            return CompiledEncoder.encoder(from: file.bytes, table: table, file: file)
        }
        let read = try #require(try readBack(bytes) as? MergeListBPEEncoder)
        for text in Self.texts {
            #expect(tokenizer.encode(text) == Tokenizer(
                name: "read", normalizer: tokenizer.normalizer, preTokenizer: tokenizer.preTokenizer, encoder: read,
                specialTokens: [:], detokenizer: tokenizer.detokenizer, template: .none).encode(text))
        }
        var otherKind = bytes
        otherKind[0] = 9
        #expect(try readBack(otherKind) == nil)
        #expect(try readBack(Array(bytes.dropLast(16))) == nil)
        #expect(try readBack(Array(bytes.prefix(100))) == nil)
        // WordPiece: its table and a few words, read back the same; a prefix cut short is refused.
        let bert = try Tokenizer.named("bert-base-uncased")
        let wordPiece = try #require(bert.encoder as? WordPieceEncoder)
        let (bertTable, bertBytes) = try #require(CompiledEncoder.serialize(wordPiece))
        #expect(bertTable === wordPiece.tokens)
        func readBackWordPiece(_ bytes: [UInt8]) throws -> WordPieceEncoder? {
            try FileIO.writeAtomically([bytes], to: path)
            let file = try #require(MappedFile(path: path))
            return CompiledEncoder.encoder(from: file.bytes, table: bertTable, file: file) as? WordPieceEncoder
        }
        let readWordPiece = try #require(try readBackWordPiece(bertBytes))
        #expect((readWordPiece.unknown, readWordPiece.prefix, readWordPiece.maxCharactersPerWord, readWordPiece.longestToken)
            == (wordPiece.unknown, wordPiece.prefix, wordPiece.maxCharactersPerWord, wordPiece.longestToken))
        #expect(readWordPiece.continuations.count == wordPiece.continuations.count)
        wordPiece.continuations.forEachToken { id, bytes in #expect(readWordPiece.continuations.id(of: Array(bytes)) == id) }
        #expect(try readBackWordPiece(Array(bertBytes.dropLast(4))) == nil)
    }

    /// The Unigram and ungreedy encoders as stored (their trie, and for Unigram its scores and texts) read back
    /// as the same encoder, id for id; cut short, of another kind, or with an id past the vocabulary, refused.
    @Test(arguments: ["unigram-multi-8k", "ungreedy-multi-8k"])
    func trieEncodersReadBack(name: String) throws {
        let tokenizer = try Tokenizer.named(name)
        let (table, bytes) = try #require(CompiledEncoder.serialize(tokenizer.encoder))
        let path = CompiledTableCacheTests.scratchFolder("trie-\(name)")
        func readBack(_ bytes: [UInt8]) throws -> (any Encoder)? {
            try FileIO.writeAtomically([bytes], to: path)
            let file = try #require(MappedFile(path: path))
            return CompiledEncoder.encoder(from: file.bytes, table: table, file: file)
        }
        let read = try #require(try readBack(bytes))
        #expect(type(of: read) == type(of: tokenizer.encoder))
        let rebuilt = Tokenizer(
            name: "read", normalizer: tokenizer.normalizer, preTokenizer: tokenizer.preTokenizer, encoder: read,
            specialTokens: [:], detokenizer: tokenizer.detokenizer, template: .none)
        for text in Self.texts {
            let ids = tokenizer.encode(text)
            #expect(rebuilt.encode(text) == ids, "\(name): \(text.prefix(40))")
            #expect(try rebuilt.decode(ids) == (try tokenizer.decode(ids)))
        }
        #expect(try readBack(Array(bytes.dropLast(8))) == nil)
        var otherKind = bytes
        otherKind[0] = 9
        #expect(try readBack(otherKind) == nil)
        // A trie that ends an id past the vocabulary is refused (an edge's score would be read out of bounds).
        let trie = ByteTrie([(bytes: [0x61], id: 0), (bytes: [0x61, 0x62], id: 1)])
        var writer = WordArrays.Writer()
        trie.store(into: &writer)
        writer.bytes.withUnsafeBytes { raw in
            var reader = WordArrays.Reader(raw)
            #expect(ByteTrie.read(from: &reader, idLimit: 2)?.entries().map { "\($0.bytes)=\($0.id)" }.sorted() == ["[97, 98]=1", "[97]=0"])
            var short = WordArrays.Reader(raw)
            #expect(ByteTrie.read(from: &short, idLimit: 1) == nil)
        }
    }

    /// A compiled SentencePiece pipeline (`CompiledSentencePiece`) that is missing, damaged (checksum) or of an
    /// older version is refused and built again from the model: the same ids, and the stored file as it was.
    @Test(arguments: ["mistral-v3", "llama2", "unigram-multi-8k"])
    func aMissingDamagedOrStaleSentencePiecePipelineIsRebuilt(name: String) throws {
        let cache = CompiledTableCacheTests.scratchFolder("sentencepiece-\(name)")
        let registry = Self.registry(cache: cache)
        let built = try registry.load(try Self.located(name, in: registry))
        let compiledCache = CompiledTableCache(folder: cache)
        let sha256 = try Self.located(name, in: registry).entry.sha256
        let path = compiledCache.pipelinePath(for: sha256)
        let good = try FileIO.readAll(path)
        let stored = try #require(compiledCache.pipeline(sha256: sha256))
        let source = stored.source
        // The compiled SentencePiece pipeline: the whole source of a `.model`, after the JSON's NUL for a GGUF.
        let start = source.first == UInt8(ascii: "{") ? try #require(source.firstIndex(of: 0)) + 1 : 0
        let compiled = Array(source[start...])
        #expect(compiled.withUnsafeBytes { CompiledSentencePiece.parts(from: $0) } != nil)
        // Version 1 sits in the header's second word (after the array's width and count, and the magic).
        #expect(compiled[24..<32].elementsEqual(withUnsafeBytes(of: CompiledSentencePiece.version.littleEndian, Array.init)))
        var stale = compiled
        stale[24] ^= 0x7F
        #expect(stale.withUnsafeBytes { CompiledSentencePiece.parts(from: $0) } == nil)
        #expect(Array(compiled.dropLast(8)).withUnsafeBytes { CompiledSentencePiece.parts(from: $0) } == nil)

        let encoderBytes = Array(stored.encoder)
        let cases: [(String, () throws -> Void)] = [
            ("missing", { try FileManager.default.removeItem(atPath: path) }),
            ("damaged", {
                var damaged = good
                damaged[good.count - 100] ^= 0x10
                try FileIO.writeAtomically([damaged], to: path)
            }),
            ("stale", {
                compiledCache.store(CompiledTableCache.Pipeline(encoder: encoderBytes, source: Array(source[..<start]) + stale), sha256: sha256)
            }),
        ]
        for (what, spoil) in cases {
            try spoil()
            let reloaded = try registry.load(try Self.located(name, in: registry))
            for text in Self.texts {
                #expect(reloaded.encode(text) == built.encode(text), "\(name), \(what): \(text.prefix(40))")
            }
            #expect(try FileIO.readAll(path) == good, "\(name), \(what): not stored again as it was")
            let read = try registry.load(try Self.located(name, in: registry))
            #expect(read.encode(Self.texts[2]) == built.encode(Self.texts[2]))
        }
    }

    /// A tokenizer.json's pipeline source is the file without its vocabulary and merges, everything else as
    /// written: numbers by their digits, strings with their escapes resolved and written back.
    @Test func aTokenizerJSONPipelineSourceLeavesOutOnlyTheVocabularyAndMerges() throws {
        let file = #"{"version": "1.0", "added_tokens": [{"id": 3, "content": "<s>\n\u00e9"}], "normalizer": null,"#
            + #" "model": {"type": "BPE", "dropout": null, "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"], "x": 1.50e-3},"#
            + #" "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}]}}"#
        let source = try TokenizerJSONFormat.pipelineSource(Array(file.utf8), path: "t.json")
        #expect(String(decoding: source, as: UTF8.self) == #"{"version":"1.0","added_tokens":[{"id":3,"content":"<s>\né"}],"normalizer":null,"#
            + #""model":{"type":"BPE","dropout":null,"vocab":{},"merges":[],"x":1.50e-3},"#
            + #""post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}}]}}"#)
    }
}
