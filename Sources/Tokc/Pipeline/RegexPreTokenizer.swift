/// Splits text at the matches of a GPT-style regex, run by PCRE2 (JIT).
///
/// Well-formed UTF-8 is split by the regex: every match is a piece (with tokc's patterns every character
/// matches some branch). Ill-formed UTF-8 cannot be matched by a Unicode regex, so each maximal run of
/// ill-formed bytes is a piece of its own, and the well-formed text between such runs is split as if it were a
/// text by itself; a byte-level encoder then encodes those bytes exactly. tiktoken takes Python `str`, which
/// cannot hold such bytes, so this is tokc's documented extension: the same as tiktoken encoding each
/// well-formed stretch with `encode_ordinary` and each ill-formed run with `_encode_single_piece`.
public struct RegexPreTokenizer: PreTokenizer {
    /// The built-in patterns, by the names the manifest and `--pattern` use.
    public enum Named: String, CaseIterable, Sendable {
        case o200k
        case cl100k
        case gpt2
        /// Meta's Llama 3 pattern, as its tokenizer.json writes it (no possessive quantifiers, unlike cl100k).
        case llama3
        /// Moonshot's Kimi K2 to K3 pattern (`TikTokenTokenizer.pat_str` of tokenization_kimi.py), spelt for PCRE2.
        case kimi

        /// The regex exactly as its reference writes it: tiktoken 0.14 (`tiktoken_ext/openai_public.py`) for
        /// o200k, cl100k and gpt2; the Split regex of Llama 3's tokenizer.json for llama3. Kimi's is the one
        /// exception: written for Rust's regex, it takes Han out of o200k's letter classes by class intersection
        /// (`[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]`), which PCRE2 lacks. Here Lu, Lt and Ll stand alone (no Han
        /// character is in them) and Lm, Lo and M are taken after a negative lookahead for Han; Han is the script
        /// (`sc:`: PCRE2's bare `\p{Han}` is the script extension, which takes `、` and `。`) plus the ideographs
        /// Unicode 15.0-16.0 added, which PCRE2 10.42 (Unicode 14.0) does not know and Rust's regex (16.0) does.
        /// The manifest keeps the original as `reference_pattern`, the one `scripts/differential` runs.
        public var pattern: String {
            switch self {
            case .o200k:
                return [
                    #"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"#,
                    #"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"#,
                    #"\p{N}{1,3}"#,
                    #" ?[^\s\p{L}\p{N}]+[\r\n/]*"#,
                    #"\s*[\r\n]+"#,
                    #"\s+(?!\S)"#,
                    #"\s+"#,
                ].joined(separator: "|")
            case .cl100k:
                return #"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"#
            case .gpt2:
                return #"'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"#
            case .llama3:
                return #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
            case .kimi:
                let han = #"[\p{sc:Han}\x{2B739}\x{2EBF0}-\x{2EE5D}\x{31350}-\x{323AF}]"#
                let upper = #"(?:[\p{Lu}\p{Lt}]|(?!"# + han + #")[\p{Lm}\p{Lo}\p{M}])"#
                let lower = #"(?:\p{Ll}|(?!"# + han + #")[\p{Lm}\p{Lo}\p{M}])"#
                let contraction = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)?"#
                return [
                    han + "+",
                    #"[^\r\n\p{L}\p{N}]?"# + upper + "*" + lower + "+" + contraction,
                    #"[^\r\n\p{L}\p{N}]?"# + upper + "+" + lower + "*" + contraction,
                    #"\p{N}{1,3}"#,
                    #" ?[^\s\p{L}\p{N}]+[\r\n]*"#,
                    #"\s*[\r\n]+"#,
                    #"\s+(?!\S)"#,
                    #"\s+"#,
                ].joined(separator: "|")
            }
        }
    }

    /// The pattern as given (before tokc rewrites `\s` for PCRE2).
    public let pattern: String
    private let regex: PCRE2Pattern
    /// The pattern with its general-category classes widened to Unicode 16.0 (`UnicodeCatchUp`), for a text
    /// that holds a code point 15.0–16.0 assigned; nil when the pattern names no such class.
    private let widenedRegex: PCRE2Pattern?
    private let shortcut: WordShortcut?
    /// Whether text no branch matches is a piece of its own (tokc's rule, and Hugging Face's `Isolated`) or
    /// dropped (Hugging Face's inverted `Removed`, which keeps the matches alone: MiniMax's tokenizer.json).
    public let keepsUnmatched: Bool

    /// The common pieces of Latin-script text found without PCRE2 for the built-in patterns, where it is certain
    /// what the regex would match: a word of ASCII and Latin-1 letters (U+00C0–U+00FF) with its leading space or
    /// punctuation, a run of ASCII punctuation with its trailing line breaks (`.`, `,`, `.\n`, ` (`), and ASCII
    /// digits. The JIT spends hundreds of instructions a match on o200k's pattern (an alternation over Unicode
    /// property classes), and prose is ~200 matches per KB. Anything else at the position (whitespace before
    /// anything but a word or punctuation, a line break, a non-ASCII character outside Latin-1's letters and × ÷
    /// next to the piece, an apostrophe where a contraction could start) goes to PCRE2; `RegexPreTokenizerTests`
    /// compares both on random text.
    enum WordShortcut {
        /// o200k: `[^\r\n\p{L}\p{N}]?[\p{Lu}…]*[\p{Ll}…]+(?i:'s|…)?` and its upper-case twin come first, then
        /// `\p{N}{1,3}` and ` ?[^\s\p{L}\p{N}]+[\r\n/]*`.
        case casedWords
        /// cl100k, llama3: `[^\r\n\p{L}\p{N}]?\p{L}+` after the contraction branch, then `\p{N}{1,3}` and
        /// ` ?[^\s\p{L}\p{N}]+[\r\n]*`.
        case letterRuns
        /// Qwen (1.5 to 3, and llama.cpp's `qwen2`): llama3's pattern with single digits, `\p{N}`.
        case letterRunsSingleDigits
        /// Kimi: o200k's words and digits (its Han branch and lookaheads change nothing for ASCII and Latin-1),
        /// and cl100k's ` ?[^\s\p{L}\p{N}]+[\r\n]*`, without o200k's `/`. Never `CaselessShortcut`: Kimi cuts Han
        /// runs out of the letters around them.
        case kimiWords

        /// Longest digit run of the digit branch: 1 (`\p{N}`) or 3 (`\p{N}{1,3}`).
        var digitRun: Int { self == .letterRunsSingleDigits ? 1 : 3 }

        /// Patterns whose pieces this shortcut knows, by the exact text of the pattern.
        static func recognising(_ pattern: String) -> WordShortcut? {
            switch pattern {
            case Named.o200k.pattern: return .casedWords
            case Named.kimi.pattern: return .kimiWords
            case Named.cl100k.pattern, Named.llama3.pattern, llama3Spelled: return .letterRuns
            case qwen, qwenSpelled: return .letterRunsSingleDigits
            default: return nil
            }
        }

        /// The contraction branch spelled without `(?i:…)`, as llama.cpp runs Llama 3's and Qwen's patterns.
        static let contractionsSpelled = #"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"#
        static let contractions = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)"#
        static let llama3Spelled = contractionsSpelled + Named.llama3.pattern.dropFirst(contractions.count)
        /// Qwen's tokenizer.json Split regex (and qwen.tiktoken's pattern), and llama.cpp's spelling of it.
        static let qwen = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        static let qwenSpelled = contractionsSpelled + qwen.dropFirst(contractions.count)

        /// What the shortcut can tell of one character: its class in the patterns' terms.
        enum Kind {
            case upper, lower, digit
            /// ASCII whitespace: tab, line feed, vertical tab, form feed, carriage return, space.
            case space
            /// `[^\s\p{L}\p{N}]` as far as the shortcut knows it: ASCII punctuation and controls, × and ÷.
            case symbol
            /// Anything else: the shortcut gives up.
            case unknown
        }

        @inline(__always) static func isUpper(_ byte: UInt8) -> Bool { byte &- 0x41 < 26 }
        @inline(__always) static func isLower(_ byte: UInt8) -> Bool { byte &- 0x61 < 26 }
        @inline(__always) static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) &- 0x61 < 26 }
        @inline(__always) static func isDigit(_ byte: UInt8) -> Bool { byte &- 0x30 < 10 }
        /// Tab, line feed, vertical tab, form feed, carriage return or space: `\s` within ASCII.
        @inline(__always) static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte &- 0x09 < 5 }

        /// The class and width of the character at `index`. Latin-1's letters are `C3 80`–`C3 BF`: upper case
        /// up to U+00DE, lower case from U+00DF, except U+00D7 × and U+00F7 ÷ (math symbols). The text is
        /// well-formed UTF-8, so a `C3` is followed by a continuation byte.
        @inline(__always)
        static func kind(in text: UnsafeBufferPointer<UInt8>, at index: Int) -> (kind: Kind, width: Int) {
            let byte = text[index]
            if byte < 0x80 {
                if isLower(byte) { return (.lower, 1) }
                if isUpper(byte) { return (.upper, 1) }
                if isDigit(byte) { return (.digit, 1) }
                if isSpace(byte) { return (.space, 1) }
                return (.symbol, 1)
            }
            guard byte == 0xC3, index + 1 < text.count else { return (.unknown, 1) }
            let second = text[index + 1]
            if second == 0x97 || second == 0xB7 { return (.symbol, 2) }
            return (second < 0x9F ? .upper : .lower, 2)
        }

        /// The end of the match that starts at `start`, when this shortcut can tell; else nil.
        @inline(__always)
        func matchEnd(in text: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
            let count = text.count
            let (first, firstWidth) = Self.kind(in: text, at: start)
            switch first {
            case .upper, .lower:
                return wordEnd(in: text, from: start)
            case .digit:
                // `\p{N}{1,3}`: letters' branches cannot start at a digit. A non-ASCII byte after fewer than three
                // digits may be a digit of another script.
                var index = start + 1
                let limit = digitRun
                while index < count && index - start < limit && Self.isDigit(text[index]) { index += 1 }
                return index - start < limit && index < count && text[index] >= 0x80 ? nil : index
            case .space, .symbol:
                // An optional leading character before a word: not a letter, digit or line break; for cl100k and
                // llama3 not an apostrophe either (their first branch is the contraction 's, 't, ...).
                let byte = text[start]
                guard byte != 0x0A, byte != 0x0D, self == .casedWords || self == .kimiWords || byte != 0x27 else { return nil }
                let next = start + firstWidth
                let following: Kind = next < count ? Self.kind(in: text, at: next).kind : .space
                switch following {
                case .upper, .lower: return wordEnd(in: text, from: next)
                case .unknown: return nil
                case .symbol where byte == 0x20: return symbolRunEnd(in: text, from: next)
                default: return first == .symbol ? symbolRunEnd(in: text, from: start) : nil
                }
            case .unknown:
                return nil
            }
        }

        /// The end of a word whose first letter is at `start` (after any leading character).
        @inline(__always)
        private func wordEnd(in text: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
            let count = text.count
            var index = start
            // The character at `index`; past the end, a space (which ends every run).
            var (kind, width) = Self.kind(in: text, at: index)
            @inline(__always) func advance() {
                index += width
                (kind, width) = index < count ? Self.kind(in: text, at: index) : (.space, 0)
            }
            switch self {
            case .letterRuns, .letterRunsSingleDigits:
                while kind == .upper || kind == .lower { advance() }
                // An unknown character might be a letter that continues the run.
                return kind == .unknown ? nil : index
            case .casedWords, .kimiWords:
                let upperStart = index
                while kind == .upper { advance() }
                let hadUpper = index > upperStart
                let lowerStart = index
                while kind == .lower { advance() }
                // An unknown character might be a mark or a letter of either class; an apostrophe might start a
                // contraction.
                guard kind != .unknown, index == count || text[index] != 0x27 else { return nil }
                // Upper then lower: the first branch. Upper alone: the second, which then must not be followed by
                // a letter of either case (it is not: the runs stopped at a non-letter or at an upper case letter
                // after lower case, which ends the first branch's match).
                return index > lowerStart || hadUpper ? index : nil
            }
        }

        /// The end of ` ?[^\s\p{L}\p{N}]+[\r\n/]*` (o200k) or ` ?[^\s\p{L}\p{N}]+[\r\n]*` (cl100k, llama3) for a
        /// run whose first symbol is at `start`. The letters' branches have failed: no letter follows the first
        /// symbol (or the space before it), and digits cannot start a match with a leading character.
        @inline(__always)
        private func symbolRunEnd(in text: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
            let count = text.count
            var index = start
            while index < count {
                let (kind, width) = Self.kind(in: text, at: index)
                if kind == .unknown { return nil }
                guard kind == .symbol else { break }
                index += width
            }
            return lineBreaksEnd(in: text, from: index)
        }

        /// The end of the symbol branch's tail from `start`: `[\r\n/]*` (o200k) or `[\r\n]*` (cl100k, llama3).
        @inline(__always)
        func lineBreaksEnd(in text: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
            var index = start
            while index < text.count {
                let byte = text[index]
                guard byte == 0x0A || byte == 0x0D || (self == .casedWords && byte == 0x2F) else { break }
                index += 1
            }
            return index
        }
    }

    /// The shortcut's second try, for Chinese and Japanese, where `WordShortcut.matchEnd` gave up: a run of
    /// caseless letters (kana, ー, 々, CJK ideographs; for o200k also the combining voiced marks), after an optional
    /// leading space or punctuation mark, or a run of punctuation with CJK punctuation in it. Kept apart from
    /// `matchEnd` and out of line: folded into it, the extra classes cost 5-7% more instructions on German and
    /// English than they saved on Japanese (cachegrind, o200k_base). Every code point classed here had its
    /// category by Unicode 14.0 and kept it in 16.0, so PCRE2 10.42 and the references agree on it.
    struct CaselessShortcut {
        enum Kind { case letter, digit, space, symbol, caseless, mark, unknown }

        /// `threeByteKinds`, read once a match: a static read inside the loop calls `swift_once` at every
        /// character (4.5M instructions on the ja held-out text, cachegrind).
        private let kinds: UnsafePointer<Kind>
        private let word: WordShortcut

        /// The end of the match at `start`, when this shortcut can tell; else nil.
        @inline(never)
        static func matchEnd(in text: UnsafeBufferPointer<UInt8>, from start: Int, word: WordShortcut) -> Int? {
            threeByteKinds.withUnsafeBufferPointer { kinds in
                CaselessShortcut(kinds: kinds.baseAddress!, word: word).matchEnd(in: text, from: start)
            }
        }

        @inline(__always)
        private func kind(in text: UnsafeBufferPointer<UInt8>, at index: Int) -> (kind: Kind, width: Int) {
            guard index < text.count else { return (.space, 0) }  // past the end: ends every run
            let byte = text[index]
            if byte < 0x80 {
                if WordShortcut.isLetter(byte) { return (.letter, 1) }
                if WordShortcut.isDigit(byte) { return (.digit, 1) }
                if WordShortcut.isSpace(byte) { return (.space, 1) }
                return (.symbol, 1)
            }
            // A three-byte character (the text is well-formed, so two continuation bytes follow): its class from
            // a table. The range tests it replaces mispredicted about once a character on Japanese, where kana
            // and kanji alternate (cachegrind --branch-sim).
            guard byte & 0xF0 == 0xE0 else { return (.unknown, 1) }
            return (kinds[UTF8Scan.threeByteValue(byte, text[index + 1], text[index + 2])], 3)
        }

        /// `kind` of every code point U+0000-U+FFFF as a three-byte character (64 KiB; Japanese text touches a
        /// few hundred of its cache lines): the code points of U+3000-U+9FFF and U+F000-U+FFFF this shortcut
        /// knows, `.unknown` for the rest.
        private static let threeByteKinds: [Kind] = {
            var kinds = [Kind](repeating: .unknown, count: 0x10000)
            let classes: [(Kind, [ClosedRange<Int>])] = [
                // Lo and Lm
                (.caseless, [0x4E00...0x9FFF, 0x3400...0x4DBF, 0x3041...0x3096, 0x309D...0x309F, 0x30A1...0x30FA,
                             0x30FC...0x30FF, 0x3005...0x3006]),
                // Mn
                (.mark, [0x3099...0x309A]),
                // P* and S*: 、。〃〈〉《》「」『』【】〔〕〖〗〘〙〚〛〜〝〞〟゛゜・！（），．：；？
                (.symbol, [0x3001...0x3003, 0x3008...0x3011, 0x3014...0x301F, 0x309B...0x309C, 0x30FB...0x30FB,
                           0xFF01...0xFF01, 0xFF08...0xFF09, 0xFF0C...0xFF0C, 0xFF0E...0xFF0E, 0xFF1A...0xFF1B,
                           0xFF1F...0xFF1F]),
            ]
            for (kind, ranges) in classes {
                for range in ranges { for scalar in range { kinds[scalar] = kind } }
            }
            return kinds
        }()

        @inline(__always)
        private func matchEnd(in text: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
            let (first, firstWidth) = kind(in: text, at: start)
            switch first {
            case .caseless:
                return runEnd(in: text, from: start)
            case .space, .symbol:
                // A leading character: not a line break; for cl100k and llama3 not an apostrophe.
                let byte = text[start]
                guard byte != 0x0A, byte != 0x0D, word == .casedWords || byte != 0x27 else { return nil }
                let next = kind(in: text, at: start + firstWidth).kind
                if next == .caseless { return runEnd(in: text, from: start + firstWidth) }
                if first == .symbol && (next == .symbol || next == .space || next == .digit) {
                    return symbolRunEnd(in: text, from: start)
                }
                if byte == 0x20 && next == .symbol { return symbolRunEnd(in: text, from: start + 1) }
                return nil
            default:
                return nil
            }
        }

        /// o200k: caseless letters and marks are in both classes of its first branch, so their run is one match,
        /// which a symbol, a space or a digit ends (a letter with a case would split it otherwise). cl100k and
        /// llama3: `\p{L}+` over caseless and ASCII letters.
        private func runEnd(in text: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
            var index = start
            var (kind, width) = kind(in: text, at: index)
            switch word {
            case .casedWords:
                while kind == .caseless || kind == .mark {
                    index += width
                    (kind, width) = self.kind(in: text, at: index)
                }
                guard kind == .symbol || kind == .space || kind == .digit, index == text.count || text[index] != 0x27 else { return nil }
            case .letterRuns, .letterRunsSingleDigits:
                while kind == .caseless || kind == .letter {
                    index += width
                    (kind, width) = self.kind(in: text, at: index)
                }
                guard kind == .symbol || kind == .space || kind == .digit || kind == .mark else { return nil }
            case .kimiWords:
                return nil
            }
            return index
        }

        /// ` ?[^\s\p{L}\p{N}]+[\r\n/]*` (o200k) or ` ?[^\s\p{L}\p{N}]+[\r\n]*` from its first symbol. A mark ends
        /// nothing here (it is in the class, and after a symbol lets the first branch run on): given up.
        private func symbolRunEnd(in text: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
            var index = start
            var (kind, width) = kind(in: text, at: index)
            while kind == .symbol {
                index += width
                (kind, width) = self.kind(in: text, at: index)
            }
            guard kind != .unknown, kind != .mark else { return nil }
            return word.lineBreaksEnd(in: text, from: index)
        }
    }

    /// Compiles `pattern`, a regex in the dialect of tiktoken's patterns (Rust `regex`/`fancy-regex`).
    public init(pattern: String, keepsUnmatched: Bool = true) throws(TokcError) {
        self.pattern = pattern
        self.keepsUnmatched = keepsUnmatched
        let plain = Self.pcre2Dialect(of: pattern, widening: false)
        let widened = Self.pcre2Dialect(of: pattern)
        self.regex = try PCRE2Pattern(plain)
        self.widenedRegex = widened == plain ? nil : try PCRE2Pattern(widened)
        shortcut = WordShortcut.recognising(pattern)
        cuts = Self.cuts(ofPattern: pattern)
    }

    public init(_ named: Named) throws(TokcError) {
        try self.init(pattern: named.pattern)
    }

    /// o200k's, cl100k's and Llama 3's patterns keep a line break out of any piece with the letter or digit
    /// after it (their letter runs take one optional non-newline in front), and a whitespace run ending in a
    /// line break is one piece whether text follows or not (`\s*[\r\n]`, which cl100k's `\s++$` equals there).
    /// GPT-2's is not: its `\s++$` takes ` \n` whole at the end of a part, but splits it before a letter.
    /// Qwen's is cl100k's with single digits and `\s*[\r\n]+` (no `$`): a whitespace run that ends in a line
    /// break is one piece to its last break, so the same holds (what lets `tokc count` stream qwen2.5).
    public var isLineLocal: Bool { cuts.lineStarts }

    /// Where a text may be cut (`TextCuts`), known by the exact pattern; `TextCutTests` checks each against
    /// the whole text's pieces on corpus and random text. The o200k family (o200k, cl100k, Llama 3, Qwen, Kimi,
    /// DeepSeek V3, Qwen 3.5, Tekken): line starts as above, and before a space or tab after a character that is
    /// not white space (no branch takes white space after anything else, and none looks behind its start; a
    /// line break is not such a place, as a symbol run takes the line breaks after it). GPT-2's: before any
    /// white space after such a character (`\s++$` makes line starts unsafe). Branches that hold no white space
    /// at all (the digit and CJK stages of a sequence): both. Gemma 4's line split: line starts only.
    public let cuts: TextCuts

    static func cuts(ofPattern pattern: String) -> TextCuts {
        let wordsAndLines = TextCuts.beforeBlanksAfterWords.union(lineStarts: true)
        switch pattern {
        case Named.o200k.pattern, Named.cl100k.pattern, Named.llama3.pattern, Named.kimi.pattern, WordShortcut.llama3Spelled,
             WordShortcut.qwen, WordShortcut.qwenSpelled, Self.qwen35, Self.deepseekV3Words, Self.tekken:
            return wordsAndLines
        case Named.gpt2.pattern, GGUFPreTokenizer.gpt2:
            return .beforeWhiteSpaceAfterWords
        case #"\p{N}{1,3}"#, #"\p{N}"#, #"\p{N}+"#, Self.deepseekV3Ideographs:
            return TextCuts.beforeWhiteSpaceAfterWords.union(lineStarts: true)
        case GGUFPreTokenizer.gemma4.patterns[0]:
            return .lineStartsOnly
        default:
            return .none
        }
    }

    /// Qwen 3.5's Split regex (tokenizer.json): Qwen's with marks in its letter runs.
    static let qwen35 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    /// DeepSeek V3's third Split regex and its second (tokenizer.json), as the file writes them (raw line breaks
    /// in the classes of the first).
    static let deepseekV3Words = ##"[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^"## + "\r\n" + ##"\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+["## + "\r\n" + ##"]*|\s*["## + "\r\n" + ##"]+|\s+(?!\S)|\s+"##
    static let deepseekV3Ideographs = "[\u{4E00}-\u{9FA5}\u{3040}-\u{309F}\u{30A0}-\u{30FF}]+"
    /// Tekken's pattern (`tekken.json`'s `config.pattern`): o200k's without contractions, single digits.
    static let tekken = #"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    public func forEachPiece(in text: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        withoutActuallyEscaping(body) { body in
            var consumer = ClosurePieceConsumer(body: body)
            split(text, into: &consumer)
        }
    }

    /// The split, handing each piece to `consumer`: a generic, not a closure, so that where the caller is
    /// concrete (`Tokenizer`'s byte-level BPE loop) the whole loop is one specialised function with the encoder
    /// called directly (closures for the tiers and the body cost two indirect calls and their contexts a piece).
    @inline(__always)
    func split<Consumer: PieceConsumer>(_ text: UnsafeBufferPointer<UInt8>, into consumer: inout Consumer) {
        var start = 0
        while start < text.count {
            // Whether the widened pattern is needed comes out of the same pass that finds the run's end.
            let (wellFormedEnd, holdsAddition) = widenedRegex == nil
                ? (UTF8Scan.wellFormedEnd(in: text, from: start), false)
                : UnicodeCatchUp.wellFormedRun(in: text, from: start)
            if wellFormedEnd > start {
                let regex = holdsAddition ? widenedRegex ?? self.regex : self.regex
                splitWellFormed(UnsafeBufferPointer(rebasing: text[start..<wellFormedEnd]), regex: regex, into: &consumer)
            }
            guard wellFormedEnd < text.count else { return }
            let illFormedEnd = UTF8Scan.illFormedEnd(in: text, from: wellFormedEnd)
            consumer.consume(UnsafeBufferPointer(rebasing: text[wellFormedEnd..<illFormedEnd]))
            start = illFormedEnd
        }
    }

    /// The tiers in turn at each position: `ASCIIPieceScanner`, `WordShortcut` (and `CaselessShortcut`), then
    /// PCRE2, whose scratch is taken only if some position needs it.
    @inline(__always)
    private func splitWellFormed<Consumer: PieceConsumer>(
        _ text: UnsafeBufferPointer<UInt8>, regex: PCRE2Pattern, into consumer: inout Consumer
    ) {
        let count = text.count
        let shortcut = self.shortcut
        var matcher: PCRE2Pattern.Matcher? = nil
        defer { if let matcher { regex.release(matcher) } }
        // Text before `covered` has gone out as pieces; text between it and a match is a gap (no branch took it).
        var covered = 0
        var start = 0
        // The ASCII tier's class table, read once a split (a static read in the loop would check its
        // initialisation at every piece).
        ASCIIPieceScanner.classes.withUnsafeBufferPointer { classes in
            let ascii = shortcut.flatMap { $0 == .kimiWords ? nil : ASCIIPieceScanner(classes: classes.baseAddress!, shortcut: $0) }
            while start < count {
                if let ascii {
                    if text[start] < 0x80 {
                        start = consumer.consumeASCIIRun(text, from: start, scanner: ascii)
                        covered = start
                        guard start < count else { break }
                    }
                    let end = ascii.matchEnd(in: text, from: start)
                    if end != 0 {
                        consumer.consume(UnsafeBufferPointer(rebasing: text[start..<end]))
                        (start, covered) = (end, end)
                        continue
                    }
                }
                if let end = Self.shortcutEnd(shortcut, in: text, from: start) {
                    consumer.consume(UnsafeBufferPointer(rebasing: text[start..<end]))
                    (start, covered) = (end, end)
                    continue
                }
                if matcher == nil { matcher = regex.takeMatcher() }
                switch regex.nextMatch(in: text, from: start, with: matcher.unsafelyUnwrapped) {
                case .match(let match):
                    guard !match.isEmpty else {
                        // An empty match (a user's pattern): step over a code point; it joins the gap.
                        start = PCRE2Pattern.nextCodePointBoundary(in: text, after: match.lowerBound)
                        continue
                    }
                    if match.lowerBound > covered && keepsUnmatched {
                        consumer.consume(UnsafeBufferPointer(rebasing: text[covered..<match.lowerBound]))
                    }
                    consumer.consume(UnsafeBufferPointer(rebasing: text[match]))
                    (start, covered) = (match.upperBound, match.upperBound)
                case .none:
                    start = count
                case .failed:
                    // PCRE2 hit a resource limit: the rest goes out as one piece, still lossless, the count
                    // close. tokc's own patterns are possessive or single-class repeats and have not hit one,
                    // even on a 1 MB line.
                    if covered < count { consumer.consume(UnsafeBufferPointer(rebasing: text[covered...])) }
                    return
                }
            }
            // Text no branch matches (possible only with a user's pattern) is a piece by itself, or dropped where
            // `keepsUnmatched` is false.
            if covered < count && keepsUnmatched {
                consumer.consume(UnsafeBufferPointer(rebasing: text[covered...]))
            }
        }
    }

    /// The second tier: `WordShortcut`, then for CJK text `CaselessShortcut`; nil sends the match to PCRE2.
    @inline(never)
    private static func shortcutEnd(_ shortcut: WordShortcut?, in text: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard let shortcut else { return nil }
        if let end = shortcut.matchEnd(in: text, from: start) { return end }
        // Only where a CJK character starts the match or follows its first character.
        guard shortcut != .kimiWords, text[start] >= 0xE3 || (start + 1 < text.count && text[start + 1] >= 0xE3) else { return nil }
        return CaselessShortcut.matchEnd(in: text, from: start, word: shortcut)
    }

    /// Unicode White_Space, the set `\s` means in Rust's `regex`. PCRE2's `\s` under UCP adds U+180E, which
    /// left White_Space in Unicode 6.3; spelling the set out keeps tokc's splits equal to tiktoken's.
    static let whiteSpaceSet = #"\t-\r\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}"#

    /// Rewrites `\s` and `\S` into explicit classes, and (`widening`) general-category classes (`\p{L}`, `\pN`,
    /// `\P{M}`, ...) into Unicode 16.0's (`UnicodeCatchUp`); everything else passes through unchanged.
    /// `\S` and `\P{…}` inside a bracket class cannot be spelled as a set union and are left to PCRE2.
    static func pcre2Dialect(of pattern: String, widening: Bool = true) -> String {
        var output = ""
        var inClass = false
        var iterator = pattern.unicodeScalars.makeIterator()
        while let scalar = iterator.next() {
            if scalar == "\\" {
                guard let escaped = iterator.next() else { output.unicodeScalars.append(scalar); break }
                if widening && (escaped == "p" || escaped == "P") {
                    // `\pL` or `\p{Lu}`: the property name, then the class with Unicode 16.0's additions.
                    var name = ""
                    var spelled = "\\" + String(escaped)
                    if let next = iterator.next() {
                        spelled.unicodeScalars.append(next)
                        if next == "{" {
                            while let inner = iterator.next() {
                                spelled.unicodeScalars.append(inner)
                                if inner == "}" { break }
                                name.unicodeScalars.append(inner)
                            }
                        } else {
                            name.unicodeScalars.append(next)
                        }
                    }
                    let positive = "\\p" + spelled.dropFirst(2)
                    switch (UnicodeCatchUp.classItems(for: name), escaped == "P", inClass) {
                    case let (items?, false, false): output += "[" + positive + items + "]"
                    case let (items?, false, true): output += positive + items
                    case let (items?, true, false): output += "[^" + positive + items + "]"
                    default: output += spelled
                    }
                    continue
                }
                switch (escaped, inClass) {
                case ("s", false): output += "[\(whiteSpaceSet)]"
                case ("s", true): output += whiteSpaceSet
                case ("S", false): output += "[^\(whiteSpaceSet)]"
                default:
                    output.unicodeScalars.append(scalar)
                    output.unicodeScalars.append(escaped)
                }
                continue
            }
            if scalar == "[" && !inClass {
                inClass = true
            } else if scalar == "]" && inClass {
                inClass = false
            }
            output.unicodeScalars.append(scalar)
        }
        return output
    }
}

/// What `RegexPreTokenizer.split` hands each piece to.
protocol PieceConsumer {
    mutating func consume(_ piece: UnsafeBufferPointer<UInt8>)

    /// Takes the pieces from `start` on that `scanner` finds, as long as it likes, in a loop of its own;
    /// returns where it stopped (`start` if it took none). An encoder whose common case is small keeps the
    /// scanner and that case in one tight loop this way (`BPEEncoder.PieceMerging`).
    mutating func consumeASCIIRun(_ text: UnsafeBufferPointer<UInt8>, from start: Int, scanner: ASCIIPieceScanner) -> Int
}

extension PieceConsumer {
    @inline(__always)
    mutating func consumeASCIIRun(_ text: UnsafeBufferPointer<UInt8>, from start: Int, scanner: ASCIIPieceScanner) -> Int {
        start
    }
}

/// A closure as a `PieceConsumer`, for `forEachPiece`'s callers.
struct ClosurePieceConsumer: PieceConsumer {
    let body: (UnsafeBufferPointer<UInt8>) -> Void

    @inline(__always)
    func consume(_ piece: UnsafeBufferPointer<UInt8>) { body(piece) }
}
