import Foundation
import Testing
@testable import Tokc

/// A folder's manifest kept compiled in the cache (`CompiledManifest`): read back, it is the manifest; it is used
/// only while `manifest.json` is the file it was recorded from; a damaged one is refused and written again.
@Suite struct CompiledManifestTests {
    static let shippedPath = VocabularyRegistryTests.shipped + "/manifest.json"

    static func identity(of path: String) throws -> [UInt64] {
        try #require(CompiledTableCache.FileIdentity(path: path)).fields
    }

    /// Every entry of the shipped manifest (special tokens, optional fields and all) decodes to itself, by name
    /// and whole; a name it does not list is not found.
    @Test func theShippedManifestReadsBackEntryForEntry() throws {
        let parsed = try VocabularyManifest.parse(try FileIO.readAll(Self.shippedPath), path: Self.shippedPath)
        let identity = try Self.identity(of: Self.shippedPath)
        let file = CompiledManifest(parsed).file(identity: identity, path: Self.shippedPath)
        let read = try #require(CompiledManifest(file: file, identity: identity, path: Self.shippedPath))
        #expect(read.manifest == parsed)
        for entry in parsed.vocabularies {
            #expect(read.lists(entry.name))
            #expect(read.entry(named: entry.name) == entry, "\(entry.name)")
        }
        #expect(!read.lists("o100k") && read.entry(named: "o100k") == nil)
        // Recorded from another file, or another path: not used.
        var other = identity
        other[1] += 1
        #expect(CompiledManifest(file: file, identity: other, path: Self.shippedPath) == nil)
        #expect(CompiledManifest(file: file, identity: identity, path: Self.shippedPath + "x") == nil)
    }

    /// A flipped bit anywhere, a cut or an extension: refused, never misread.
    @Test func aDamagedCompiledManifestIsRefused() throws {
        let parsed = try VocabularyManifest.parse(try FileIO.readAll(Self.shippedPath), path: Self.shippedPath)
        let identity: [UInt64] = [1, 2, 3, 4, 5]
        let file = CompiledManifest(parsed).file(identity: identity, path: "m")
        #expect(CompiledManifest(file: file, identity: identity, path: "m") != nil)
        for offset in [0, 7, 8, 15, 16, 60, file.count / 3, file.count / 2, file.count - 1] {
            var damaged = file
            damaged[offset] ^= 0x04
            #expect(CompiledManifest(file: damaged, identity: identity, path: "m") == nil, "a flipped bit at \(offset) went unnoticed")
        }
        #expect(CompiledManifest(file: Array(file.dropLast()), identity: identity, path: "m") == nil)
        #expect(CompiledManifest(file: file + [0], identity: identity, path: "m") == nil)
        #expect(CompiledManifest(file: [], identity: identity, path: "m") == nil)
    }

    /// The registry writes the compiled manifest on the first load and reads it after; a manifest changed since
    /// (a new entry) is read again, and a damaged compiled file is replaced.
    @Test func theRegistryFollowsTheManifestFile() throws {
        let folder = try VocabularyRegistryTests.makeFolder()
        let cache = CompiledTableCache(folder: CompiledTableCacheTests.scratchFolder("manifest"))
        let manifestPath = folder + "/manifest.json"
        let compiledPath = cache.manifestPath(for: manifestPath)
        let registry = VocabularyRegistry(folders: [folder], cacheFolder: cache.folder)
        #expect(try registry.load(folder + "/cl100k_base.tiktoken").encode("hello world") == [15339, 1917])
        #expect(FileIO.isFile(compiledPath))
        let good = try FileIO.readAll(compiledPath)
        #expect(try registry.locate("mine")?.entry.name == "mine")
        #expect(try registry.locate("yours") == nil)
        #expect(try registry.vocabularies().map(\.entry.name) == ["mine"])
        #expect(try registry.defaultVocabulary(for: .bpe) == "mine")

        // Changed: a second entry. The compiled file no longer matches the manifest's identity.
        var manifest = try VocabularyManifest.parse(try FileIO.readAll(manifestPath), path: manifestPath)
        var second = manifest.vocabularies[0]
        second.name = "yours"
        manifest.vocabularies.append(second)
        try FileIO.writeAtomically([Array(try JSONEncoder().encode(manifest))], to: manifestPath)
        #expect(try registry.locate("yours")?.entry == second)
        #expect(try registry.vocabularies().map(\.entry.name) == ["mine", "yours"])
        let rewritten = try FileIO.readAll(compiledPath)
        #expect(rewritten != good)

        // Damaged: refused, the JSON read instead, the file written again.
        var damaged = rewritten
        damaged[damaged.count / 2] ^= 0x20
        try FileIO.writeAtomically([damaged], to: compiledPath)
        #expect(cache.manifest(path: manifestPath, identity: try #require(CompiledTableCache.FileIdentity(path: manifestPath))) == nil)
        #expect(try registry.locate("yours")?.entry == second)
        #expect(try FileIO.readAll(compiledPath) == rewritten)
    }
}
