import Testing
@testable import Tokc

@Suite struct RegexPreTokenizerTests {
    static func pieces(_ input: [UInt8], _ preTokenizer: some PreTokenizer) -> [[UInt8]] {
        var result: [[UInt8]] = []
        input.withUnsafeBufferPointer { buffer in
            preTokenizer.forEachPiece(in: buffer) { result.append(Array($0)) }
        }
        return result
    }

    static func pieces(_ text: String, _ preTokenizer: some PreTokenizer) -> [String] {
        pieces(Array(text.utf8), preTokenizer).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func o200kSplitsAsTiktoken() throws {
        let o200k = try RegexPreTokenizer(.o200k)
        #expect(Self.pieces("Hello world", o200k) == ["Hello", " world"])
        #expect(Self.pieces("I'm HTTPResponse's  x\r\n\r\n  y", o200k) == ["I'm", " HTTPResponse's", " ", " x", "\r\n\r\n", " ", " y"])
        #expect(Self.pieces("12345 /path//x", o200k) == ["123", "45", " /", "path", "//", "x"])
        #expect(Self.pieces("東京タワーは", o200k) == ["東京タワーは"])
    }

    /// Letters, digits and marks Unicode 15.0–16.0 assigned are unassigned to PCRE2 10.42 (Unicode 14.0): the
    /// patterns are widened (`UnicodeCatchUp`) so the pieces are those of tiktoken 0.14 and tokenizers 0.23,
    /// which know 16.0 (and not yet 17.0).
    @Test func unicode16CategoriesAsTheReferences() throws {
        let llama3 = try RegexPreTokenizer(.llama3)
        #expect(Self.pieces(" зависимости\u{13735}", llama3) == [" зависимости\u{13735}"])  // Egyptian Ext-A, 16.0
        let o200k = try RegexPreTokenizer(.o200k)
        #expect(Self.pieces("\u{2EBF0}'s", o200k) == ["\u{2EBF0}'s"])  // CJK Extension I, 15.1: a word and its 's
        #expect(Self.pieces("\u{323B0}'s", o200k) == ["\u{323B0}'", "s"])  // CJK Extension J, 17.0: not a letter there
        #expect(Self.pieces("\u{11F50}\u{11F51}\u{11F52}\u{11F53}", o200k) == ["\u{11F50}\u{11F51}\u{11F52}", "\u{11F53}"])  // Kawi digits
        // Hugging Face tokenizers 0.23 on llama3's tokenizer.json.
        #expect(try Tokenizer.named("llama3").encode(" зависимости\u{13735}") == [93323, 13810, 116776, 172, 241, 250, 113])
        // Negated and bracketed forms widen too; other escapes pass through.
        #expect(RegexPreTokenizer.pcre2Dialect(of: #"\P{N}[^\p{Lo}x]\pM\p{Greek}"#).hasPrefix(#"[^\p{N}\x{"#))
        #expect(RegexPreTokenizer.pcre2Dialect(of: #"\p{Greek}\d"#) == #"\p{Greek}\d"#)
    }

    /// The one-pass scan finds the end of the well-formed run as `UTF8Scan.wellFormedEnd` does, and a listed
    /// code point exactly when one is in the run: random texts of listed characters (with two- to four-byte
    /// leads, E0 and E1–EF among them), their unlisted neighbours, CJK, ASCII and ill-formed sequences.
    @Test func wellFormedRunFindsTheEndAndTheAdditions() {
        let listed = Set(UnicodeCatchUp.assignedSince14.filter { !$0.key.hasPrefix("C") }.values.joined().joined())
        let units: [[UInt8]] = ["\u{897}", "\u{896}", "\u{CF3}", "\u{CF2}", "\u{1C89}", "\u{1C88}", "\u{2FFC}", "\u{2FFB}",
                                "\u{31EF}", "\u{31EE}", "\u{A7CB}", "\u{A7CA}", "\u{13735}", "\u{2EBF0}", "\u{11F50}",
                                "\u{323B0}", "\u{1F642}", "日本", "日本語のテキスト", "ab ", "é", "abcdefghij"].map { Array($0.utf8) }
            + [[0xFF], [0xE3, 0x81], [0xED, 0xA0, 0x80], [0xE0, 0x80, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC3]]
        var random = SeededGenerator(seed: 17)
        var seen = (holding: 0, clean: 0)
        for round in 0..<3000 {
            let text = Array((0..<Int.random(in: 1...12, using: &random)).map { _ in units.randomElement(using: &random)! }.joined())
            text.withUnsafeBufferPointer { buffer in
                var start = 0
                while start < buffer.count {
                    let expectedEnd = UTF8Scan.wellFormedEnd(in: buffer, from: start)
                    let run = String(decoding: buffer[start..<expectedEnd], as: UTF8.self)
                    let expectedHolds = run.unicodeScalars.contains { listed.contains($0.value) }
                    let (end, holds) = UnicodeCatchUp.wellFormedRun(in: buffer, from: start)
                    #expect(end == expectedEnd && holds == expectedHolds, "round \(round): \(text) from \(start)")
                    if expectedHolds { seen.holding += 1 } else { seen.clean += 1 }
                    start = max(UTF8Scan.illFormedEnd(in: buffer, from: expectedEnd), expectedEnd + 1)
                }
            }
        }
        // Both answers occur often enough to mean something.
        #expect(seen.holding > 1000 && seen.clean > 1000)
    }

    @Test func cl100kSplitsAsTiktoken() throws {
        let cl100k = try RegexPreTokenizer(.cl100k)
        #expect(Self.pieces("I'm   there  ", cl100k) == ["I", "'m", "  ", " there", "  "])
        #expect(Self.pieces("a\r\n\r\nb", cl100k) == ["a", "\r\n\r\n", "b"])
    }

    /// `\s` means Unicode White_Space as in Rust's regex: U+180E (not White_Space since Unicode 6.3) is not a
    /// space, U+0085 and U+3000 are.
    @Test func whiteSpaceIsUnicodeWhiteSpace() throws {
        let o200k = try RegexPreTokenizer(.o200k)
        // Expected pieces from Python's `regex` module with tiktoken's o200k pattern.
        #expect(Self.pieces("a\u{180E}\u{180E}b", o200k) == ["a", "\u{180E}\u{180E}", "b"])
        #expect(Self.pieces("a\u{3000}\u{3000}b", o200k) == ["a", "\u{3000}", "\u{3000}b"])
        #expect(Self.pieces("a\u{85}\u{85}b", o200k) == ["a", "\u{85}", "\u{85}b"])
        #expect(RegexPreTokenizer.pcre2Dialect(of: #"[^\s\p{L}]|\s+(?!\S)"#)
            == "[^\(RegexPreTokenizer.whiteSpaceSet)\\p{L}\(UnicodeCatchUp.classItems(for: "L")!)]|[\(RegexPreTokenizer.whiteSpaceSet)]+(?![^\(RegexPreTokenizer.whiteSpaceSet)])")
    }

    /// Ill-formed runs are pieces of their own; the well-formed text around them splits as separate texts.
    @Test func illFormedRunsArePieces() throws {
        let o200k = try RegexPreTokenizer(.o200k)
        let input: [UInt8] = Array("ab".utf8) + [0xFF, 0xE6, 0x9D] + Array(" c".utf8) + [0x80]
        #expect(Self.pieces(input, o200k) == [Array("ab".utf8), [0xFF, 0xE6, 0x9D], Array(" c".utf8), [0x80]])
    }

    @Test func piecesCoverRandomBytesExactly() throws {
        let o200k = try RegexPreTokenizer(.o200k)
        var random = SeededGenerator(seed: 5)
        for _ in 0..<200 {
            let input = (0..<Int.random(in: 0...500, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            let pieces = Self.pieces(input, o200k)
            #expect(pieces.allSatisfy { !$0.isEmpty })
            #expect(Array(pieces.joined()) == input)
        }
    }

    /// The shortcut (words of ASCII and Latin-1 letters, punctuation runs, digits) gives PCRE2's pieces: the same pattern wrapped in a group (so no shortcut applies)
    /// against the built-in one, on random text of words in every case, contractions, digits, spaces, line
    /// breaks, punctuation, accented and non-Latin letters, combining marks and curly apostrophes.
    @Test(arguments: [
        RegexPreTokenizer.Named.o200k.pattern, RegexPreTokenizer.Named.cl100k.pattern, RegexPreTokenizer.Named.llama3.pattern,
        RegexPreTokenizer.WordShortcut.llama3Spelled, RegexPreTokenizer.WordShortcut.qwen, RegexPreTokenizer.WordShortcut.qwenSpelled,
        RegexPreTokenizer.Named.kimi.pattern,
    ])
    func wordShortcutMatchesPCRE2(pattern: String) throws {
        let fast = try RegexPreTokenizer(pattern: pattern)
        let plain = try RegexPreTokenizer(pattern: "(?:" + pattern + ")")
        let named = String(pattern.prefix(24))
        #expect(RegexPreTokenizer.WordShortcut.recognising(pattern) != nil)
        let units = ["the", "The", "THE", "tHe", "HELLOworld", "helloWorld", "a", "I", "'s", "'S", "'ll", "'re", "'x",
                     "’s", " ", "  ", "\t", "\n", "\r\n", "42", "1234", ".", ",", "(", "\"", "'", "/", "-", "é", "É",
                     "caf", "na\u{EF}ve", "e\u{301}", "日本", "Ωmega", "ß", "_", "x2", "🙂",
                     // Latin-1 letters and symbols, the characters around their edges, other scripts' digits.
                     "Ä", "Ö", "Þ", "ü", "ÿ", "Größe", "ÉTAT", "×", "÷", "ª", "µ", "º", "¿", "«", "»", "\u{A0}",
                     "Ā", "ā", "ǅ", "²", "٣", "\u{300}", "Ä\u{308}", ".\n", "/", "\r", "!?", "...", "—", "\t", "\u{B}",
                     "\u{1F}", "\u{7F}", "\u{85}", "007", "1\u{FF10}",
                     // Whitespace runs for the ASCII tier: several line breaks, blanks before and after them.
                     "\n\n", "   ", " \n ", "\u{C}", "\t\t", "\r\n\r\n", " \n\n", "\n ", " .", " ('", "'(", "9",
                     // Kana, kanji and CJK punctuation, and the characters at the edges of the shortcut's ranges.
                     "日本語", "ひらがな", "カタカナー", "人々", "〆", "〇", "か\u{3099}", "\u{309A}", "゛", "、", "。", "「", "」",
                     "『", "】", "〜", "・", "！", "（", "）", "，", "：", "？", "\u{3000}", "\u{3004}", "\u{3040}", "\u{30A0}",
                     "\u{4DC0}", "\u{9FFF}", "\u{A000}", "\u{FF10}", "Ａ", "ｶ", "\u{2EBF0}", "\u{3400}"]
        var random = SeededGenerator(seed: 61)
        for round in 0..<3000 {
            let text = (0..<Int.random(in: 1...40, using: &random)).map { _ in units.randomElement(using: &random)! }.joined()
            let input = Array(text.utf8)
            #expect(Self.pieces(input, fast) == Self.pieces(input, plain), "\(named) round \(round): \(text.debugDescription)")
        }
    }

    @Test func badPatternNamesTheOffset() {
        #expect(throws: TokcError.invalidPattern(pattern: "ab(c", offset: 4, reason: "missing closing parenthesis")) {
            try RegexPreTokenizer(pattern: "ab(c")
        }
    }

    @Test func manifestPatternsAreTheBuiltInOnes() throws {
        let manifest = try VocabularyManifest.parse(
            try FileIO.readAll(Fixtures.repositoryRoot + "/Vocabularies/manifest.json"), path: "manifest.json")
        for entry in manifest.vocabularies {
            // A tokenizer.json, GGUF or Tekken file brings its own regexes (checked against the manifest when it
            // loads); a SentencePiece model has none; Qwen's tiktoken file has one of its own (no built-in name).
            guard let name = entry.patternName else {
                #expect(entry.format != "tiktoken" || entry.name == "qwen2.5", "\(entry.name) names no built-in pattern")
                continue
            }
            let named = try #require(RegexPreTokenizer.Named(rawValue: name))
            #expect(entry.pattern == named.pattern, "\(entry.name)")
        }
    }
}
