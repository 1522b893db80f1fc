import Foundation
import Testing
@testable import Tokc

/// Tables a BPE encoder derives from its token table (`DerivedTables`: pair ranks, `WholeCharacters`,
/// `MergeCuts`), stored in the compiled cache: read back they are the tables built, and encode the same; a
/// damaged or foreign file is refused and the encoder builds its own.
@Suite struct DerivedTablesTests {
    static let texts = [
        "hello world", "日本語のテキストを数えます。東京都渋谷区で新しい会議室の予約システムについて話し合いました。",
        "中文文本的分词测试，包括标点符号和数字123。", "한국어 텍스트", "Café naïve", String(repeating: "漢字かな", count: 300),
    ]

    /// Stored and read back, the tables are the same bytes again (every field), and the encoder encodes as the
    /// one that built them.
    @Test(arguments: ["o200k_base", "cl100k_base", "qwen2.5"])
    func aBPEEncodersTablesReadBack(name: String) throws {
        let tokenizer = try Tokenizer.named(name)
        let built = try #require(tokenizer.encoder as? BPEEncoder)
        let bytes = try #require(DerivedTables.bytes(of: built))
        let read = try #require(bytes.withUnsafeBytes { DerivedTables.bpeEncoder(table: built.table, bytes: $0) })
        #expect(DerivedTables.bytes(of: read) == bytes)
        #expect(read.pairRanks == built.pairRanks && read.byteIDs == built.byteIDs)
        let reading = Tokenizer(
            name: "read", normalizer: tokenizer.normalizer, preTokenizer: tokenizer.preTokenizer, encoder: read,
            specialTokens: [:], detokenizer: tokenizer.detokenizer, template: .none)
        for text in Self.texts { #expect(reading.encode(text) == tokenizer.encode(text), "\(name): \(text.prefix(20))") }
    }

    /// A merge list's `WholeCharacters` (a byte-level tokenizer.json) reads back the same.
    @Test func aMergeListsTablesReadBack() throws {
        let tokenizer = try Tokenizer.named("deepseek-v3")
        let built = try #require(tokenizer.encoder as? MergeListBPEEncoder)
        #expect(built.wholeCharacters != nil)
        let bytes = try #require(DerivedTables.bytes(of: built))
        let read = try #require(bytes.withUnsafeBytes { DerivedTables.encoder(built, bytes: $0) })
        #expect(DerivedTables.bytes(of: read) == bytes)
        // Not for another kind of encoder, nor one that starts from bytes.
        #expect(bytes.withUnsafeBytes { DerivedTables.encoder(built.mergingFromBytes(), bytes: $0) } == nil)
        #expect(bytes.withUnsafeBytes { DerivedTables.bpeEncoder(table: built.table, bytes: $0) } == nil)
    }

    /// Bytes that are not the tables this code writes are refused: another version, cut, lengthened, a size
    /// changed; and the cache refuses a file whose checksum or vocabulary differs.
    @Test func foreignOrDamagedTablesAreRefused() throws {
        let built = try #require(try Tokenizer.named("cl100k_base").encoder as? BPEEncoder)
        let bytes = try #require(DerivedTables.bytes(of: built))
        func reads(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { DerivedTables.bpeEncoder(table: built.table, bytes: $0) } != nil }
        #expect(reads(bytes))
        var otherVersion = bytes
        otherVersion[16] &+= 1  // the version word
        #expect(!reads(otherVersion))
        #expect(!reads(Array(bytes.dropLast(8))))
        #expect(!reads(bytes + [0, 0, 0, 0, 0, 0, 0, 0]))
        var otherSize = bytes
        otherSize[48 + 8] &+= 1  // the pair ranks' count
        #expect(!reads(otherSize))

        let cache = CompiledTableCache(folder: CompiledTableCacheTests.scratchFolder("derived"))
        let sha256 = String(repeating: "ab", count: 32)
        cache.store(derived: bytes, sha256: sha256)
        #expect(cache.derived(sha256: sha256).map { Array($0.tables) } == bytes)
        #expect(cache.derived(sha256: String(repeating: "cd", count: 32)) == nil)
        let path = cache.derivedPath(for: sha256)
        let good = try FileIO.readAll(path)
        for offset in [0, 8, 20, 100, good.count / 2, good.count - 1] {
            var damaged = good
            damaged[offset] ^= 0x01
            try FileIO.writeAtomically([damaged], to: path)
            #expect(cache.derived(sha256: sha256) == nil, "a flipped bit at \(offset) went unnoticed")
        }
    }

    /// Through the registry: the first load stores the derived tables beside the compiled table, a later load
    /// reads them (its encoder's tables are the stored ones) and encodes the same.
    @Test func theRegistryStoresAndReadsThem() throws {
        let folder = try VocabularyRegistryTests.makeFolder()
        let cache = CompiledTableCache(folder: CompiledTableCacheTests.scratchFolder("derived-registry"))
        let registry = VocabularyRegistry(folders: [folder], cacheFolder: cache.folder)
        let built = try registry.load("mine")
        let path = cache.derivedPath(for: CompiledTableCacheTests.cl100kSHA256)
        #expect(FileIO.isFile(path))
        let read = try registry.load(folder + "/cl100k_base.tiktoken")
        let encoder = try #require(read.encoder as? BPEEncoder)
        #expect(encoder.table.isMapped)
        let stored = try #require(cache.derived(sha256: CompiledTableCacheTests.cl100kSHA256))
        #expect(DerivedTables.bytes(of: encoder) == Array(stored.tables))
        for text in Self.texts { #expect(read.encode(text) == built.encode(text)) }

        // Damaged: refused; the load builds the tables again, encodes the same, and writes them back whole.
        var damaged = try FileIO.readAll(path)
        damaged[damaged.count / 2] ^= 0x02
        try FileIO.writeAtomically([damaged], to: path)
        let rebuilt = try registry.load(folder + "/cl100k_base.tiktoken")
        for text in Self.texts { #expect(rebuilt.encode(text) == built.encode(text)) }
        // (Not byte for byte the same file: a sparse table's slots follow a dictionary's order, which varies.)
        func storedTablesRead() -> Bool {
            guard let stored = cache.derived(sha256: CompiledTableCacheTests.cl100kSHA256) else { return false }
            return DerivedTables.bpeEncoder(table: encoder.table, bytes: stored.tables) != nil
        }
        #expect(storedTablesRead())
        // Missing beside a sound table: the same.
        unlink(path)
        _ = try registry.load(folder + "/cl100k_base.tiktoken")
        #expect(storedTablesRead())
    }
}
