import Foundation
import Testing
@testable import Tokc

@Suite struct BPETrainerTests {
    static func train(_ texts: [String], _ configure: (inout BPETrainer.Options) -> Void) throws -> TrainedBPE {
        var options = BPETrainer.Options(vocabSize: 258)
        configure(&options)
        var trainer = try BPETrainer(options: options)
        for text in texts { Array(text.utf8).withUnsafeBufferPointer { trainer.add($0) } }
        return try trainer.train { _ in }
    }

    @Test func mergesTheMostFrequentPairFirstAndUpdatesCounts() throws {
        // (a,a) occurs 4 times, (a,b) 3; after aa merges, "aaab" is aa·a·b: (aa,a) 2, (a,b) still 3.
        let model = try Self.train(["aaab", "aaab", "ab"]) {
            $0.vocabSize = 259
            $0.minFrequency = 1
            $0.pattern = #"\S+|\s+"#
        }
        #expect(model.tokens.count == 259)
        #expect(model.tokens[256] == Array("aa".utf8) && model.tokens[257] == Array("ab".utf8))
        #expect(model.tokens[258] == Array("aaab".utf8))
        #expect(model.merges.map { [$0.left, $0.right] } == [[97, 97], [97, 98], [256, 257]])
        let tokenizer = try model.tokenizer(name: "tiny")
        #expect(tokenizer.encode("aaab ab aab") == [258, 32, 257, 32, 256, 98])
    }

    @Test func minimumFrequencyStopsEarlyAndTiesGoToTheSmallerPair() throws {
        let model = try Self.train(["xy", "zw"]) {
            $0.vocabSize = 300
            $0.minFrequency = 1
        }
        // Both pairs occur once; the tie goes to the smaller pair of ids: (x, y) = (120, 121) before (z, w) = (122, 119).
        #expect(model.tokens[256...] == [Array("xy".utf8), Array("zw".utf8)])
        let none = try Self.train(["xy", "zw"]) { $0.vocabSize = 300 }
        #expect(none.tokens.count == 256, "nothing reaches the default minimum frequency of 2")
    }

    @Test func specialTokensComeAfterTheLearnedOnes() throws {
        let model = try Self.train(["ab ab ab"]) {
            $0.vocabSize = 259
            $0.specialTokens = ["<|end|>", "<|pad|>"]
        }
        #expect(model.tokens.count == 257 && model.specialTokens == ["<|end|>": 257, "<|pad|>": 258])
        let tokenizer = try model.tokenizer(name: "t")
        #expect(tokenizer.encode("ab<|pad|>", allowedSpecial: .all) == [256, 258])
        #expect(throws: TokcError.malformedInput(source: "--vocab-size", line: 1, expected: "at least 256 (256 bytes and the special tokens)")) {
            try BPETrainer(options: .init(vocabSize: 255))
        }
    }

    /// The same corpus and options give the same bytes; the written file loads back and encodes the same.
    @Test func deterministicAndTheWrittenFileEncodesAlike() throws {
        let lines = try FileIO.readAll(Fixtures.repositoryRoot + "/Corpus/split/en.train.txt")
            .split(separator: UInt8(ascii: "\n")).prefix(3000).map { String(decoding: $0, as: UTF8.self) }
        let first = try Self.train(lines) { $0.vocabSize = 1000 }
        let second = try Self.train(lines) { $0.vocabSize = 1000 }
        // Counted in batches of 4 kB (hundreds of batches, each split over the cores and merged): the same.
        let batched = try Self.train(lines) {
            $0.vocabSize = 1000
            $0.batchBytes = 4096
        }
        let written = try first.serialize(format: "tokenizer.json")
        #expect(written == (try second.serialize(format: "tokenizer.json")))
        #expect(written == (try batched.serialize(format: "tokenizer.json")))
        #expect(first.tokens.count == 1000)

        let path = try Fixtures.writeScratch(written, name: "trained")
        let loaded = try VocabularyRegistry(folders: [Fixtures.repositoryRoot + "/Vocabularies"]).load(path)
        let trained = try first.tokenizer(name: "trained")
        let heldOut = try FileIO.readAll(Fixtures.repositoryRoot + "/Corpus/split/en.heldout.txt")
            .split(separator: UInt8(ascii: "\n")).prefix(300)
        for line in heldOut {
            let ids = trained.encode(Array(line))
            #expect(loaded.encode(Array(line)) == ids)
            #expect(try trained.decode(ids) == Array(line))
        }
    }

    @Test func pieceCountsGrowMergeAndSortByBytes() {
        var words = ["b", "a", "ab", "a", "ba", "b", "a"]
        for index in 0..<5_000 { words.append("w\(index % 2_500)") }  // past several growths of the table
        var left = PieceCounts(capacity: 4)
        var right = PieceCounts()
        for (index, word) in words.enumerated() {
            Array(word.utf8).withUnsafeBufferPointer { index % 2 == 0 ? left.add($0) : right.add($0) }
        }
        left.merge(right)
        var expected: [String: Int] = [:]
        for word in words { expected[word, default: 0] += 1 }
        let sorted = left.sorted()
        #expect(left.count == expected.count)
        #expect(sorted.map { String(decoding: $0.piece, as: UTF8.self) } == expected.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        #expect(sorted.allSatisfy { expected[String(decoding: $0.piece, as: UTF8.self)] == $0.count })
        #expect(sorted.prefix(4).map(\.count) == [3, 1, 2, 1])  // a, ab, b, ba
    }
}
