/// The first, cheapest tier of the built-in patterns' split: the pieces of ASCII text, found by one table load per
/// byte. English prose is nearly all such pieces (` the`, `,`, `\n\n`, `  `), and this tier takes them without the
/// branchy per-character classing of `RegexPreTokenizer.WordShortcut` or a call into PCRE2.
///
/// It answers only where the pieces around `start` are ASCII all the way to the byte that ends the match, and
/// where the match does not reach the end of the text (the patterns' `$` and `(?!\S)` treat the end apart);
/// anywhere else it returns 0, and the next tier (`WordShortcut`, then PCRE2) decides. Its rules, branch by
/// branch, for o200k's pattern (`casedWords`) and cl100k's, Llama 3's and Qwen's (`letterRuns`):
/// - a letter run, after an optional leading character that is not a letter, digit or line break (for
///   `letterRuns` not an apostrophe either: their first branch is the contraction); `casedWords` splits it as
///   upper case then lower case, and leaves a run followed by an apostrophe (a possible `'s`) to the next tier;
/// - digits, up to three (`\p{N}{1,3}`) or one (Qwen's `\p{N}`);
/// - a run of punctuation, after an optional space, and the line breaks after it (`[\r\n/]*` for o200k);
/// - a whitespace run `W` that no branch before took: up to its last line break (`\s*[\r\n]+`), else all but its
///   last character when it is longer than one (`\s+(?!\S)`: the last one leads the next piece), else itself.
struct ASCIIPieceScanner {
    typealias Shortcut = RegexPreTokenizer.WordShortcut

    static let upper: UInt8 = 1
    static let lower: UInt8 = 2
    static let letter: UInt8 = upper | lower
    static let digit: UInt8 = 4
    /// `\s` within ASCII but not a line break: tab, vertical tab, form feed, space.
    static let blank: UInt8 = 8
    /// `\r` and `\n`.
    static let lineBreak: UInt8 = 16
    static let space: UInt8 = blank | lineBreak
    /// `[^\s\p{L}\p{N}]` within ASCII, the apostrophe apart.
    static let symbol: UInt8 = 32
    static let apostrophe: UInt8 = 64
    static let punctuation: UInt8 = symbol | apostrophe
    /// A byte of a non-ASCII character: this tier gives up there.
    static let high: UInt8 = 128

    /// The class of each byte value (256 bytes: four cache lines for text that is ASCII).
    static let classes: [UInt8] = (0...255).map { (byte: Int) -> UInt8 in
        switch byte {
        case 0x41...0x5A: return upper
        case 0x61...0x7A: return lower
        case 0x30...0x39: return digit
        case 0x0A, 0x0D: return lineBreak
        case 0x09, 0x0B, 0x0C, 0x20: return blank
        case 0x27: return apostrophe
        case 0x80...: return high
        default: return symbol
        }
    }

    let classes: UnsafePointer<UInt8>
    let shortcut: Shortcut

    /// The end of the match that starts at `start` (`start < text.count`), or 0 when this tier cannot tell.
    @inline(__always)
    func matchEnd(in text: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        let base = text.baseAddress!
        let count = text.count
        @inline(__always) func kind(_ index: Int) -> UInt8 { index < count ? classes[Int(base[index])] : 0 }
        let first = classes[Int(base[start])]
        if first & Self.letter != 0 { return wordEnd(base, count, from: start) }
        if first & Self.digit != 0 {
            let limit = shortcut.digitRun
            var index = start &+ 1
            while index < count && index &- start < limit && kind(index) & Self.digit != 0 { index &+= 1 }
            // Fewer digits than the branch takes and a non-ASCII character next: it may be another script's digit.
            return index &- start < limit && kind(index) == Self.high ? 0 : index
        }
        let next = kind(start &+ 1)
        if first & Self.punctuation != 0 {
            if first == Self.apostrophe && shortcut != .casedWords { return 0 }  // a contraction may start here
            if next & Self.letter != 0 { return wordEnd(base, count, from: start &+ 1) }
            return punctuationRunEnd(base, count, from: start)
        }
        if first & Self.high != 0 { return 0 }
        // Whitespace. One blank before a letter leads it; a space before punctuation leads the punctuation run.
        if first == Self.blank {
            if next & Self.letter != 0 { return wordEnd(base, count, from: start &+ 1) }
            if next & Self.punctuation != 0 && base[start] == 0x20 { return punctuationRunEnd(base, count, from: start &+ 1) }
        }
        var index = start
        var lastBreak = -1
        while index < count {
            let byteClass = classes[Int(base[index])]
            guard byteClass & Self.space != 0 else { break }
            if byteClass == Self.lineBreak { lastBreak = index }
            index &+= 1
        }
        // At the end of the text `$` and `(?!\S)` decide otherwise; before a non-ASCII character the run may go
        // on (U+00A0, U+3000 are `\s`).
        guard index < count, classes[Int(base[index])] != Self.high else { return 0 }
        if lastBreak >= 0 { return lastBreak &+ 1 }
        return index &- start > 1 ? index &- 1 : index
    }

    /// The end of the letters from `start` (a letter), or 0 when a non-ASCII character (a letter or mark that
    /// would continue the run) or, for `casedWords`, an apostrophe (a contraction) follows.
    @inline(__always)
    private func wordEnd(_ base: UnsafePointer<UInt8>, _ count: Int, from start: Int) -> Int {
        var index = start
        if shortcut == .casedWords {
            index = Self.runEnd(base, count, from: index, .upper)
            index = Self.runEnd(base, count, from: index, .lower)
            guard index < count else { return index }
            let after = classes[Int(base[index])]
            return after == Self.high || after == Self.apostrophe ? 0 : index
        }
        index = Self.runEnd(base, count, from: index, .letter)
        return index < count && classes[Int(base[index])] == Self.high ? 0 : index
    }

    /// A class of letters a run takes, tested eight bytes at a time (SWAR): `lanes` sets each byte's high bit
    /// when the byte is in the class. A word ends at an unpredictable letter, so the byte-by-byte loop this
    /// replaces mispredicted its exit once a piece (perf on English: a third of the split's samples).
    enum Run {
        case lower, upper, letter

        @inline(__always)
        func lanes(_ word: UInt64) -> UInt64 {
            // Bytes of 0x80 and above are cleared first, so no lane carries into the next, and are taken out by
            // the last term. `a`-`z`: the byte plus 0x1F reaches 0x80 from `a` on, plus 0x05 from `{` on.
            // `A`-`Z`: plus 0x3F from 0x41, plus 0x25 from 0x5B. Either case: setting bit 5 makes a letter a
            // lower-case one, and no other ASCII byte one.
            let word = self == .letter ? word | 0x2020_2020_2020_2020 : word
            let low = word & 0x7F7F_7F7F_7F7F_7F7F
            let (from, past): (UInt64, UInt64) = self == .upper
                ? (0x3F3F_3F3F_3F3F_3F3F, 0x2525_2525_2525_2525) : (0x1F1F_1F1F_1F1F_1F1F, 0x0505_0505_0505_0505)
            return (low &+ from) & ~(low &+ past) & ~word & 0x8080_8080_8080_8080
        }
    }

    /// The end of the run of `lanes`' class from `start`: eight bytes a step while eight remain, then byte by
    /// byte.
    @inline(__always)
    private static func runEnd(_ base: UnsafePointer<UInt8>, _ count: Int, from start: Int, _ run: Run) -> Int {
        var index = start
        let raw = UnsafeRawPointer(base)
        while index &+ 8 <= count {
            let outside = ~run.lanes(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt64.self))) & 0x8080_8080_8080_8080
            if outside != 0 { return index &+ outside.trailingZeroBitCount &>> 3 }
            index &+= 8
        }
        while index < count {
            var word: UInt64 = 0
            withUnsafeMutableBytes(of: &word) { $0[0] = base[index] }
            guard run.lanes(word) & 0x80 != 0 else { break }
            index &+= 1
        }
        return index
    }

    /// The end of ` ?[^\s\p{L}\p{N}]+` and its line breaks, from the first punctuation byte; 0 when a non-ASCII
    /// character (more punctuation, or a letter) follows the run.
    @inline(__always)
    private func punctuationRunEnd(_ base: UnsafePointer<UInt8>, _ count: Int, from start: Int) -> Int {
        var index = start
        while index < count && classes[Int(base[index])] & Self.punctuation != 0 { index &+= 1 }
        if index < count && classes[Int(base[index])] == Self.high { return 0 }
        return shortcut.lineBreaksEnd(in: UnsafeBufferPointer(start: base, count: count), from: index)
    }
}
