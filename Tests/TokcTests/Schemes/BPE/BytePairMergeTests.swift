import Testing
@testable import Tokc

/// The fast merges against each other and against a slow, readable statement of tiktoken's rule.
@Suite struct BytePairMergeTests {
    /// tiktoken's rule, written for clarity: merge the leftmost lowest-ranked adjacent pair until none is a token.
    static func referenceMerge(_ piece: [UInt8], rank: ([UInt8]) -> TokenID?) -> [TokenID] {
        var parts = piece.map { [$0] }
        while parts.count > 1 {
            var best: (index: Int, rank: TokenID)? = nil
            for index in 0..<(parts.count - 1) {
                if let pairRank = rank(parts[index] + parts[index + 1]), pairRank < (best?.rank ?? .max) {
                    best = (index, pairRank)
                }
            }
            guard let best else { break }
            parts[best.index] += parts[best.index + 1]
            parts.remove(at: best.index + 1)
        }
        return parts.map { rank($0)! }
    }

    struct Collector: TokenSink {
        var ids: [TokenID] = []
        mutating func append(_ token: TokenID) { ids.append(token) }
    }

    static func merged(_ piece: [UInt8], _ encoder: BPEEncoder, heap: Bool) -> [TokenID] {
        var sink = Collector()
        piece.withUnsafeBufferPointer { buffer in
            if heap {
                BytePairMerge.heap(buffer, encoder: encoder, into: &sink)
            } else {
                BytePairMerge.linear(buffer, encoder: encoder, into: &sink)
            }
        }
        return sink.ids
    }

    @Test func linearHeapAndReferenceAgreeOnRandomPieces() throws {
        let encoder = try #require(try Tokenizer.named("o200k_base").encoder as? BPEEncoder)
        var random = SeededGenerator(seed: 3)
        // Small alphabets make many merges and many equal-rank ties ("aaaa"); raw bytes exercise byte tokens.
        let alphabets: [[UInt8]] = [Array("ab".utf8), Array("etaoin shr".utf8), Array("漢字かな".utf8), Array(0...255)]
        for round in 0..<240 {
            let alphabet = alphabets[round % alphabets.count]
            let length = Int.random(in: 2...300, using: &random)
            let piece = (0..<length).map { _ in alphabet.randomElement(using: &random)! }
            let expected = Self.referenceMerge(piece) { encoder.tokenID(of: $0) }
            #expect(Self.merged(piece, encoder, heap: false) == expected, "linear, round \(round)")
            #expect(Self.merged(piece, encoder, heap: true) == expected, "heap, round \(round)")
        }
    }

    /// A synthetic vocabulary where ties decide the result: "aa" merges leftmost first, so "aaa" is aa|a.
    @Test func tiesMergeLeftmostFirst() throws {
        var lines: [String] = (0...255).map { "\(Base64.encode([UInt8($0)])) \($0)" }
        lines.append("\(Base64.encode(Array("aa".utf8))) 256")
        lines.append("\(Base64.encode(Array("aaaa".utf8))) 257")
        let encoder = try TiktokenFormat.parse(Array(lines.joined(separator: "\n").utf8), path: "synthetic")
        let a = TokenID(UInt8(ascii: "a"))
        for heap in [false, true] {
            #expect(Self.merged(Array("aaa".utf8), encoder, heap: heap) == [256, a])
            #expect(Self.merged(Array("aaaaa".utf8), encoder, heap: heap) == [257, a])
            #expect(Self.merged(Array("aaaaaa".utf8), encoder, heap: heap) == [257, 256])
        }
    }
}
