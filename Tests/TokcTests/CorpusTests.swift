import Foundation
import Testing
@testable import Tokc

/// `Corpus/`: the shipped files are the ones their checksums name, and the train/held-out split follows its
/// documented rule exactly.
@Suite struct CorpusTests {
    static let folder = Fixtures.repositoryRoot + "/Corpus"

    @Test func everyFileMatchesItsChecksum() throws {
        let sums = String(decoding: try FileIO.readAll(Self.folder + "/SHA256SUMS"), as: UTF8.self)
        let entries = sums.split(separator: "\n").map { $0.split(separator: " ", maxSplits: 1) }
        #expect(entries.count == 23)
        for entry in entries {
            let name = entry[1].trimmingCharacters(in: .whitespaces)
            let digest = VocabularyRegistry.sha256(try FileIO.readAll(Self.folder + "/" + name))
            #expect(digest == String(entry[0]), "\(name)")
        }
    }

    /// FNV-1a, 64 bits, over the line's bytes.
    static func heldOut(_ line: ArraySlice<UInt8>) -> Bool {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in line { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return hash % 10 == 0
    }

    @Test(arguments: ["ja", "zh", "de", "fr", "en"])
    func splitFollowsTheRule(language: String) throws {
        func lines(_ path: String) throws -> [ArraySlice<UInt8>] {
            let bytes = try FileIO.readAll(Self.folder + "/" + path)
            #expect(bytes.last == UInt8(ascii: "\n"), "\(path) ends with a newline")
            return bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast().map { $0 }
        }
        let all = try lines("\(language).txt")
        let expectedTrain = all.filter { !Self.heldOut($0) }
        let expectedHeldOut = all.filter(Self.heldOut)
        #expect(try lines("split/\(language).train.txt") == expectedTrain)
        #expect(try lines("split/\(language).heldout.txt") == expectedHeldOut)
        #expect(expectedHeldOut.count * 12 > all.count && expectedHeldOut.count * 8 < all.count, "about a tenth is held out")
    }
}
