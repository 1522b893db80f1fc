import Foundation
import Testing
@testable import Tokc

/// Issue #29: every place `Tokenizer.cuts` allows must leave the ids unchanged. Each shipped vocabulary's text
/// (corpus, awkward and random) is cut at *every* allowed place at once, each part encoded alone (past the
/// dropped space, for SentencePiece's places), and the ids joined must be the whole text's; then the same text
/// streamed in tiny windows must count as the whole.
@Suite struct TextCutTests {
    /// Every shipped vocabulary.
    static let cuttable = [
        "unigram-multi-8k",
        "o200k_base", "cl100k_base", "r50k_base", "p50k_base", "o200k_harmony", "llama3", "llama4", "deepseek-v3",
        "mistral-v1", "bert-base-uncased", "ungreedy-multi-8k", "qwen2.5", "qwen3.5", "glm-4", "glm-4.7", "minimax-m3",
        "claude-legacy", "mistral-v3", "mistral-v7", "tekken", "gemma-4", "llama2", "command-r", "kimi-k2",
    ]

    /// The vocabularies, each loaded once for the suite.
    static let tokenizers = Locked([String: Tokenizer]())
    static func tokenizer(_ name: String) throws -> Tokenizer {
        if let loaded = tokenizers.withLock({ $0[name] }) { return loaded }
        let loaded = try Tokenizer.named(name)
        tokenizers.withLock { $0[name] = loaded }
        return loaded
    }

    /// Everything the patterns and normalisers treat specially next to spaces and line breaks.
    static let awkward: [UInt8] = {
        let pieces = [
            "a.\n/b", " \n\nB", "x \nY", "HELLO\nWORLD Wörld", "\n\u{301}a", "foo\r\nBar", "数\n字", "1\n2", "end.\n\n\n  Start",
            "\u{3000}\n\u{3000}x", "it's\n's", "tab\t\n\tTab", "Σ\nΣ ΟΔΟΣ\nσ", "\n\n\n", "ｶﾀｶﾅ\nｶﾅ", "👨‍👩‍👧\n👍🏽x",
            "a  b", "a \u{A0}b", "x\u{2581} y", "\u{2581}\u{2581} z", "ﬁ ﬂ", "¨ x", "a , b", "(x) [y]", "x\t y", "$ 5", "3 4",
            "don't 's", "日本 語", "\u{200B} a", "a \u{200B}b", "e\u{301} \u{301}e", "ÀÉ ÎÕ", "<s> x", "a\u{0} b", "x\r y",
        ]
        return Array(String(repeating: pieces.joined(separator: "|"), count: 6).utf8) + [0xFF, 0x20, 0x41, 0xC3, 0x20, 0x42]
    }()

    /// Texts that once defeated cutting schemes: long runs of spaces, no space at all, CRLF lines, a 5,000-letter word.
    static let adversarial: [(String, [UInt8])] = [
        ("runs of spaces", Array((0..<300).map { "w\($0)" + String(repeating: " ", count: $0 % 17) }.joined().utf8)),
        ("no spaces", Array(String(repeating: "Wordswithoutanyspace,andpunctuation.", count: 300).utf8)),
        ("CRLF", Array((0..<400).map { "Line \($0) of text.\r\n" }.joined().utf8)),
        ("a 5,000-letter word", Array(("before " + String(repeating: "abcdefghij", count: 500) + " after and more").utf8)),
        ("spaces then a word", Array((String(repeating: " ", count: 3_000) + "x " + String(repeating: " ", count: 3_000) + "y").utf8)),
    ]

    /// Random texts per vocabulary: 40, or `TOKC_CUT_FUZZ_ROUNDS` for a longer search.
    static let randomRounds = ProcessInfo.processInfo.environment["TOKC_CUT_FUZZ_ROUNDS"].flatMap { Int($0) } ?? 40

    /// The corpus's first `bytes` of each language, one after another.
    static func corpusText(_ bytes: Int) throws -> [UInt8] {
        try ["en", "de", "fr", "ja", "zh"].flatMap { language in
            try FileIO.readPrefix(Fixtures.repositoryRoot + "/Corpus/\(language).txt", count: bytes)
        }
    }

    /// Random text from pieces that sit next to cuts: words, spaces and tabs in runs, line breaks (CRLF too),
    /// symbols, digits, CJK, marks, `▁`, NBSP, ideographic space, apostrophes, emoji and ill-formed bytes.
    static func randomText(_ generator: inout some RandomNumberGenerator, length: Int) -> [UInt8] {
        let pieces: [[UInt8]] = [
            "word", "Word", "WORD", "x", "é", "ß", "Σ", "ς", "σ", "日本", "中", "カタ", "ｶ", "한", "٣", "12", "3", "'s", "'", ".", ",", "!",
            "(", ")", "/", "$", "-", "—", "…", " ", " ", " ", "  ", "\t", "\n", "\n", "\r\n", "\r", "\u{A0}", "\u{3000}", "\u{2581}",
            "\u{301}", "\u{200B}", "\u{85}", "\u{2028}", "👍", "🏽", "ﬁ", "¨", "ﾞ", "\u{0}",
        ].map { Array($0.utf8) } + [[0xFF], [0xC3], [0x80]]
        var text: [UInt8] = []
        while text.count < length { text += pieces[Int.random(in: 0..<pieces.count, using: &generator)] }
        return text
    }

    /// The ids of `text` cut at every place `tokenizer.cuts` allows, each part encoded alone (a Unigram model's
    /// going on from the path score of the parts before, as `TextStreamCounter` counts it), and how many cuts.
    static func idsCutEverywhere(_ tokenizer: Tokenizer, _ text: [UInt8]) -> (ids: [TokenID], cuts: Int) {
        let cuts = tokenizer.cuts(allowedSpecial: .none)
        var score = 0.0
        func encode(_ part: ArraySlice<UInt8>) -> [TokenID] {
            guard let unigram = tokenizer.encoder as? UnigramEncoder else { return tokenizer.encode(Array(part)) }
            var sink = IDSink(reservingCapacity: part.count)
            let normalized = Array(part).withUnsafeBufferPointer { tokenizer.normalizer.normalize($0, atTextStart: true) } ?? Array(part)
            normalized.withUnsafeBufferPointer { unigram.encode(piece: $0, continuing: &score, into: &sink) }
            return sink.ids
        }
        var ids: [TokenID] = []
        var start = 0
        var count = 0
        text.withUnsafeBufferPointer { bytes in
            for index in 1..<max(1, bytes.count) where index > start && cuts.allows(bytes, at: index) {
                ids += encode(text[start..<index])
                start = cuts.resume(after: index)
                count += 1
            }
        }
        ids += encode(text[start...])
        return (ids, count)
    }

    static func streamed(_ tokenizers: [Tokenizer], _ text: [UInt8], window: Int, threads: Int = 2) throws -> [Int] {
        let path = try Fixtures.writeScratch(text, name: "cut")
        return try TextStreamCounter(tokenizers: tokenizers, threads: threads, windowBytes: window).count(try ByteStream(path: path)).tokens
    }

    @Test(arguments: cuttable)
    func cuttingAtEveryPlaceKeepsTheIds(vocab: String) throws {
        let tokenizer = try Self.tokenizer(vocab)
        #expect(tokenizer.streams(allowedSpecial: .none))
        var texts: [(String, [UInt8])] = [("corpus", try Self.corpusText(6_000)), ("awkward", Self.awkward)] + Self.adversarial
        var generator = SeededGenerator(seed: 29)
        for round in 0..<Self.randomRounds { texts.append(("random \(round)", Self.randomText(&generator, length: 600))) }
        var totalCuts = 0
        for (label, text) in texts {
            let (ids, cuts) = Self.idsCutEverywhere(tokenizer, text)
            totalCuts += cuts
            let whole = tokenizer.encode(text)
            #expect(ids == whole, "\(vocab), \(label): \(cuts) cuts")
            if ids != whole { break }
        }
        // The places are real: every vocabulary finds many in this text (SentencePiece's only after ASCII, BERT's,
        // ungreedy's and Gemma 4's only at line starts).
        #expect(totalCuts > 500, "\(vocab): \(totalCuts) cuts")
    }

    @Test(arguments: cuttable)
    func streamingInTinyWindowsCountsAsTheWholeText(vocab: String) throws {
        let tokenizer = try Self.tokenizer(vocab)
        let texts = [("corpus", try Self.corpusText(20_000))] + Self.adversarial
        for (label, text) in texts {
            let whole = tokenizer.count(text)
            for window in [64, 1_000, 7_919] {
                #expect(try Self.streamed([tokenizer], text, window: window) == [whole], "\(vocab), \(label), window \(window)")
            }
        }
    }

    @Test func severalVocabulariesWithDifferentPlacesShareWindows() throws {
        // o200k cuts before a space and keeps it; mistral-v3 cuts there and drops it; gpt-2 cuts before any white
        // space: the windows end where all allow, each vocabulary resuming where its own rule says.
        let tokenizers = try ["o200k_base", "mistral-v3", "r50k_base", "gemma-4"].map { try Self.tokenizer($0) }
        let text = try Self.corpusText(8_000) + Self.awkward
        let wholes = tokenizers.map { $0.count(text) }
        for window in [100, 4_096] {
            #expect(try Self.streamed(tokenizers, text, window: window) == wholes, "window \(window)")
        }
        let sharing = try ["o200k_base", "r50k_base", "qwen3.5"].map { try Self.tokenizer($0) }
        #expect(try Self.streamed(sharing, text, window: 300) == sharing.map { $0.count(text) })
    }

    @Test func threadsCutAtTheNewPlacesToo() throws {
        // Parts of a text with no line break: only the places before spaces can share it among threads.
        let text = Array(String(repeating: "no line breaks here, only words and spaces; ", count: 400).utf8)
        for name in ["kimi-k2", "r50k_base", "qwen3.5", "deepseek-v3", "o200k_base"] {
            let tokenizer = try Self.tokenizer(name)
            let parts = text.withUnsafeBufferPointer { tokenizer.cutParts(of: $0, allowedSpecial: .none, threads: 2, partBytes: 500) }
            #expect(parts.count > 10, "\(name)")
            #expect(tokenizer.encode(text, threads: 2, partBytes: 500) == tokenizer.encode(text), "\(name)")
        }
        // SentencePiece's places drop a byte, so threads cut its normalised text instead (`wholeTextParts`).
        let mistral = try Self.tokenizer("mistral-v3")
        #expect(text.withUnsafeBufferPointer { mistral.cutParts(of: $0, allowedSpecial: .none, threads: 2, partBytes: 500) }.count == 1)
        #expect(mistral.encode(text, threads: 2, partBytes: 500) == mistral.encode(text))
    }

    /// The families the README lists, each vocabulary in one.
    @Test func whichPlacesEachFamilyAllows() throws {
        let o200kFamily = [
            "o200k_base", "cl100k_base", "o200k_harmony", "llama3", "llama4", "qwen2.5", "qwen3.5", "glm-4", "glm-4.7",
            "minimax-m3", "deepseek-v3", "kimi-k2", "tekken",
        ]
        for name in o200kFamily {
            #expect(try Self.tokenizer(name).cuts(allowedSpecial: .none) == TextCuts.beforeBlanksAfterWords.union(lineStarts: true), "\(name)")
        }
        let o200k = try Self.tokenizer("o200k_base").cuts(allowedSpecial: .none)
        #expect(o200k.lineStarts && o200k.beforeWhiteSpace == [0x20, 0x09] && !o200k.dropsSpace)
        for name in ["r50k_base", "p50k_base", "claude-legacy", "command-r"] {
            let gpt2 = try Self.tokenizer(name).cuts(allowedSpecial: .none)
            #expect(gpt2 == .beforeWhiteSpaceAfterWords, "\(name)")
            #expect(!gpt2.lineStarts && gpt2.beforeWhiteSpace == .whiteSpace, "\(name)")
        }
        for name in ["gemma-4", "bert-base-uncased", "ungreedy-multi-8k"] {
            #expect(try Self.tokenizer(name).cuts(allowedSpecial: .none) == .lineStartsOnly, "\(name)")
        }
        #expect(Set(o200kFamily + ["r50k_base", "p50k_base", "claude-legacy", "command-r", "gemma-4", "bert-base-uncased",
                                   "ungreedy-multi-8k", "mistral-v1", "mistral-v3", "mistral-v7", "llama2", "unigram-multi-8k"]) == Set(Self.cuttable))
        for name in ["mistral-v1", "mistral-v3", "mistral-v7", "llama2", "unigram-multi-8k"] {
            let sentencePiece = try Self.tokenizer(name).cuts(allowedSpecial: .none)
            #expect(sentencePiece.dropsSpace && sentencePiece.beforeWhiteSpace == [0x20] && !sentencePiece.lineStarts, "\(name)")
            #expect(sentencePiece.afterASCII.contains(UInt8(ascii: "a")) && sentencePiece.afterASCII.contains(UInt8(ascii: ".")), "\(name)")
        }
        let gemma = try Self.tokenizer("gemma-4").cuts(allowedSpecial: .none)
        #expect(gemma.lineStarts && gemma.beforeWhiteSpace.isEmpty)
        // A special token with a space in it, when specials are matched, takes the places before spaces away.
        let kimi = try Self.tokenizer("kimi-k2")
        #expect(kimi.cuts(allowedSpecial: .none).beforeWhiteSpace.contains(0x20))
        let withSpecials = kimi.cuts(allowedSpecial: .all)
        let spaced = kimi.specialTokens.all.contains { $0.text.utf8.contains(0x20) }
        #expect(withSpecials.beforeWhiteSpace.contains(0x20) == !spaced)
    }

    @Test func aPipelineWithoutPlacesIsHeldWholeAndCountedExactly() throws {
        // A pattern of the user's: tokc cannot tell where it may be cut, so the input is held whole (as counting
        // it at once does), and the count is exact.
        let o200k = try Self.tokenizer("o200k_base")
        let own = Tokenizer(name: "own", preTokenizer: try RegexPreTokenizer(pattern: #"\S+\s?|\s"#), encoder: o200k.encoder)
        #expect(!own.streams(allowedSpecial: .none))
        let text = try Self.corpusText(5_000)
        #expect(try Self.streamed([own], text, window: 256) == [own.count(text)])
        // With a vocabulary that streams, the windows cut nowhere and both count exactly.
        #expect(try Self.streamed([own, o200k], text, window: 256) == [own.count(text), o200k.count(text)])
    }

    @Test func aUnigramModelCarriesItsScoreAcrossParts() throws {
        // Parts encoded from a score of 0 would add in Float from another base than the whole lattice; carried,
        // each sum is the whole's. A long text whose running score passes sentencepiece's rebase threshold.
        let unigram = try Self.tokenizer("unigram-multi-8k")
        let text = try Self.corpusText(60_000)
        #expect(Self.idsCutEverywhere(unigram, text).ids == unigram.encode(text))
        #expect(try Self.streamed([unigram], text, window: 2_000) == [unigram.count(text)])
        // Special tokens matched in the text would start the score again at each: no place then.
        #expect(!unigram.specialTokens.isEmpty && !unigram.streams(allowedSpecial: .all))
    }
}
