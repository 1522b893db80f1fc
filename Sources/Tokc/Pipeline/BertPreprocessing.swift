/// BERT's text clean-up, as Hugging Face's `BertNormalizer` does it, in its order:
/// 1. clean text: drop U+0000, U+FFFD and "other" characters (general categories Cc, Cf, Co, Cs; tab, LF and
///    CR excepted; unassigned code points stay, as in Hugging Face), and turn every White_Space character into
///    a space;
/// 2. put spaces around CJK ideographs (the blocks BERT lists), so each becomes a word of its own;
/// 3. strip accents (by default when lowercasing): NFD through ICU, then drop nonspacing marks (Mn);
/// 4. lowercase code point by code point (`CharacterLowercase`).
///
/// Character categories are Unicode 8.0's, as Hugging Face's are (`BertCharacterTraits`). Ill-formed UTF-8 is dropped by step 1 (Hugging Face
/// cannot see it: its input is a Rust `str`).
public struct BertNormalizer: Normalizer {
    /// Every step maps one character (accents are stripped within a character's decomposition).
    public var isLineLocal: Bool { true }

    public var cleanText: Bool
    public var handleChineseCharacters: Bool
    public var stripAccents: Bool
    public var lowercase: Bool

    public init(cleanText: Bool = true, handleChineseCharacters: Bool = true, stripAccents: Bool? = nil, lowercase: Bool = true) {
        self.cleanText = cleanText
        self.handleChineseCharacters = handleChineseCharacters
        self.stripAccents = stripAccents ?? lowercase
        self.lowercase = lowercase
    }

    public func normalize(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var current: [UInt8]? = nil
        func apply(_ step: (UnsafeBufferPointer<UInt8>) -> [UInt8]?) {
            let next = current.map { bytes in bytes.withUnsafeBufferPointer(step) } ?? step(text)
            if let next { current = next }
        }
        if cleanText || handleChineseCharacters { apply(cleanAndSpace) }
        if stripAccents { apply(Self.stripNonspacingMarks) }
        if lowercase { apply(CharacterLowercase().normalize) }
        return current
    }

    /// Steps 1 and 2 in one pass over the code points; nil when nothing changes.
    private func cleanAndSpace(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(text.count + 16)
        var changed = false
        var index = 0
        while index < text.count {
            let byte = text[index]
            if byte >= 0x20 && byte < 0x7F {  // printable ASCII: kept as it is
                output.append(byte)
                index += 1
                continue
            }
            let length = UTF8Scan.sequenceLength(in: text, at: index)
            guard length > 0 else {
                changed = true  // ill-formed: dropped
                index += 1
                continue
            }
            let scalar = UTF8Scan.scalar(in: text, at: index, length: length)
            let traits = BertCharacterTraits.of(scalar)
            if cleanText {
                if scalar.value == 0 || scalar.value == 0xFFFD || (traits.contains(.other) && !"\t\n\r".unicodeScalars.contains(scalar)) {
                    changed = true
                    index += length
                    continue
                }
                if traits.contains(.whitespace) {
                    changed = changed || byte != 0x20
                    output.append(0x20)
                    index += length
                    continue
                }
            }
            if handleChineseCharacters && Self.isCJKIdeograph(scalar.value) {
                changed = true
                output.append(0x20)
                output.append(contentsOf: UnsafeBufferPointer(rebasing: text[index..<(index + length)]))
                output.append(0x20)
            } else {
                output.append(contentsOf: UnsafeBufferPointer(rebasing: text[index..<(index + length)]))
            }
            index += length
        }
        return changed ? output : nil
    }

    static func isOther(_ category: Unicode.GeneralCategory) -> Bool {
        switch category {
        case .control, .format, .privateUse, .surrogate: return true
        default: return false
        }
    }

    /// The CJK ideograph blocks of BERT's `_is_chinese_char` (not Hangul, not kana).
    static func isCJKIdeograph(_ value: UInt32) -> Bool {
        switch value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
             0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }

    /// NFD, then every nonspacing mark (Mn) dropped.
    static func stripNonspacingMarks(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard text.contains(where: { $0 >= 0x80 }) else { return nil }  // ASCII has no marks and no decompositions
        let decomposed = UnicodeNormalizer.nfd.normalize(text) ?? Array(text)
        return decomposed.withUnsafeBufferPointer { bytes in
            var output: [UInt8] = []
            output.reserveCapacity(bytes.count)
            var index = 0
            while index < bytes.count {
                let length = max(UTF8Scan.sequenceLength(in: bytes, at: index), 1)
                if length > 1, BertCharacterTraits.of(UTF8Scan.scalar(in: bytes, at: index, length: length)).contains(.nonspacingMark) {
                    index += length
                    continue
                }
                output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<(index + length)]))
                index += length
            }
            return output
        }
    }
}

/// BERT's split, as Hugging Face's `BertPreTokenizer` does it: White_Space separates words and is dropped, and
/// every punctuation character is a word of its own. Punctuation is ASCII punctuation (which includes symbols
/// such as `$`, `+`, `<`, `^`, `|`) and the Unicode categories P*.
///
/// Unlike other pre-tokenizers, its pieces do not cover the input: the whitespace between them is dropped,
/// which is what WordPiece vocabularies expect (they have no token for a space).
public struct BertPreTokenizer: PreTokenizer {
    /// Splits at every space (a line break is one) and punctuation mark.
    public var isLineLocal: Bool { true }

    public init() {}

    public func forEachPiece(in text: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        var wordStart = -1
        var index = 0
        func endWord(at end: Int) {
            if wordStart >= 0 { body(UnsafeBufferPointer(rebasing: text[wordStart..<end])) }
            wordStart = -1
        }
        while index < text.count {
            let byte = text[index]
            let length: Int
            let isSpace: Bool
            let isPunctuation: Bool
            if byte < 0x80 {
                length = 1
                isSpace = byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)  // White_Space, as Rust means it
                isPunctuation = (byte >= 33 && byte <= 47) || (byte >= 58 && byte <= 64) || (byte >= 91 && byte <= 96) || (byte >= 123 && byte <= 126)
            } else {
                let scalarLength = UTF8Scan.sequenceLength(in: text, at: index)
                if scalarLength == 0 {
                    length = 1
                    isSpace = false
                    isPunctuation = false
                } else {
                    length = scalarLength
                    let traits = BertCharacterTraits.of(UTF8Scan.scalar(in: text, at: index, length: length))
                    isSpace = traits.contains(.whitespace)
                    isPunctuation = traits.contains(.punctuation)
                }
            }
            if isSpace {
                endWord(at: index)
            } else if isPunctuation {
                endWord(at: index)
                body(UnsafeBufferPointer(rebasing: text[index..<(index + length)]))
            } else if wordStart < 0 {
                wordStart = index
            }
            index += length
        }
        endWord(at: text.count)
    }

    static func isPunctuation(_ category: Unicode.GeneralCategory) -> Bool {
        switch category {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }
}

/// The character properties BERT's pre-processing asks about, read once per code point of the Basic
/// Multilingual Plane into a 64 KiB table: Swift's property lookups were a third of WordPiece training's time.
/// Code points above the BMP are looked up as they come.
struct BertCharacterTraits: OptionSet {
    let rawValue: UInt8

    /// General category Cc, Cf, Cn, Co or Cs.
    static let other = BertCharacterTraits(rawValue: 1)
    static let whitespace = BertCharacterTraits(rawValue: 2)
    /// General category P*.
    static let punctuation = BertCharacterTraits(rawValue: 4)
    static let nonspacingMark = BertCharacterTraits(rawValue: 8)

    /// The traits of every code point of the Basic Multilingual Plane, built on the first BERT normalisation.
    /// Swift's property lookups cost about 1,400 instructions a code point (90M for the plane: most of a BERT
    /// tokenizer's first encode), so the blocks that are one answer throughout are filled without them
    /// (`uniformBlocks`); `WordPieceTests` checks the table against `lookUp` at every code point.
    private static let basicPlane: [UInt8] = {
        var table = [UInt8](repeating: other.rawValue, count: 0x10000)  // surrogates, no scalars: category Cs
        var value = 0
        while value < 0x10000 {
            if let block = uniformBlocks.first(where: { $0.range.lowerBound == value }) {
                for inBlock in block.range { table[inBlock] = block.traits.rawValue }
                value = block.range.upperBound + 1
                continue
            }
            if let scalar = Unicode.Scalar(UInt32(value)) { table[value] = tableEntry(scalar).rawValue }
            value += 1
        }
        return table
    }()

    /// Blocks of the plane whose code points have one set of traits in every Unicode version since their own
    /// (all assigned by Unicode 6.1, long before Hugging Face's 8.0): the CJK ideographs of Extension A and of
    /// the main block and the Hangul syllables are letters (Lo), never whitespace, so no trait; the private
    /// use area is Co, other.
    static let uniformBlocks: [(range: ClosedRange<Int>, traits: BertCharacterTraits)] = [
        (0x3400...0x4DB5, []), (0x4E00...0x9FCC, []), (0xAC00...0xD7A3, []), (0xE000...0xF8FF, .other),
    ]

    static func of(_ scalar: Unicode.Scalar) -> BertCharacterTraits {
        scalar.value < 0x10000 ? BertCharacterTraits(rawValue: basicPlane[Int(scalar.value)]) : lookUp(scalar)
    }

    static func lookUp(_ scalar: Unicode.Scalar) -> BertCharacterTraits {
        let properties = scalar.properties
        // Hugging Face's categories are Unicode 8.0's (its `unicode_categories` tables; measured over every code
        // point): a character assigned later is unassigned there, so neither dropped, punctuation nor a mark.
        // White_Space is Rust's own, current.
        if let age = properties.age, (age.major, age.minor) > (8, 0) { return properties.isWhitespace ? .whitespace : [] }
        let category = unicode8Categories[scalar.value] ?? properties.generalCategory
        var traits: BertCharacterTraits = []
        if BertNormalizer.isOther(category) { traits.insert(.other) }
        if properties.isWhitespace { traits.insert(.whitespace) }
        if BertPreTokenizer.isPunctuation(category) { traits.insert(.punctuation) }
        if category == .nonspacingMark { traits.insert(.nonspacingMark) }
        return traits
    }

    /// `lookUp` with fewer property reads, for `basicPlane`: White_Space (a binary property, the dearest read) is
    /// asked only of the general categories its characters have (Zs, Zl, Zp, Cc), and the 8.0 categories come from
    /// a switch, not a dictionary: 27.8M -> 14M instructions for the table (callgrind).
    private static func tableEntry(_ scalar: Unicode.Scalar) -> BertCharacterTraits {
        let properties = scalar.properties
        let current = properties.generalCategory
        let whitespace: Bool
        switch current {
        case .spaceSeparator, .lineSeparator, .paragraphSeparator, .control: whitespace = properties.isWhitespace
        default: whitespace = false
        }
        if let age = properties.age, (age.major, age.minor) > (8, 0) { return whitespace ? .whitespace : [] }
        let category: Unicode.GeneralCategory
        switch scalar.value {
        case 0x166D, 0x1734, 0x1885, 0x1886, 0xA9BD, 0x111C9, 0x1171E: category = unicode8Categories[scalar.value] ?? current
        default: category = current
        }
        var traits: BertCharacterTraits = []
        if BertNormalizer.isOther(category) { traits.insert(.other) }
        if whitespace { traits.insert(.whitespace) }
        if BertPreTokenizer.isPunctuation(category) { traits.insert(.punctuation) }
        if category == .nonspacingMark { traits.insert(.nonspacingMark) }
        return traits
    }

    /// The code points assigned by Unicode 8.0 whose general category has changed since, with their 8.0 one.
    private static let unicode8Categories: [UInt32: Unicode.GeneralCategory] = [
        0x166D: .otherPunctuation, 0x1734: .nonspacingMark, 0x1885: .otherLetter, 0x1886: .otherLetter,
        0xA9BD: .spacingMark, 0x111C9: .otherPunctuation, 0x1171E: .nonspacingMark,
    ]
}
