/// BERT's clean-up as llama.cpp does it for a GGUF `bert` vocabulary (`llm_tokenizer_wpm_session::preprocess`),
/// which is not Hugging Face's (`BertNormalizer`), code point by code point:
/// 1. with accents stripped, a code point becomes the first code point of its canonical decomposition (`é` → `e`,
///    and a Hangul syllable its first jamo: `안` → `ᄋ`);
/// 2. White_Space ends a word; U+0000, U+FFFD and the categories Cc, Cf, Co and Cs are dropped;
/// 3. with accents stripped, every mark (Mn, Mc and Me: Devanagari vowel signs too) is dropped;
/// 4. lowercased by the simple (one code point) mapping;
/// 5. punctuation (P*), ASCII symbols and CJK ideographs are words of one character.
///
/// The output is the words with one space between them, which `BertPreTokenizer` then splits.
public struct LlamaBertNormalizer: Normalizer {
    public let lowercase: Bool
    public let stripAccents: Bool

    public init(lowercase: Bool, stripAccents: Bool) {
        self.lowercase = lowercase
        self.stripAccents = stripAccents
    }

    public var isLineLocal: Bool { true }

    public func normalize(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(text.count + text.count / 4)
        var index = 0
        func separate() { if let last = output.last, last != 0x20 { output.append(0x20) } }
        while index < text.count {
            let length = UTF8Scan.sequenceLength(in: text, at: index)
            guard length > 0 else {
                // Ill-formed bytes are U+FFFD to llama.cpp's decoder, which drops U+FFFD.
                index += 1
                continue
            }
            var scalar = UTF8Scan.scalar(in: text, at: index, length: length)
            index += length
            if stripAccents && scalar.value >= 0x80 { scalar = Self.firstOfDecomposition(scalar) }
            let properties = scalar.properties
            if properties.isWhitespace {
                separate()
                continue
            }
            let category = properties.generalCategory
            switch category {
            case .control, .format, .privateUse, .surrogate: continue
            case .nonspacingMark where stripAccents, .spacingMark where stripAccents, .enclosingMark where stripAccents: continue
            default: break
            }
            if scalar.value == 0 || scalar.value == 0xFFFD { continue }
            let lowered = lowercase ? Self.simpleLowercase(scalar) : scalar
            let isOwnWord: Bool
            switch category {
            case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
                 .finalPunctuation, .otherPunctuation:
                isOwnWord = true
            case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
                isOwnWord = scalar.value < 0x7F
            default:
                isOwnWord = BertNormalizer.isCJKIdeograph(scalar.value)  // llama.cpp's `is_chinese_char`: BERT's blocks
            }
            if isOwnWord { separate() }
            output.append(contentsOf: String(lowered).utf8)
            if isOwnWord { output.append(0x20) }
        }
        return output
    }

    /// The simple lowercase mapping (UnicodeData's, one code point): the full mapping where that is one code
    /// point; U+0130 (whose full mapping adds a combining dot) is `i`.
    static func simpleLowercase(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        if scalar.value < 0x80 {
            return (0x41...0x5A).contains(scalar.value) ? Unicode.Scalar(scalar.value + 0x20)! : scalar
        }
        if scalar.value == 0x130 { return "i" }
        let mapping = scalar.properties.lowercaseMapping.unicodeScalars
        return mapping.count == 1 ? mapping.first! : scalar
    }

    /// The first code point of each Basic Multilingual Plane code point's NFD, from one ICU pass over all of them
    /// (each followed by U+0001, a starter, so that no two decompositions reorder into each other).
    private static let basicPlaneFirstOfDecomposition: [UInt32] = {
        var table = (0..<0x10000).map { UInt32($0) }
        var text: [UInt8] = []
        let values = Array(0x80..<0xD800) + Array(0xE000..<0x10000)
        for value in values {
            text += String(Unicode.Scalar(UInt32(value))!).utf8
            text.append(0x01)
        }
        guard let decomposed = text.withUnsafeBufferPointer({ UnicodeNormalizer.nfd.normalize($0) }) else { return table }
        var valueIndex = 0
        var start = 0
        for (offset, byte) in decomposed.enumerated() where byte == 0x01 {
            if start < offset, valueIndex < values.count {
                let length = decomposed.withUnsafeBufferPointer { UTF8Scan.sequenceLength(in: $0, at: start) }
                if length > 0 {
                    table[values[valueIndex]] = decomposed.withUnsafeBufferPointer { UTF8Scan.scalar(in: $0, at: start, length: length).value }
                }
            }
            valueIndex += 1
            start = offset + 1
        }
        return table
    }()

    static func firstOfDecomposition(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        if scalar.value < 0x10000 { return Unicode.Scalar(basicPlaneFirstOfDecomposition[Int(scalar.value)]) ?? scalar }
        let bytes = Array(String(scalar).utf8)
        guard let decomposed = bytes.withUnsafeBufferPointer({ UnicodeNormalizer.nfd.normalize($0) }), !decomposed.isEmpty else { return scalar }
        return String(decoding: decomposed, as: UTF8.self).unicodeScalars.first ?? scalar
    }
}
