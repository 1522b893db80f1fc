import Foundation
import Testing
import TokcTestSupport
@testable import Tokc

/// GGUF metadata: every value type read back, every truncation and corruption an error naming the byte, and a
/// multi-gigabyte model file read without its tensor data.
@Suite struct GGUFMetadataTests {
    /// A GGUF file as llama.cpp writes one: header, key/value pairs, then (here) `tensorCount` in the header only.
    struct Writer {
        var bytes: [UInt8] = []

        mutating func integer<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
        }

        mutating func string(_ text: String) {
            integer(UInt64(text.utf8.count))
            bytes += Array(text.utf8)
        }

        /// A whole file: magic, version, tensor count, then the entries, each written by its closure after the key.
        static func file(version: UInt32 = 3, tensors: UInt64 = 0, _ entries: [(String, @Sendable (inout Writer) -> Void)]) -> [UInt8] {
            var writer = Writer()
            writer.bytes = GGUFMetadata.magic
            writer.integer(version)
            writer.integer(tensors)
            writer.integer(UInt64(entries.count))
            for (key, write) in entries {
                writer.string(key)
                write(&writer)
            }
            return writer.bytes
        }
    }

    static let sample: [(String, @Sendable (inout Writer) -> Void)] = [
        ("general.architecture", { $0.integer(UInt32(8)); $0.string("llama") }),
        ("tokenizer.ggml.model", { $0.integer(UInt32(8)); $0.string("gpt2") }),
        ("tokenizer.ggml.tokens", { w in
            w.integer(UInt32(9)); w.integer(UInt32(8)); w.integer(UInt64(3))
            for token in ["a", "Ġb", "東"] { w.string(token) }
        }),
        ("tokenizer.ggml.scores", { w in
            w.integer(UInt32(9)); w.integer(UInt32(6)); w.integer(UInt64(2))
            w.integer(Float(-1.5).bitPattern); w.integer(Float(0.25).bitPattern)
        }),
        ("tokenizer.ggml.token_type", { w in
            w.integer(UInt32(9)); w.integer(UInt32(5)); w.integer(UInt64(2)); w.integer(Int32(1)); w.integer(Int32(-3))
        }),
        ("tokenizer.ggml.bos_token_id", { $0.integer(UInt32(4)); $0.integer(UInt32(128_000)) }),
        ("tokenizer.ggml.add_bos_token", { $0.integer(UInt32(7)); $0.integer(UInt8(1)) }),
        ("general.file_type", { $0.integer(UInt32(1)); $0.integer(Int8(-2)) }),
        ("general.size", { $0.integer(UInt32(10)); $0.integer(UInt64.max) }),
        ("general.offset", { $0.integer(UInt32(11)); $0.integer(Int64.min) }),
        ("general.ratio", { $0.integer(UInt32(12)); $0.integer(Double(0.1).bitPattern) }),
        ("general.flags", { w in w.integer(UInt32(9)); w.integer(UInt32(7)); w.integer(UInt64(2)); w.integer(UInt8(0)); w.integer(UInt8(1)) }),
        ("general.widths", { w in w.integer(UInt32(9)); w.integer(UInt32(2)); w.integer(UInt64(1)); w.integer(UInt16(65_535)) }),
        ("general.nested", { w in
            w.integer(UInt32(9)); w.integer(UInt32(9)); w.integer(UInt64(2))
            for _ in 0..<2 { w.integer(UInt32(4)); w.integer(UInt64(1)); w.integer(UInt32(7)) }
        }),
    ]

    static func parse(_ bytes: [UInt8]) throws(TokcError) -> GGUFMetadata {
        var reader = GGUFMetadata.Reader(bytes: bytes, path: "m.gguf")
        return try GGUFMetadata.parse(&reader)
    }

    @Test func everyValueTypeReadsBack() throws {
        let file = Writer.file(tensors: 7, Self.sample)
        let metadata = try Self.parse(file)
        #expect(metadata.version == 3 && metadata.tensorCount == 7 && metadata.bytesRead == file.count)
        #expect(metadata.entries.map(\.key) == Self.sample.map(\.0))
        #expect(metadata["general.architecture"] == .string(Array("llama".utf8)))
        #expect(metadata["tokenizer.ggml.tokens"] == .strings(["a", "Ġb", "東"].map { Array($0.utf8) }))
        #expect(metadata["tokenizer.ggml.scores"] == .floatArray([-1.5, 0.25]))
        #expect(metadata["tokenizer.ggml.token_type"] == .signedArray([1, -3]))
        #expect(metadata["tokenizer.ggml.bos_token_id"] == .unsigned(128_000))
        #expect(metadata["tokenizer.ggml.add_bos_token"] == .bool(true))
        #expect(metadata["general.file_type"] == .signed(-2))
        #expect(metadata["general.size"] == .unsigned(.max) && metadata["general.offset"] == .signed(.min))
        #expect(metadata["general.ratio"] == .float(0.1))
        #expect(metadata["general.flags"] == .boolArray([false, true]) && metadata["general.widths"] == .unsignedArray([65_535]))
        #expect(metadata["general.nested"] == .arrays(count: 2))
        #expect(metadata["absent"] == nil)
    }

    /// What parsing `bytes` says: "read", or the reason of the `invalidVocabulary` error (any other error in full).
    static func outcome(_ bytes: [UInt8]) -> String {
        do {
            _ = try parse(bytes)
            return "read"
        } catch {
            if case let .invalidVocabulary(path, reason) = error, path == "m.gguf" { return reason }
            return "\(error)"
        }
    }

    /// Cut anywhere, the file is an error naming a byte inside it, never a crash or a partial result.
    @Test func everyTruncationIsAnErrorNamingTheByte() throws {
        let file = Writer.file(Self.sample)
        for length in 0..<file.count {
            let reason = Self.outcome(Array(file.prefix(length)))
            let offset = Int(reason.dropFirst("byte ".count).prefix { $0.isNumber }) ?? -1
            #expect(reason.hasPrefix("byte ") && (0...length).contains(offset), "cut to \(length) of \(file.count) bytes: \(reason)")
        }
        // docs/vocabularies.md's example; the sample above cut there fails earlier, at its entry count.
        let one = Writer.file([("tokenizer.ggml.model", { $0.integer(UInt32(8)); $0.string("gpt2") })])
        #expect(Self.outcome(Array(one.prefix(60))) == "byte 56: expected the length of the value of tokenizer.ggml.model (8 bytes), but the file ends after 60 bytes")
        #expect(Self.outcome(Array(file.prefix(60))) == "byte 16: expected a count of metadata entries that fits in the 36 bytes left, not 14")
    }

    @Test func corruptHeadersAndCountsAreNamed() throws {
        let file = Writer.file(Self.sample)
        func corrupted(_ offset: Int, _ bytes: [UInt8]) -> [UInt8] {
            var copy = file
            copy.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
            return copy
        }
        func reason(_ bytes: [UInt8]) -> String { Self.outcome(bytes) }
        #expect(reason(Array("GGML".utf8) + file.dropFirst(4)) == "byte 0: expected the magic \"GGUF\" (47 47 55 46)")
        #expect(reason(corrupted(4, [1, 0, 0, 0])) == "byte 4: expected GGUF version 2 or 3; version 1 (32-bit lengths, 2023) is not read")
        #expect(reason(corrupted(4, [0, 0, 0, 3])) == "byte 4: expected GGUF version 2 or 3; a big-endian file is not read")
        // An entry count of 2^40: refused before anything is allocated for it.
        #expect(reason(corrupted(16, [0, 0, 0, 0, 0, 1, 0, 0])).hasPrefix("byte 16: expected a count of metadata entries that fits in the"))
        // The first key's length, 2^56: larger than the file.
        #expect(reason(corrupted(24, [0, 0, 0, 0, 0, 0, 0, 1])).hasPrefix("byte 24: expected the length of a key within the"))
        // The first value's type, 13.
        #expect(reason(corrupted(52, [13, 0, 0, 0])) == "byte 52: expected a value type 0-12 for general.architecture, not 13")
        var badBool = Writer.file([("b", { $0.integer(UInt32(7)); $0.integer(UInt8(2)) })])
        #expect(reason(badBool) == "byte 37: expected the value of b: a bool, 0 or 1, not 2")
        badBool.removeLast()
        #expect(reason(badBool) == "byte 37: expected the value of b (1 bytes), but the file ends after 37 bytes")
    }

    /// A model-sized file (a vocabulary's metadata, then 8 GiB of tensor data, sparse on disk) reads exactly its
    /// metadata: the bytes read are the metadata's, whatever follows.
    @Test func aLargeModelFileReadsItsMetadataOnly() throws {
        let metadata = Writer.file(tensors: 291, Self.sample)
        let path = try Fixtures.writeScratch(metadata, name: "model.gguf")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(truncate(path, off_t(8) << 30) == 0)
        let read = try GGUFMetadata.read(path: path)
        #expect(read.bytesRead == metadata.count && read.tensorCount == 291)
        #expect(read.entries == (try Self.parse(metadata)).entries)
    }

    static let shared = References.repositoryRoot + "/../shared/reference/vocab-more"

    /// The 19 ggml-vocab files of llama.cpp in ../shared: each names its tokenizer model, and has one token type
    /// per token (skipped, saying so, without ../shared).
    @Test(.enabled(if: FileManager.default.fileExists(atPath: shared), "../shared/reference/vocab-more is absent"))
    func llamaCppVocabularyFilesRead() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.shared).filter { $0.hasSuffix(".gguf") }.sorted()
        #expect(files.count == 19)
        var models: Set<String> = []
        for file in files {
            let metadata = try GGUFMetadata.read(path: Self.shared + "/" + file)
            guard case let .string(model)? = metadata["tokenizer.ggml.model"], case let .strings(tokens)? = metadata["tokenizer.ggml.tokens"] else {
                Issue.record("\(file): no tokenizer.ggml.model or tokens")
                continue
            }
            models.insert(String(decoding: model, as: UTF8.self))
            if case let .signedArray(types)? = metadata["tokenizer.ggml.token_type"] {
                #expect(types.count == tokens.count, "\(file)")
            } else {
                Issue.record("\(file): no tokenizer.ggml.token_type")
            }
        }
        #expect(models.isSuperset(of: ["gpt2", "llama", "bert"]), "\(models)")
    }
}
