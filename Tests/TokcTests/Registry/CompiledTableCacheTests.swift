import Foundation
import Testing
@testable import Tokc

@Suite struct CompiledTableCacheTests {
    static let cl100kSHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"

    static func scratchFolder(_ name: String) -> String {
        Fixtures.scratchDirectory + "/\(name)-" + UUID().uuidString
    }

    static func table(of tokenizer: Tokenizer) throws -> TokenTable {
        try #require(tokenizer.encoder as? BPEEncoder).table
    }

    /// A small table, with tokens of every length class (≤ 8 bytes packed in the slot, longer ones hashed),
    /// written in compiled form and mapped back, answers every lookup as the built one does.
    @Test func compiledFormMapsBackToTheSameTable() throws {
        var tokens: [(id: TokenID, bytes: [UInt8])] = (0...255).map { (TokenID($0), [UInt8($0)]) }
        tokens += [(300, Array("hello".utf8)), (301, Array("exactly8".utf8)), (302, Array("a longer token, 29 bytes long".utf8)),
                   (400, Array("日本語".utf8))]
        let built = try TokenTable(tokens: tokens)
        let path = Self.scratchFolder("compiled") + ".tokc-table"
        try FileIO.writeAtomically(try #require(built.compiled(identity: Array("who I am".utf8))), to: path)
        let (mapped, identity) = try #require(TokenTable.mapped(path: path))
        #expect(identity == Array("who I am".utf8))
        #expect(mapped.isMapped && !built.isMapped)
        #expect((mapped.idLimit, mapped.count) == (401, 260))
        for (id, bytes) in tokens {
            #expect(mapped.id(of: bytes) == id)
            #expect(mapped.bytes(of: id).map(Array.init) == bytes)
        }
        for absent in ["hell", "exactly9", "a longer token, 29 bytes lonG", "日本"] {
            #expect(mapped.id(of: Array(absent.utf8)) == nil)
        }
        #expect(mapped.bytes(of: 299) == nil && mapped.bytes(of: 401) == nil)
    }

    /// Any damage to a compiled file makes it unusable, never misread: a flipped bit anywhere in the body (the
    /// checksum), a cut, another layout.
    @Test func damagedCompiledFilesAreRefused() throws {
        let built = try TokenTable(tokens: (0...255).map { (TokenID($0), [UInt8($0)]) } + [(TokenID(256), Array("ab".utf8))])
        let good = try #require(built.compiled(identity: []))
        let file = good.flatMap { $0 }
        let path = Self.scratchFolder("damaged")
        try FileIO.writeAtomically([file], to: path)
        #expect(TokenTable.mapped(path: path) != nil)
        for offset in [8, 16, 64, 320, 320 + 100, file.count - 1] {
            var damaged = file
            damaged[offset] ^= 0x10
            try FileIO.writeAtomically([damaged], to: path)
            #expect(TokenTable.mapped(path: path) == nil, "a flipped bit at \(offset) went unnoticed")
        }
        try FileIO.writeAtomically([Array(file.dropLast(64))], to: path)
        #expect(TokenTable.mapped(path: path) == nil)
        try FileIO.writeAtomically([[]], to: path)
        #expect(TokenTable.mapped(path: path) == nil)
        #expect(TokenTable.mapped(path: path + ".absent") == nil)
    }

    /// The first load of a manifest's `.tiktoken` vocabulary compiles it into the cache folder; a later load
    /// maps it, and encodes exactly as the built table does.
    @Test func registryWritesThenMapsTheCompiledTable() throws {
        let folder = try VocabularyRegistryTests.makeFolder()
        let cache = Self.scratchFolder("cache") + "/nested/tokc"
        let registry = VocabularyRegistry(folders: [folder], cacheFolder: cache)
        let built = try registry.load("mine")
        #expect(try !Self.table(of: built).isMapped)
        let compiledPath = CompiledTableCache(folder: cache).path(for: Self.cl100kSHA256)
        #expect(FileIO.isFile(compiledPath))

        // By path, so that the process's cache of loaded tokenizers (keyed by name) does not answer.
        let mapped = try registry.load(folder + "/cl100k_base.tiktoken")
        let mappedTable = try Self.table(of: mapped)
        #expect(mappedTable.isMapped)
        let builtTable = try Self.table(of: built)
        #expect((mappedTable.idLimit, mappedTable.count) == (builtTable.idLimit, builtTable.count))
        for id in 0..<TokenID(builtTable.idLimit) {
            let bytes = try #require(builtTable.bytes(of: id).map(Array.init))
            guard mappedTable.bytes(of: id).map(Array.init) == bytes, mappedTable.id(of: bytes) == id else {
                Issue.record("token \(id) differs in the mapped table")
                break
            }
        }
        for text in ["hello world", "  \r\n\t tabs", "日本語のテキスト", "👩‍👩‍👧 e\u{301}", String(repeating: "x", count: 5000)] {
            #expect(mapped.encode(text) == built.encode(text))
        }
    }

    /// The compiled table is used only for the vocabulary it was built from: a touched source (same bytes)
    /// is hashed again and the table kept; a changed source is not served from it; a damaged table is
    /// rebuilt and replaced.
    @Test func compiledTablesFollowTheirSource() throws {
        let folder = try VocabularyRegistryTests.makeFolder()
        let source = folder + "/cl100k_base.tiktoken"
        let cache = CompiledTableCache(folder: Self.scratchFolder("cache"))
        let registry = VocabularyRegistry(folders: [folder], cacheFolder: cache.folder)
        _ = try registry.load(source)
        #expect(try cache.table(sha256: Self.cl100kSHA256, source: source)?.isMapped == true)
        #expect(try cache.table(sha256: String(repeating: "0", count: 64), source: source) == nil)

        // Touched: the recorded modification time no longer matches, the content still does.
        var times = [timeval(tv_sec: 1_000_000, tv_usec: 0), timeval(tv_sec: 1_000_000, tv_usec: 0)]
        #expect(utimes(source, &times) == 0)
        #expect(try cache.table(sha256: Self.cl100kSHA256, source: source)?.isMapped == true)

        // Changed: one byte, so the sha256 differs from the one the table was built from.
        var content = try FileIO.readAll(source)
        content[0] ^= 0x01
        try FileIO.writeAtomically([content], to: source)
        #expect(try cache.table(sha256: Self.cl100kSHA256, source: source) == nil)
        #expect(throws: TokcError.checksumMismatch(path: source, expected: Self.cl100kSHA256, actual: VocabularyRegistry.sha256(content))) {
            try VocabularyRegistry(folders: [folder], cacheFolder: cache.folder).load(VocabularyRegistry(folders: [folder]).vocabularies()[0])
        }
        content[0] ^= 0x01
        try FileIO.writeAtomically([content], to: source)

        // Damaged: refused, then rebuilt from the source and written again.
        let compiledPath = cache.path(for: Self.cl100kSHA256)
        var compiled = try FileIO.readAll(compiledPath)
        compiled[compiled.count / 2] ^= 0x40
        try FileIO.writeAtomically([compiled], to: compiledPath)
        #expect(try cache.table(sha256: Self.cl100kSHA256, source: source) == nil)
        let rebuilt = try registry.load(source)
        #expect(try !Self.table(of: rebuilt).isMapped)
        #expect(rebuilt.encode("hello world") == [15339, 1917])
        #expect(try cache.table(sha256: Self.cl100kSHA256, source: source)?.isMapped == true)
    }

    /// A source read and hashed is recorded by its identity, so that the next read of the same file need not hash
    /// it (the formats without a compiled form); a touched file, another sha256 or a damaged record vouch for
    /// nothing.
    @Test func verifiedSourcesAreRecordedByIdentity() throws {
        let folder = try VocabularyRegistryTests.makeFolder()
        let source = folder + "/cl100k_base.tiktoken"
        let cache = CompiledTableCache(folder: Self.scratchFolder("verified"))
        #expect(!cache.vouches(sha256: Self.cl100kSHA256, source: source))
        _ = try VocabularyRegistry(folders: [folder], cacheFolder: cache.folder).load("mine")
        #expect(cache.vouches(sha256: Self.cl100kSHA256, source: source))
        #expect(!cache.vouches(sha256: Self.cl100kSHA256, source: folder + "/manifest.json"))
        let record = try FileIO.readAll(cache.verifiedPath(for: Self.cl100kSHA256))
        for offset in [0, 8, 20, record.count - 1] {
            var damaged = record
            damaged[offset] ^= 0x01
            try FileIO.writeAtomically([damaged], to: cache.verifiedPath(for: Self.cl100kSHA256))
            #expect(!cache.vouches(sha256: Self.cl100kSHA256, source: source), "a flipped bit at \(offset) went unnoticed")
        }
        try FileIO.writeAtomically([record], to: cache.verifiedPath(for: Self.cl100kSHA256))
        var times = [timeval(tv_sec: 1_000_000, tv_usec: 0), timeval(tv_sec: 1_000_000, tv_usec: 0)]
        #expect(utimes(source, &times) == 0)
        #expect(!cache.vouches(sha256: Self.cl100kSHA256, source: source))
    }

    /// A cache folder that cannot be made costs the compiled table, not the load.
    @Test func anUnwritableCacheFolderIsNoError() throws {
        let folder = try VocabularyRegistryTests.makeFolder()
        let blocker = Self.scratchFolder("blocker")
        try FileIO.writeAtomically([Array("a file, not a folder".utf8)], to: blocker)
        let registry = VocabularyRegistry(folders: [folder], cacheFolder: blocker + "/tokc")
        #expect(try registry.load(folder + "/cl100k_base.tiktoken").encode("hello world") == [15339, 1917])
        #expect(throws: TokcError.unwritableFile(path: blocker, reason: "exists and is not a folder")) {
            try FileIO.createFolders(blocker + "/tokc")
        }
    }

    @Test func theStandardFolderFollowsTheEnvironment() {
        #expect(CompiledTableCache.standardFolder(environment: ["TOKC_CACHE_DIR": "/x", "HOME": "/h"]) == "/x")
        #expect(CompiledTableCache.standardFolder(environment: ["TOKC_CACHE_DIR": "off", "HOME": "/h"]) == nil)
        #expect(CompiledTableCache.standardFolder(environment: ["XDG_CACHE_HOME": "/c", "HOME": "/h"]) == "/c/tokc")
        #expect(CompiledTableCache.standardFolder(environment: ["XDG_CACHE_HOME": "relative", "HOME": "/h"]) == "/h/.cache/tokc")
        #expect(CompiledTableCache.standardFolder(environment: [:]) == nil)
    }
}
