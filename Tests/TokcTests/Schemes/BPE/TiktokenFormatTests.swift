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

    /// A rank far beyond the number of tokens is an error on its line, not an attempt to allocate a table that
    /// large: the fuzzer's input (ten lines, one rank 2222222296) ran out of memory.
    @Test func aStrayHugeRankIsAnError() throws {
        let fuzzed = "AA== 0\nAQ== 2\nAw== 102\nZw== 103\naA== 104\naQ== 1080\nZWQ= 2222222296\n44GZ 297\nIGFu 289\nYXI= 299\n"
        #expect(throws: TokcError.malformedFile(path: "fuzz.tiktoken", line: 7, expected: "a rank below 65556 (twice the number of tokens plus 65,536), found 2222222296")) {
            try TiktokenFormat.parse(Array(fuzzed.utf8), path: "fuzz.tiktoken")
        }
        // 257 tokens: ranks up to 66,049 are accepted, gaps and all.
        #expect(throws: TokcError.malformedFile(path: "test.tiktoken", line: 257, expected: "a rank below 66050 (twice the number of tokens plus 65,536), found 66050")) {
            try Self.parse(Self.allBytes() + ["\(Base64.encode(Array("ab".utf8))) 66050"])
        }
        #expect(try Self.parse(Self.allBytes() + ["\(Base64.encode(Array("ab".utf8))) 66049"]).idLimit == 66050)
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
