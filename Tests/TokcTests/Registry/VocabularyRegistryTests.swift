import Foundation
import Testing
import TokcTestSupport
@testable import Tokc

@Suite struct VocabularyRegistryTests {
    static let shipped = Fixtures.repositoryRoot + "/Vocabularies"

    /// A scratch folder with a manifest listing `entries`, each a copy of a shipped file.
    static func makeFolder(_ edit: (inout VocabularyManifest) -> Void = { _ in }) throws -> String {
        let folder = Fixtures.scratchDirectory + "/registry-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let manifestPath = shipped + "/manifest.json"
        var manifest = try VocabularyManifest.parse(try FileIO.readAll(manifestPath), path: manifestPath)
        manifest.vocabularies.removeAll { $0.name != "cl100k_base" }
        manifest.vocabularies[0].name = "mine"
        manifest.defaults = ["bpe": "mine"]
        edit(&manifest)
        try FileManager.default.copyItem(atPath: shipped + "/cl100k_base.tiktoken", toPath: folder + "/cl100k_base.tiktoken")
        try JSONEncoder().encode(manifest).write(to: URL(fileURLWithPath: folder + "/manifest.json"))
        return folder
    }

    @Test func unknownNamesListTheKnownOnes() {
        #expect(throws: TokcError.unknownVocabulary(name: "o100k", known: shippedVocabularyNames)) {
            try VocabularyRegistry(folders: [Self.shipped]).load("o100k")
        }
    }

    @Test func userFoldersComeFirst() throws {
        let folder = try Self.makeFolder()
        let registry = VocabularyRegistry(folders: [folder, Self.shipped])
        #expect(try registry.vocabularies().map(\.entry.name) == ["mine"] + shippedVocabularyNames)
        #expect(try registry.defaultVocabulary(for: .bpe) == "mine")
        #expect(try registry.load("mine").encode("hello world") == [15339, 1917])
    }

    @Test func checksumIsVerified() throws {
        let folder = try Self.makeFolder()
        let handle = try #require(FileHandle(forUpdatingAtPath: folder + "/cl100k_base.tiktoken"))
        try handle.seek(toOffset: 0)
        try handle.write(contentsOf: Data("X".utf8))
        try handle.close()
        let digest = VocabularyRegistry.sha256(try FileIO.readAll(folder + "/cl100k_base.tiktoken"))
        #expect(throws: TokcError.checksumMismatch(path: folder + "/cl100k_base.tiktoken",
                                                   expected: "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
                                                   actual: digest)) {
            try VocabularyRegistry(folders: [folder]).load("mine")
        }
    }

    @Test func inconsistentManifestsAreErrors() throws {
        let wrongSize = try Self.makeFolder { $0.vocabularies[0].vocabSize = 100_000 }
        #expect(throws: TokcError.invalidVocabulary(path: wrongSize + "/cl100k_base.tiktoken", reason: "the manifest says vocab_size 100000, the file and special tokens give 100277")) {
            try VocabularyRegistry(folders: [wrongSize]).load("mine")
        }
        let clash = try Self.makeFolder { $0.vocabularies[0].specialTokens["<|x|>"] = 42 }
        #expect(throws: TokcError.invalidVocabulary(path: clash + "/cl100k_base.tiktoken", reason: "special token <|x|> has id 42, which the vocabulary already uses")) {
            try VocabularyRegistry(folders: [clash]).load("mine")
        }
        let scheme = try Self.makeFolder { $0.vocabularies[0].scheme = "sentencepiece" }
        #expect(throws: TokcError.invalidVocabulary(path: scheme + "/cl100k_base.tiktoken", reason: "scheme 'sentencepiece' is not one this tokc runs; known: bpe, wordpiece, unigram, ungreedy")) {
            try VocabularyRegistry(folders: [scheme]).load("mine")
        }
    }

    @Test func malformedManifestNamesTheProblem() throws {
        let folder = try Self.makeFolder()
        try Data("{\"format_version\": 1,\n\"defaults\": {},\n \"vocabularies\": [ {\"name\": 3} ]}".utf8)
            .write(to: URL(fileURLWithPath: folder + "/manifest.json"))
        #expect(throws: TokcError.malformedFile(path: folder + "/manifest.json", line: 1, expected: "a value of type String at .vocabularies[0].name")) {
            try VocabularyRegistry(folders: [folder]).vocabularies()
        }
        try Data("{\"format_version\": 1,\n\"defaults\": {,\n}".utf8).write(to: URL(fileURLWithPath: folder + "/manifest.json"))
        #expect {
            try VocabularyRegistry(folders: [folder]).vocabularies()
        } throws: { error in
            guard case let TokcError.malformedFile(path, line, _) = error else { return false }
            return path == folder + "/manifest.json" && line == 2
        }
    }

    /// A path loads a file: a known file by its checksum, an unknown one only with an explicit pattern.
    @Test func pathsLoadFiles() throws {
        let registry = VocabularyRegistry(folders: [Self.shipped])
        let known = try registry.load(Self.shipped + "/o200k_base.tiktoken")
        #expect(known.name == "o200k_base")
        #expect(known.encode("<|endoftext|>", allowedSpecial: .all) == [199_999])

        let folder = try Self.makeFolder()
        let lines = (0...255).map { "\(Base64.encode([UInt8($0)])) \($0)" } + ["\(Base64.encode(Array("hi".utf8))) 256"]
        let path = folder + "/tiny.tiktoken"
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: TokcError.missingPattern(path: path, known: ["o200k", "cl100k", "gpt2", "llama3", "kimi"])) {
            try registry.load(path)
        }
        let tiny = try registry.load(path, pattern: "gpt2")
        #expect(tiny.encode("hi hi") == [256, 32, 256])
        let custom = try registry.load(path, pattern: #"\S+|\s+"#)
        #expect(custom.encode("hi hi") == [256, 32, 256])
    }

    /// tokc's own reading of the manifest (the fast path of every load) gives what JSONDecoder gives.
    @Test func theManifestReadsAsJSONDecoderReadsIt() throws {
        let content = try FileIO.readAll(Self.shipped + "/manifest.json")
        let fast = try #require(VocabularyManifest.read(content))
        #expect(fast == (try VocabularyManifest.decoded(content, path: "manifest.json")))
        #expect(fast.vocabularies.count == shippedVocabularyNames.count)
        #expect(VocabularyManifest.read(Array(#"{"defaults": {}, "vocabularies": [{"name": 1}], "format_version": 1}"#.utf8)) == nil)
    }

    /// The sha256 is of the bytes as the source published them: after decompressing a gzipped file.
    @Test func shippedManifestMatchesTheFiles() throws {
        for located in try VocabularyRegistry(folders: [Self.shipped]).vocabularies() {
            var content = try FileIO.readAll(located.filePath)
            if located.entry.compression == "gzip" {
                #expect(located.entry.file.hasSuffix(".gz"), "\(located.entry.name)")
                content = try Gzip.decompress(content, path: located.filePath)
            }
            #expect(VocabularyRegistry.sha256(content) == located.entry.sha256, "\(located.entry.name)")
        }
    }
}
