import Testing
@testable import Tokc

/// `MergeCuts`: no token spans a cut, and a long piece encoded in stretches gives the ids of the uncut merge.
@Suite struct MergeCutsTests {
    typealias Collector = BytePairMergeTests.Collector

    static func cuts(in piece: UnsafeBufferPointer<UInt8>, _ cuts: MergeCuts) -> [Int] {
        var found: [Int] = []
        var at = cuts.nextCut(in: piece, after: 0)
        while at < piece.count {
            found.append(at)
            at = cuts.nextCut(in: piece, after: at)
        }
        return found
    }

    static func encoded(_ piece: UnsafeBufferPointer<UInt8>, _ encoder: BPEEncoder) -> (cut: [TokenID], uncut: [TokenID]) {
        var cut = Collector(), uncut = Collector()
        encoder.encode(piece: piece, into: &cut)
        if let id = encoder.table.id(of: piece.baseAddress!, count: piece.count) {
            uncut.append(id)
        } else {
            BytePairMerge.long(piece, encoder: encoder, into: &uncut)
        }
        return (cut.ids, uncut.ids)
    }

    /// Every long piece of the held-out Japanese and Chinese text: no token is a run of the piece's bytes
    /// across any cut (checked by looking up every such run), and the ids cut and uncut agree (skipped, saying
    /// so, without the shipped corpus).
    @Test(arguments: ["o200k_base", "cl100k_base", "qwen2.5", "llama4", "glm-4", "kimi-k2"])
    func noTokenSpansACutOnCorpus(vocabulary: String) throws {
        guard let split = EvaluationCorpus.shippedFolder.map({ $0 + "/split" }) else {
            print("skipped: no shipped Corpus/ folder found")
            return
        }
        let tokenizer = try Tokenizer.named(vocabulary)
        let encoder = try #require(tokenizer.encoder as? BPEEncoder)
        let cuts = encoder.mergeCuts.value
        var longest = 0
        encoder.table.forEachToken { _, bytes in longest = max(longest, bytes.count) }
        var (pieces, cutCount) = (0, 0)
        for language in ["ja", "zh"] {
            let raw = try FileIO.readAll(split + "/" + language + ".heldout.txt")
            let text = raw.withUnsafeBufferPointer { tokenizer.normalizer.normalize($0) } ?? raw
            text.withUnsafeBufferPointer { buffer in
                tokenizer.preTokenizer.forEachPiece(in: buffer) { piece in
                    guard piece.count > MergeMemo.maxPieceLength else { return }
                    pieces += 1
                    let base = piece.baseAddress!
                    for cut in Self.cuts(in: piece, cuts) {
                        cutCount += 1
                        for start in max(0, cut + 1 - longest)..<cut {
                            for end in (cut + 1)...min(piece.count, start + longest) where encoder.table.id(of: base + start, count: end - start) != nil {
                                Issue.record("\(vocabulary) \(language): token \(Array(piece[start..<end])) spans the cut at \(cut) of \(Array(piece))")
                            }
                        }
                    }
                    let (cut, uncut) = Self.encoded(piece, encoder)
                    #expect(cut == uncut, "\(vocabulary) \(language): \(Array(piece))")
                }
            }
        }
        #expect(pieces > 8_000)
        #expect(cutCount > 20_000)
    }

    /// Every token that holds bytes on both sides of a boundary between two three-byte characters, whole or
    /// from inside one of them, keeps a piece of those six bytes uncut there (the bytes the token does not
    /// fix are filled in with those of の).
    @Test(arguments: ["o200k_base", "cl100k_base", "qwen2.5", "llama4", "kimi-k2"])
    func everySpanningTokenBlocksItsCut(vocabulary: String) throws {
        let encoder = try #require(try Tokenizer.named(vocabulary).encoder as? BPEEncoder)
        let cuts = encoder.mergeCuts.value
        let filler = Array("の".utf8)  // E3 81 AE
        var checked = 0
        encoder.table.forEachToken { _, token in
            for at in 1..<max(token.count, 1) where token[at] & 0xF0 == 0xE0 && token[at - 1] & 0xC0 == 0x80 {
                var window = filler + filler
                for offset in -min(at, 3)..<min(token.count - at, 3) { window[3 + offset] = token[at + offset] }
                guard window[0] & 0xF0 == 0xE0, window[1] & 0xC0 == 0x80, window[2] & 0xC0 == 0x80,
                      window[4] & 0xC0 == 0x80, window[5] & 0xC0 == 0x80 else { continue }
                checked += 1
                window.withUnsafeBufferPointer { piece in
                    #expect(cuts.nextCut(in: piece, after: 0) == 6, "\(vocabulary): token \(Array(token)) at \(at)")
                }
            }
        }
        #expect(checked > 500)
    }

    /// Random pieces of kana, kanji, punctuation, Hangul (whose byte tokens overlap three-byte characters),
    /// stray continuation bytes, lone lead bytes and ASCII: cut, uncut and tiktoken's rule written plainly agree.
    @Test(arguments: ["o200k_base", "qwen2.5", "glm-4"])
    func randomPiecesMergeAsUncut(vocabulary: String) throws {
        let encoder = try #require(try Tokenizer.named(vocabulary).encoder as? BPEEncoder)
        let units: [[UInt8]] = ["の", "は", "し", "た", "て", "い", "る", "日", "本", "語", "東", "京", "ア", "ー", "。", "、", "「", "中", "国", "们", "한", "국", "a", " "]
            .map { Array($0.utf8) } + [[0x80], [0xAE], [0xE3], [0xE3, 0x81], [0xED]]
        var random = SeededGenerator(seed: 29)
        var cutPieces = 0
        for round in 0..<400 {
            var piece: [UInt8] = []
            let length = Int.random(in: 17...120, using: &random)
            while piece.count < length { piece += units.randomElement(using: &random)! }
            let expected = BytePairMergeTests.referenceMerge(piece) { encoder.tokenID(of: $0) }
            piece.withUnsafeBufferPointer { buffer in
                if !Self.cuts(in: buffer, encoder.mergeCuts.value).isEmpty { cutPieces += 1 }
                let (cut, uncut) = Self.encoded(buffer, encoder)
                #expect(cut == expected, "\(vocabulary) cut, round \(round): \(piece)")
                #expect(uncut == expected, "\(vocabulary) uncut, round \(round): \(piece)")
            }
        }
        #expect(cutPieces > 200)
    }

    /// A synthetic vocabulary with 日 and 本 built from their bytes, and one token that spans the boundary of 日本
    /// in each way a token can: holding both characters, starting inside 日, ending inside 本. Each keeps 日|本
    /// uncut; 本|日 is cut; the ids are those of tiktoken's rule.
    @Test func spanningTokensOfEveryShapeBlockTheCut() throws {
        let day = Array("日".utf8), book = Array("本".utf8)  // E6 97 A5, E6 9C AC
        let spanning: [[UInt8]] = [day + book, [day[2], book[0]], [day[1], day[2], book[0], book[1]], day + [book[0]], day + [book[0], book[1]]]
        let piece = Array(repeating: day + book, count: 3).flatMap { $0 }  // 18 bytes
        for token in spanning {
            var lines: [String] = (0...255).map { "\(Base64.encode([UInt8($0)])) \($0)" }
            // The spanning token ranks first, so it forms wherever it can.
            for (offset, bytes) in [token, [day[0], day[1]], day, [book[0], book[1]], book].enumerated() {
                lines.append("\(Base64.encode(bytes)) \(256 + offset)")
            }
            let encoder = try TiktokenFormat.parse(Array(lines.joined(separator: "\n").utf8), path: "synthetic")
            let cuts = encoder.mergeCuts.value
            piece.withUnsafeBufferPointer { buffer in
                #expect(Self.cuts(in: buffer, cuts) == [6, 12], "token \(token)")
                let expected = BytePairMergeTests.referenceMerge(piece) { encoder.tokenID(of: $0) }
                #expect(Self.encoded(buffer, encoder).cut == expected, "token \(token)")
            }
        }
        // Without a spanning token every boundary between the characters is cut.
        var lines: [String] = (0...255).map { "\(Base64.encode([UInt8($0)])) \($0)" }
        for (offset, bytes) in [[day[0], day[1]], day, [book[0], book[1]], book].enumerated() {
            lines.append("\(Base64.encode(bytes)) \(256 + offset)")
        }
        let encoder = try TiktokenFormat.parse(Array(lines.joined(separator: "\n").utf8), path: "synthetic")
        piece.withUnsafeBufferPointer { buffer in
            #expect(Self.cuts(in: buffer, encoder.mergeCuts.value) == [3, 6, 9, 12, 15])
            #expect(Self.encoded(buffer, encoder).cut == [257, 259, 257, 259, 257, 259])
        }
    }

    /// A stretch that is a token is merged, not looked up: here 日本 is a token that no merge reaches (the token
    /// A5 E6 across 日|本 ranks first and takes 日's last byte), so each stretch 日本 of 日本日本日本 (cut at 本|日)
    /// is [E6 97, A5 E6, 9C, AC], as the whole piece merges, not 日本.
    @Test func aStretchThatIsATokenIsMergedNotLookedUp() throws {
        let day = Array("日".utf8), book = Array("本".utf8)  // E6 97 A5, E6 9C AC
        var lines: [String] = (0...255).map { "\(Base64.encode([UInt8($0)])) \($0)" }
        for (offset, bytes) in [[day[2], book[0]], [day[0], day[1]], day, [book[0], book[1]], book, day + book].enumerated() {
            lines.append("\(Base64.encode(bytes)) \(256 + offset)")
        }
        let encoder = try TiktokenFormat.parse(Array(lines.joined(separator: "\n").utf8), path: "synthetic")
        let piece = Array(repeating: day + book, count: 3).flatMap { $0 }
        let expected = BytePairMergeTests.referenceMerge(piece) { encoder.tokenID(of: $0) }
        #expect(expected == Array(repeating: [257, 256, 0x9C, 0xAC], count: 3).flatMap { $0 })
        piece.withUnsafeBufferPointer { buffer in
            #expect(Self.cuts(in: buffer, encoder.mergeCuts.value) == [6, 12])
            #expect(Self.encoded(buffer, encoder).cut == expected)
        }
    }
}
