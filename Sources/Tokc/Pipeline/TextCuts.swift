/// Where a text may be cut so that its parts, each encoded alone as a text, give one after another exactly the
/// ids of the whole: what lets `tokc count` read an input of any size a window at a time (`TextStreamCounter`)
/// and share a long text among threads (`Tokenizer.count(_:threads:)`). Each part of the pipeline says where it
/// allows a cut (`PreTokenizer.cuts`, `Normalizer.cuts`, `Encoder.cutsPieces`); `Tokenizer.cuts(allowedSpecial:)`
/// takes the places all of them allow.
///
/// A cut at `index` ends one part at `index`; the next starts there, or one byte later where `dropsSpace` (the
/// space SentencePiece's normaliser writes again as the next part's dummy prefix).
public struct TextCuts: Sendable, Equatable {
    /// Just after a line break (0x0A), before a letter or digit (`Tokenizer.startsWithLetterOrDigit`).
    public var lineStarts: Bool
    /// Before an ASCII white-space byte in this set...
    public var beforeWhiteSpace: ASCIIBits
    /// ...that follows an ASCII byte in this set (never white space)...
    public var afterASCII: ASCIIBits
    /// ...or a well-formed non-ASCII character that is not white space, when this is true.
    public var afterNonASCII: Bool
    /// The cut is a space (and only a space: `beforeWhiteSpace` is `[0x20]`) with a byte after it: the part
    /// before ends at the space, the part after starts past it. SentencePiece-style pipelines (a `▁` put before
    /// every text) write that space again as the next part's `▁`.
    public var dropsSpace: Bool

    public init(lineStarts: Bool = false, beforeWhiteSpace: ASCIIBits = [], afterASCII: ASCIIBits = [], afterNonASCII: Bool = false, dropsSpace: Bool = false) {
        self.lineStarts = lineStarts
        self.beforeWhiteSpace = beforeWhiteSpace
        self.afterASCII = afterASCII.subtracting(.whiteSpace)
        self.afterNonASCII = afterNonASCII
        self.dropsSpace = dropsSpace
    }

    /// No cut anywhere.
    public static let none = TextCuts()
    /// Line starts only: what a pipeline that is line-local (`isLineLocal`) allows.
    public static let lineStartsOnly = TextCuts(lineStarts: true)

    /// Before any ASCII white space that follows a character that is not white space (GPT-2's pattern: no branch
    /// takes white space after anything else, and a match never looks behind its start).
    public static let beforeWhiteSpaceAfterWords = TextCuts(beforeWhiteSpace: .whiteSpace, afterASCII: .printable, afterNonASCII: true)

    /// Before a space or tab that follows a character that is not white space (the o200k family: a symbol run
    /// takes the line breaks after it, so a line break is no such place, but a space or tab never joins the
    /// character before it).
    public static let beforeBlanksAfterWords = TextCuts(beforeWhiteSpace: [0x20, 0x09], afterASCII: .printable, afterNonASCII: true)

    /// These places and, if `lineStarts`, the line starts.
    public func union(lineStarts: Bool) -> TextCuts {
        var result = self
        result.lineStarts = self.lineStarts || lineStarts
        return result
    }

    /// Line starts, and before any ASCII white space after a character that is not white space: what a
    /// normaliser that rewrites within a character or a word allows.
    public static let everywhere = beforeWhiteSpaceAfterWords.union(lineStarts: true)

    /// SentencePiece's places: a space after one of `afterASCII`, dropped (the next part's `▁` prefix is it).
    public static func sentencePieceSpaces(after afterASCII: ASCIIBits) -> TextCuts {
        TextCuts(beforeWhiteSpace: [0x20], afterASCII: afterASCII, dropsSpace: true)
    }

    /// Whether any place is allowed.
    public var cutsAnywhere: Bool { lineStarts || !beforeWhiteSpace.isEmpty && (!afterASCII.isEmpty || afterNonASCII) }

    /// The places both allow. Two `dropsSpace` rules meet only in each other's places (equal rules); a rule
    /// that drops the space and one that does not share no place.
    public func intersection(_ other: TextCuts) -> TextCuts {
        guard dropsSpace == other.dropsSpace else { return TextCuts(lineStarts: false) }
        return TextCuts(
            lineStarts: lineStarts && other.lineStarts && !dropsSpace,
            beforeWhiteSpace: beforeWhiteSpace.intersection(other.beforeWhiteSpace),
            afterASCII: afterASCII.intersection(other.afterASCII),
            afterNonASCII: afterNonASCII && other.afterNonASCII,
            dropsSpace: dropsSpace)
    }

    /// These places less the ones before a white-space byte in `bytes` and, if `lineBreaks`, the line starts:
    /// for a special token that might be matched across them.
    func excluding(_ bytes: ASCIIBits, lineBreaks: Bool) -> TextCuts {
        var result = self
        result.beforeWhiteSpace = beforeWhiteSpace.subtracting(bytes)
        if lineBreaks { result.lineStarts = false }
        return result
    }

    /// Whether `text` may be cut at `index` (0 < index < text.count). The character after a line start must be
    /// whole in `text`, and with `dropsSpace` a byte must follow the space (the next part is never empty).
    @inline(__always)
    public func allows(_ text: UnsafeBufferPointer<UInt8>, at index: Int) -> Bool {
        let byte = text[index]
        if beforeWhiteSpace.contains(byte) && (!dropsSpace || index + 1 < text.count) {
            let before = text[index - 1]
            if before < 0x80 { return afterASCII.contains(before) }
            if afterNonASCII && Self.endsNonWhiteSpaceCharacter(text, at: index) { return true }
        }
        return lineStarts && text[index - 1] == 0x0A && Tokenizer.startsWithLetterOrDigit(text, at: index)
    }

    /// The last place in `text` (above 0) where it may be cut; 0 when there is none.
    public func lastCut(in text: UnsafeBufferPointer<UInt8>) -> Int {
        var index = text.count - 1
        while index > 0 {
            if allows(text, at: index) { return index }
            index -= 1
        }
        return 0
    }

    /// The first place at or after `from` (and above 0) where `text` may be cut; nil when there is none.
    public func firstCut(in text: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        var index = max(1, from)
        while index < text.count {
            if allows(text, at: index) { return index }
            index += 1
        }
        return nil
    }

    /// Where the part after a cut at `index` starts.
    @inline(__always)
    public func resume(after index: Int) -> Int { dropsSpace ? index + 1 : index }

    /// Whether the bytes before `index` end a well-formed character that is not white space.
    static func endsNonWhiteSpaceCharacter(_ text: UnsafeBufferPointer<UInt8>, at index: Int) -> Bool {
        var lead = index - 1
        while lead > 0 && index - lead < 4 && text[lead] & 0xC0 == 0x80 { lead -= 1 }
        return UTF8Scan.sequenceLength(in: text, at: lead) == index - lead && StripNormalizer.whiteSpaceLength(in: text, at: lead) == nil
    }
}

/// A set of ASCII bytes, a bit each.
public struct ASCIIBits: Sendable, Equatable, ExpressibleByArrayLiteral {
    public var low: UInt64
    public var high: UInt64

    public init(low: UInt64, high: UInt64) {
        self.low = low
        self.high = high
    }

    public init() {
        self.init(low: 0, high: 0)
    }

    public init(arrayLiteral bytes: UInt8...) {
        self.init(bytes)
    }

    public init(_ bytes: some Sequence<UInt8>) {
        self.init(low: 0, high: 0)
        for byte in bytes where byte < 0x80 {
            if byte < 64 { low |= 1 << UInt64(byte) } else { high |= 1 << UInt64(byte - 64) }
        }
    }

    /// Tab, line feed, vertical tab, form feed, carriage return and space: `\s` in ASCII.
    public static let whiteSpace: ASCIIBits = [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20]
    /// `!` to `~`.
    public static let printable = ASCIIBits(0x21...0x7E)

    @inline(__always)
    public func contains(_ byte: UInt8) -> Bool {
        byte < 64 ? low >> UInt64(byte) & 1 != 0 : byte < 128 && high >> UInt64(byte - 64) & 1 != 0
    }

    public var isEmpty: Bool { low == 0 && high == 0 }

    public mutating func insert(_ byte: UInt8) {
        self = union(ASCIIBits([byte]))
    }

    public func union(_ other: ASCIIBits) -> ASCIIBits { ASCIIBits(low: low | other.low, high: high | other.high) }

    public func intersection(_ other: ASCIIBits) -> ASCIIBits { ASCIIBits(low: low & other.low, high: high & other.high) }
    public func subtracting(_ other: ASCIIBits) -> ASCIIBits { ASCIIBits(low: low & ~other.low, high: high & ~other.high) }
}

/// `TextCuts` kept by reference, for `BuiltOnFirstUse`.
final class TextCutsBox: Sendable {
    let cuts: TextCuts

    init(_ cuts: TextCuts) {
        self.cuts = cuts
    }
}
