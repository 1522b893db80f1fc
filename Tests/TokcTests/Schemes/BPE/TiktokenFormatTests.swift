import Testing
@testable import Tokc

@Suite struct TiktokenFormatTests {
    static func allBytes() -> [String] { (0...255).map { "\(Base64.encode([UInt8($0)])) \($0)" } }

    static func parse(_ lines: [String]) throws(TokcError) -> BPEEncoder {
        try TiktokenFormat.parse(Array(lines.joined(separator: "\n").utf8), path: "test.tiktoken")
    }

    @Test func readsAndWritesTheSameFile() throws {
        let original = try FileIO.readAll(Fixtures.repositoryRoot + "/Vocabularies/cl100k_base.tiktoken")
        let encoder = try TiktokenFormat.parse(original, path: "cl100k_base.tiktoken")
        #expect(encoder.tokenCount == 100_256)
        #expect(TiktokenFormat.serialize(encoder) == original)
    }

    @Test func malformedLinesNameTheLine() {
        var lines = Self.allBytes()
        lines[4] = "QUJD"
        #expect(throws: TokcError.malformedFile(path: "test.tiktoken", line: 5, expected: "'<base64 token> <rank>' with exactly one space")) {
            try Self.parse(lines)
        }
        lines = Self.allBytes()
        lines[9] = "QU*D 9"
        #expect(throws: TokcError.malformedFile(path: "test.tiktoken", line: 10, expected: "a padded base64 token before the space")) {
            try Self.parse(lines)
        }
        lines = Self.allBytes()
        lines[0] = "AA== x1"
        #expect(throws: TokcError.malformedFile(path: "test.tiktoken", line: 1, expected: "a decimal rank below 4294967295 after the space")) {
            try Self.parse(lines)
        }
        lines = Self.allBytes()
        lines.insert("", at: 3)
        #expect(throws: TokcError.malformedFile(path: "test.tiktoken", line: 4, expected: "'<base64 token> <rank>', found an empty line")) {
            try Self.parse(lines)
        }
    }

    @Test func duplicatesNameBothLines() {
        var lines = Self.allBytes()
        lines.append("\(Base64.encode(Array("ab".utf8))) 7")
        #expect(throws: TokcError.malformedFile(path: "test.tiktoken", line: 257, expected: "a rank not used before, found 7 again (first on line 8)")) {
            try Self.parse(lines)
        }
        lines = Self.allBytes()
        lines.append("\(Base64.encode([0x41])) 300")
        #expect(throws: TokcError.malformedFile(path: "test.tiktoken", line: 257, expected: "a token not listed before, found the bytes of rank 65 (line 66) again")) {
            try Self.parse(lines)
        }
    }

    @Test func byteLevelBPENeedsEveryByte() {
        var lines = Self.allBytes()
        lines.remove(at: 0x7F)
        #expect(throws: TokcError.invalidVocabulary(path: "test.tiktoken", reason: "byte-level BPE needs all 256 single bytes as tokens; byte 0x7F is missing")) {
            try Self.parse(lines)
        }
    }

    @Test func trailingNewlineAndCRLFAreAccepted() throws {
        let encoder = try TiktokenFormat.parse(Array((Self.allBytes().joined(separator: "\r\n") + "\r\n").utf8), path: "crlf")
        #expect(encoder.tokenCount == 256)
    }

    @Test func base64RoundTripsAndRejectsNonCanonical() {
        var random = SeededGenerator(seed: 11)
        for length in 0..<40 {
            let data = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            var decoded: [UInt8] = []
            let text = Array(Base64.encode(data).utf8)
            #expect(text.withUnsafeBufferPointer { Base64.decode($0, appendingTo: &decoded) })
            #expect(decoded == data)
        }
        for bad in ["QQ", "QR==", "Q===", "QUJD=", "QU=D"] {
            var decoded: [UInt8] = []
            #expect(!Array(bad.utf8).withUnsafeBufferPointer { Base64.decode($0, appendingTo: &decoded) }, "\(bad)")
        }
    }
}
