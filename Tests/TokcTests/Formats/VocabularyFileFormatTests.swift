import Foundation
import Testing
import TokcTestSupport
@testable import Tokc

/// A vocabulary file is recognised by its content, whatever it is called.
@Suite struct VocabularyFileFormatTests {
    static let shipped: [(file: String, format: VocabularyFileFormat)] = [
        ("o200k_base.tiktoken", .tiktoken), ("cl100k_base.tiktoken", .tiktoken), ("llama3.tokenizer.json", .tokenizerJSON),
        ("bert-base-uncased.tokenizer.json", .tokenizerJSON), ("unigram-multi-8k.model", .sentencePiece),
        ("ungreedy-multi-8k.json", .ungreedy),
    ]

    @Test func shippedFilesAreRecognised() throws {
        for (file, format) in Self.shipped {
            let path = Fixtures.repositoryRoot + "/Vocabularies/" + file
            #expect(try VocabularyFileFormat.detect(try FileIO.readAll(path), path: path) == format, "\(file)")
        }
        let mistral = Fixtures.directory + "/mistral-v1.tokenizer.model"
        #expect(try VocabularyFileFormat.detect(try FileIO.readAll(mistral), path: mistral) == .sentencePiece)
        let bert = Array("[PAD]\n[unused0]\n[UNK]\nthe\n##s\n東\n".utf8)
        #expect(try VocabularyFileFormat.detect(bert, path: "v") == .bertVocabulary)
        #expect(try VocabularyFileFormat.detect(GGUFMetadata.magic + [3, 0, 0, 0], path: "v") == .gguf)
    }

    /// Loaded by path under names that say nothing (or the wrong thing), each gives the shipped vocabulary's ids.
    @Test func namesDoNotMatter() throws {
        let text = "Tokens, exactly: 東京タワーは日本の電波塔です。 naïve  \r\n"
        for (file, name) in [("unigram-multi-8k.model", "tokenizer.model.v3"), ("llama3.tokenizer.json", "vocab.bin"),
                             ("ungreedy-multi-8k.json", "model.txt"), ("unigram-multi-8k.model", "unigram.json")] {
            let folder = Fixtures.scratchDirectory + "/named-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let path = folder + "/" + name
            try FileManager.default.copyItem(atPath: Fixtures.repositoryRoot + "/Vocabularies/" + file, toPath: path)
            let named = try Tokenizer.named(String(file.prefix { $0 != "." }))
            #expect(try Tokenizer.named(path).encode(text) == named.encode(text), "\(file) as \(name)")
        }
    }

    @Test func otherFilesSayWhatTheyLookLike() throws {
        func reason(_ bytes: [UInt8]) -> String {
            do {
                return "\(try VocabularyFileFormat.detect(bytes, path: "f"))"
            } catch {
                if case let .invalidVocabulary(_, reason) = error { return reason }
                return "\(error)"
            }
        }
        let tail = ", which is no vocabulary format tokc reads (\(VocabularyFileFormat.readable))"
        #expect(reason([]) == "the file is empty" + tail)
        #expect(reason(Array("# tokc\n\nExact token counts.\n".utf8)) == "the file is text that starts \"# tokc\"" + tail)
        #expect(reason([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0]) == "the file is binary data that starts 89 50 4e 47 0d 0a 1a 0a" + tail)
        // A loaded path names the file.
        let path = try Fixtures.writeScratch(Array("just some words\n".utf8), name: "notes")
        #expect(throws: TokcError.invalidVocabulary(path: path, reason: "the file is text that starts \"just some words\"" + tail)) {
            try Tokenizer.named(path)
        }
    }

    static let shared = References.repositoryRoot + "/../shared/reference/vocab-more"

    /// Every tokenizer file of ../shared/reference/vocab-more, by its content (skipped, saying so, without it).
    @Test(.enabled(if: FileManager.default.fileExists(atPath: shared), "../shared/reference/vocab-more is absent"))
    func everyFileOfTheReferenceSetIsRecognised() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.shared)
        var seen: [VocabularyFileFormat: Int] = [:]
        for file in files where !file.hasSuffix(".md") && !file.hasPrefix("LICENSE") && !file.hasSuffix(".LICENSE")
            && !file.hasSuffix(".inp") && !file.hasSuffix(".out") && !file.hasSuffix(".jinja") && !file.contains("tokenizer_config") {
            let path = Self.shared + "/" + file
            let head = try FileIO.readPrefix(path, count: 4)
            let format = VocabularyFileFormat.isGGUF(head: head) ? .gguf : try VocabularyFileFormat.detect(try FileIO.readAll(path), path: path)
            let expected: VocabularyFileFormat = file.hasSuffix(".gguf") ? .gguf : file.hasSuffix(".tiktoken") ? .tiktoken
                : file.contains(".model") ? .sentencePiece : file.hasPrefix("tekken") ? .tekken : .tokenizerJSON
            #expect(format == expected, "\(file)")
            seen[format, default: 0] += 1
        }
        #expect(seen[.gguf] == 19 && seen[.tekken] == 1 && seen[.sentencePiece] == 3 && seen[.tiktoken] == 3)
    }
}
