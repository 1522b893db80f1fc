import Testing
@testable import Tokc

/// `WordPieceEncoder.encodeBert` (normaliser, split and WordPiece in one pass) against the three run in turn,
/// which the fixtures and Hugging Face's ids check (`WordPieceTests`).
@Suite struct BertFusedEncodingTests {
    /// The four settings the fused loop runs (clean-up and CJK spacing on; accents and case either way).
    static let normalizers = [
        BertNormalizer(stripAccents: true, lowercase: true), BertNormalizer(stripAccents: false, lowercase: false),
        BertNormalizer(stripAccents: true, lowercase: false), BertNormalizer(stripAccents: false, lowercase: true),
    ]

    /// The pipeline's general path: the normalised copy, `BertPreTokenizer`, then the encoder piece by piece.
    static func general(_ bytes: [UInt8], _ normalizer: BertNormalizer, _ encoder: WordPieceEncoder) -> [TokenID] {
        var sink = IDSink()
        bytes.withUnsafeBufferPointer { text in
            let normalized = normalizer.normalize(text) ?? Array(text)
            normalized.withUnsafeBufferPointer { BertPreTokenizer().forEachPiece(in: $0) { encoder.encode(piece: $0, into: &sink) } }
        }
        return sink.ids
    }

    static func fused(_ bytes: [UInt8], _ normalizer: BertNormalizer, _ encoder: WordPieceEncoder) -> [TokenID] {
        var sink = IDSink()
        let map = BertCharacterMap.forNormalizer(normalizer)!
        bytes.withUnsafeBufferPointer { encoder.encodeBert($0, map: map, into: &sink) }
        return sink.ids
    }

    static func bertEncoder() throws -> WordPieceEncoder {
        try #require(try Tokenizer.named("bert-base-uncased").encoder as? WordPieceEncoder)
    }

    /// The blocks filled without the normaliser (CJK ideographs, Hangul syllables) equal the normaliser's
    /// answer at every code point, for each setting.
    @Test func characterMapShortcutsEqualTheNormalizer() {
        let blocks = Array(0x34...0x4D) + Array(0x4E...0x9F) + Array(0xAC...0xD7)
        for normalizer in Self.normalizers {
            for block in blocks {
                let quick = BertCharacterMap.buildBlock(block, normalizer: normalizer, shortcuts: true)
                let asked = BertCharacterMap.buildBlock(block, normalizer: normalizer, shortcuts: false)
                defer {
                    quick.deallocate()
                    asked.deallocate()
                }
                for offset in 0..<256 where quick[offset] != asked[offset] {
                    Issue.record("U+\(String(block << 8 | offset, radix: 16)): \(quick[offset]) != \(asked[offset])")
                    return
                }
                // Equal entries name equal pool offsets; the pools' bytes must agree too.
                let poolBytes = (0..<256).reduce(0) { total, offset in
                    quick[offset] & 15 == 0 ? max(total, Int(quick[offset] >> 12) + Int((quick[offset] >> 4) & 15)) : total
                }
                let quickPool = UnsafeRawPointer(quick + 256).assumingMemoryBound(to: UInt8.self)
                let askedPool = UnsafeRawPointer(asked + 256).assumingMemoryBound(to: UInt8.self)
                #expect(Array(UnsafeBufferPointer(start: quickPool, count: poolBytes)) == Array(UnsafeBufferPointer(start: askedPool, count: poolBytes)))
            }
        }
    }

    /// Every code point in the contexts of `everyCodePointAsHuggingFace` (between letters, alone, uppercased,
    /// after an accent): the same ids fused as through the pipeline, uncased and cased (the other two settings
    /// mix the same steps; the random texts below cover them).
    @Test func everyCodePointFusedAsThePipeline() throws {
        let encoder = try Self.bertEncoder()
        let lines = PythonReference.everyCodePoint().map { Array($0.utf8) }
        for normalizer in Self.normalizers.prefix(2) {
            let differing = lines.filter { Self.fused($0, normalizer, encoder) != Self.general($0, normalizer, encoder) }
            #expect(differing.isEmpty, "\(differing.count) lines differ, the first: \(differing.first.map { String(decoding: $0.prefix(60), as: UTF8.self).debugDescription } ?? "")")
        }
    }

    /// Random text from the characters that take each branch (ASCII of every class, controls, accents and
    /// combining marks that reorder, marks newer than Unicode 8.0, CJK and compatibility ideographs, kana,
    /// Hangul, white space, format characters, emoji, ill-formed bytes, words past 100 characters): the same
    /// ids fused as through the pipeline, for each setting.
    @Test func randomTextFusedAsThePipeline() throws {
        let encoder = try Self.bertEncoder()
        let pieces: [[UInt8]] = [
            "a", "Z", "q", "7", " ", "  ", "\t", "\n", "\r\n", ".", ",", "$", "'", "-", "#", "é", "É", "ß", "ẞ", "İ", "Σ", "ς",
            "\u{0301}", "\u{0316}", "\u{0345}", "\u{05B0}", "\u{0F73}", "\u{1DFA}", "\u{1AC1}", "\u{0E31}", "\u{0903}",
            "\u{1D165}", "\u{1D16D}", "ǅ", "ﬁ", "Å", "Ω", "日", "本", "中", "\u{F900}", "\u{FA6D}", "\u{2F800}", "\u{20000}",
            "が", "カ", "ー", "。", "、", "「", "한", "국", "ᄀ", "\u{00A0}", "\u{3000}", "\u{2028}", "\u{200B}", "\u{FEFF}",
            "\u{00AD}", "\u{FFFD}", "\u{E000}", "😀", "👍🏽", "\u{0000}", "\u{0001}", "\u{000B}", "\u{000C}", "\u{007F}",
            "\u{0085}", "Ա", "ա", "Ꭰ", "ꭰ", "\u{10400}", "Ǆ", "ǰ", "ΐ", "\u{1E9B}\u{0323}", "ﾃ", "Ａ", "…", "—", "¿", "¡",
            "\u{037E}", "\u{0387}", "\u{2126}", "\u{212B}", "\u{1F82}", "\u{0344}",
        ].map { Array($0.utf8) } + [[0x80], [0xFF], [0xC3], [0xE6, 0x97], [0xED, 0xA0, 0x80], [0xF0, 0x9F], [0xC0, 0xAF]]
        var generator = SystemRandomNumberGenerator()
        var texts: [[UInt8]] = []
        for _ in 0..<3000 {
            var text: [UInt8] = []
            for _ in 0..<Int.random(in: 0...40, using: &generator) {
                if Int.random(in: 0..<60, using: &generator) == 0 {
                    // A word near or past the 100-character limit.
                    let piece = pieces[Int.random(in: 0..<pieces.count, using: &generator)]
                    text += Array(repeating: Array("ab".utf8), count: Int.random(in: 45...55, using: &generator)).joined() + piece
                } else {
                    text += pieces[Int.random(in: 0..<pieces.count, using: &generator)]
                }
            }
            texts.append(text)
        }
        for normalizer in Self.normalizers {
            for text in texts {
                let fused = Self.fused(text, normalizer, encoder)
                let general = Self.general(text, normalizer, encoder)
                #expect(fused == general, "\(text)")
                if fused != general { return }
            }
        }
    }

    /// The tokenizer runs the fused loop for BERT's pipeline: its ids are the pipeline's on mixed text.
    @Test func tokenizerTakesTheFusedLoop() throws {
        let tokenizer = try Tokenizer.named("bert-base-uncased")
        let encoder = try Self.bertEncoder()
        let text = Array("Héllo, WORLD! 日本語のテキストです。 Ünïcödé naïve café — 한국어 😀 x\u{0301}\u{0316}y".utf8)
        #expect(tokenizer.encode(text) == Self.general(text, BertNormalizer(), encoder))
        #expect(tokenizer.count(text) == Self.general(text, BertNormalizer(), encoder).count)
    }
}
