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

    enum Merge { case linear, heap, long }

    static func merged(_ piece: [UInt8], _ encoder: BPEEncoder, _ merge: Merge) -> [TokenID] {
        var sink = Collector()
        piece.withUnsafeBufferPointer { buffer in
            switch merge {
            case .linear: BytePairMerge.linear(buffer, encoder: encoder, into: &sink)
            case .heap: BytePairMerge.heap(buffer, encoder: encoder, into: &sink)
            case .long: BytePairMerge.long(buffer, encoder: encoder, into: &sink)
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
            #expect(Self.merged(piece, encoder, .linear) == expected, "linear, round \(round)")
            #expect(Self.merged(piece, encoder, .heap) == expected, "heap, round \(round)")
            #expect(Self.merged(piece, encoder, .long) == expected, "long, round \(round)")
        }
    }

    /// The merge memo answers exactly what the merge gives, when pieces recur, when two vocabularies take
    /// turns on one thread (an entry of one must never answer for the other), and when pieces of the same
    /// length and first 8 bytes differ only further on.
    @Test func mergeMemoAnswersAsTheMergeDoes() throws {
        let encoders = try ["o200k_base", "cl100k_base"].map { try #require(try Tokenizer.named($0).encoder as? BPEEncoder) }
        var random = SeededGenerator(seed: 11)
        let alphabets: [[UInt8]] = [Array("ab".utf8), Array("etaoinshrdlu".utf8), Array("äöüßÄÖÜéèêç".utf8), Array(0...255)]
        // A small pool of pieces drawn again and again, so most encodes after the first hit the memo.
        var pool: [[UInt8]] = []
        for round in 0..<400 {
            let alphabet = alphabets[round % alphabets.count]
            pool.append((0..<Int.random(in: 2...MergeMemo.maxPieceLength, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
        }
        pool.append(Array("abcdefghXYZ".utf8))
        pool.append(Array("abcdefghXYW".utf8))
        var hits = 0
        for round in 0..<6_000 {
            let piece = pool[round < pool.count ? round : Int.random(in: 0..<pool.count, using: &random)]
            let encoder = encoders[Int.random(in: 0...1, using: &random)]
            var memoized = Collector()
            piece.withUnsafeBufferPointer { buffer in
                if encoder.tokenID(of: piece) == nil {
                    let entry = ScratchSpace.mergeMemo + MergeMemo.key(buffer).index
                    if entry.pointee.owner == encoder.table.serial { hits += 1 }
                }
                encoder.encode(piece: buffer, into: &memoized)
            }
            let expected = encoder.tokenID(of: piece).map { [$0] } ?? Self.merged(piece, encoder, .linear)
            guard memoized.ids == expected else {
                Issue.record("round \(round): \(piece) gave \(memoized.ids), the merge \(expected)")
                return
            }
        }
        // The memo was exercised, not bypassed: most repeated pieces found an entry of their own vocabulary.
        #expect(hits > 2_000)
    }

    /// A synthetic vocabulary where ties decide the result: "aa" merges leftmost first, so "aaa" is aa|a.
    @Test func tiesMergeLeftmostFirst() throws {
        var lines: [String] = (0...255).map { "\(Base64.encode([UInt8($0)])) \($0)" }
        lines.append("\(Base64.encode(Array("aa".utf8))) 256")
        lines.append("\(Base64.encode(Array("aaaa".utf8))) 257")
        let encoder = try TiktokenFormat.parse(Array(lines.joined(separator: "\n").utf8), path: "synthetic")
        let a = TokenID(UInt8(ascii: "a"))
        for merge in [Merge.linear, .heap, .long] {
            #expect(Self.merged(Array("aaa".utf8), encoder, merge) == [256, a])
            #expect(Self.merged(Array("aaaaa".utf8), encoder, merge) == [257, a])
            #expect(Self.merged(Array("aaaaaa".utf8), encoder, merge) == [257, 256])
        }
    }

    // MARK: - Starting from whole characters

    /// The same vocabulary with every long merge starting from bytes: what `WholeCharacters` must agree with.
    static func byteStarting(_ encoder: BPEEncoder) throws -> BPEEncoder {
        try #require(BPEEncoder(table: encoder.table, startingFromWholeCharacters: false))
    }

    /// Random pieces built from characters whose neighbours make starting whole unsafe or safe: kana and
    /// kanji, a space before them (tokens " \xE5" and the like), Georgian, Devanagari and Hangul (byte tokens
    /// that overlap three-byte characters), stray continuation bytes and lone lead bytes, ASCII.
    @Test(arguments: ["o200k_base", "cl100k_base"])
    func wholeCharacterStartMatchesBytesAndReference(vocabulary: String) throws {
        let encoder = try #require(try Tokenizer.named(vocabulary).encoder as? BPEEncoder)
        let bytesOnly = try Self.byteStarting(encoder)
        let units: [[UInt8]] = ["の", "は", "日", "本", "語", "漢", "字", "京", "東", "ア", "ｱ", "。", "、", "ა", "ქ", "क", "한", "€", " ", "a", "\n"]
            .map { Array($0.utf8) } + [[0x80], [0xAE], [0xE3], [0xE5, 0xA4], [0xE3, 0x81]]
        var random = SeededGenerator(seed: 41)
        for round in 0..<400 {
            var piece: [UInt8] = []
            let length = Int.random(in: 6...120, using: &random)
            while piece.count < length { piece += units.randomElement(using: &random)! }
            let expected = Self.referenceMerge(piece) { encoder.tokenID(of: $0) }
            #expect(Self.merged(piece, bytesOnly, .heap) == expected, "\(vocabulary) bytes-only, round \(round)")
            #expect(Self.merged(piece, encoder, .heap) == expected, "\(vocabulary) whole characters, round \(round)")
            #expect(Self.merged(piece, encoder, .long) == expected, "\(vocabulary) whole characters, long, round \(round)")
        }
    }

    /// Every long piece of the held-out Japanese and Chinese text gives the same ids either way, and through
    /// `long` (skipped, saying so, without the shipped corpus).
    @Test(arguments: ["o200k_base", "cl100k_base"])
    func wholeCharacterStartMatchesBytesOnCorpus(vocabulary: String) throws {
        guard let split = EvaluationCorpus.shippedFolder.map({ $0 + "/split" }) else {
            print("skipped: no shipped Corpus/ folder found")
            return
        }
        let tokenizer = try Tokenizer.named(vocabulary)
        let encoder = try #require(tokenizer.encoder as? BPEEncoder)
        let bytesOnly = try Self.byteStarting(encoder)
        var pieces = 0
        for language in ["ja", "zh"] {
            let text = try FileIO.readAll(split + "/" + language + ".heldout.txt")
            text.withUnsafeBufferPointer { buffer in
                tokenizer.preTokenizer.forEachPiece(in: buffer) { piece in
                    guard piece.count > BPEEncoder.linearMergeLimit else { return }
                    pieces += 1
                    var whole = Collector(), long = Collector(), bytes = Collector()
                    BytePairMerge.heap(piece, encoder: encoder, into: &whole)
                    BytePairMerge.long(piece, encoder: encoder, into: &long)
                    BytePairMerge.heap(piece, encoder: bytesOnly, into: &bytes)
                    #expect(whole.ids == bytes.ids, "\(vocabulary) \(language): \(Array(piece))")
                    #expect(long.ids == bytes.ids, "\(vocabulary) \(language), long: \(Array(piece))")
                }
            }
        }
        #expect(pieces > 10_000)
    }

    /// A vocabulary where a low-ranked token ends with the lead byte of 日 after a space: 日 may not start whole
    /// after a space (the space and its lead byte merge first), but may elsewhere.
    @Test func wholeCharacterRespectsOverlappingTokens() throws {
        let day = Array("日".utf8)  // E6 97 A5
        var lines: [String] = (0...255).map { "\(Base64.encode([UInt8($0)])) \($0)" }
        lines.append("\(Base64.encode([0x20, day[0]])) 256")  // " \xE6", below 日's own merges
        lines.append("\(Base64.encode([day[0], day[1]])) 257")
        lines.append("\(Base64.encode(day)) 258")
        let encoder = try TiktokenFormat.parse(Array(lines.joined(separator: "\n").utf8), path: "synthetic")
        let whole = try #require(encoder.wholeCharacters?.value)
        #expect(whole.rank(day[0], day[1], day[2], before: nil, after: nil) == 258)
        #expect(whole.rank(day[0], day[1], day[2], before: UInt8(ascii: "a"), after: UInt8(ascii: "a")) == 258)
        #expect(whole.rank(day[0], day[1], day[2], before: 0x20, after: nil) == nil)
        for text in ["a日日a", " 日日", "日 日", "  日"] {
            let piece = Array(text.utf8) + Array(repeating: UInt8(ascii: "a"), count: 20)
            let expected = Self.referenceMerge(piece) { encoder.tokenID(of: $0) }
            #expect(Self.merged(piece, encoder, .heap) == expected, "\(text)")
        }
        // " 日" merges " \xE6" (256) first, so 日 never forms there: [256, 0x97, 0xA5].
        #expect(Self.merged(Array(" 日".utf8) + Array(repeating: 0x61, count: 20), encoder, .heap).prefix(3) == [256, 0x97, 0xA5])
        // Elsewhere it forms: "a日" + a's is [a, 日, a, ...].
        #expect(Self.merged(Array("a日".utf8) + Array(repeating: 0x61, count: 20), encoder, .heap).prefix(3) == [0x61, 258, 0x61])
    }
}

