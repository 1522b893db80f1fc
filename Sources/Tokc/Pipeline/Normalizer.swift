import CICU

/// Rewrites text before it is split: Unicode normalisation, case folding, width folding.
///
/// Contract: `normalize` returns nil when it leaves the text as it is without looking at it (the identity), so
/// the common path (tiktoken vocabularies, which never normalise) copies nothing.
public protocol Normalizer: Sendable {
    func normalize(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]?

    /// The same, told whether the text starts the input or follows a special token: a few normalisers
    /// (Hugging Face's `Metaspace` with `prepend_scheme: first`) rewrite only the start of the input.
    func normalize(_ text: UnsafeBufferPointer<UInt8>, atTextStart: Bool) -> [UInt8]?

    /// True when text cut just after a line break that precedes a letter or digit normalises, part by part, to
    /// the same bytes as whole: what lets a long text be shared among threads (`Tokenizer.count(_:threads:)`).
    var isLineLocal: Bool { get }

    /// Where a text may be cut so that its parts, each normalised alone as a text, give one after another the
    /// whole's normalised text (with `dropsSpace`, less the cut space). By default the line starts where
    /// `isLineLocal`, else none.
    var cuts: TextCuts { get }

    /// `normalize(_:atTextStart:)` with, for each normalised byte, the input bytes it came from (for token
    /// offsets); nil when the text is left as it is. The default finds them a character at a time
    /// (`AlignedText.byClusters`); normalisers whose rules look beyond a character give their own.
    func normalizeWithAlignments(_ text: UnsafeBufferPointer<UInt8>, atTextStart: Bool) -> AlignedText?
}

extension Normalizer {
    public var isLineLocal: Bool { false }
    public var cuts: TextCuts { isLineLocal ? .lineStartsOnly : .none }

    public func normalizeWithAlignments(_ text: UnsafeBufferPointer<UInt8>, atTextStart: Bool) -> AlignedText? {
        guard let output = normalize(text, atTextStart: atTextStart) else { return nil }
        return AlignedText.byClusters(input: text, output: output) { normalize($0, atTextStart: false) }
    }

    public func normalize(_ text: UnsafeBufferPointer<UInt8>, atTextStart: Bool) -> [UInt8]? {
        normalize(text)
    }
}

/// The normalisations tokc runs through ICU. Ill-formed UTF-8 becomes U+FFFD under every form but `identity`,
/// so only the identity is lossless for arbitrary bytes.
public enum UnicodeNormalizer: String, Normalizer, CaseIterable, Sendable {
    /// Normalisation, lower case and case folding act within a word; a line break ends words and starts
    /// normalisation segments (the letter after it is a starter that nothing before it composes with).
    public var isLineLocal: Bool { true }

    /// Line starts, and white space after a character that is not white space: an ASCII white-space character
    /// is a starter that composes with nothing before it, and ends a final sigma's context as the text's end does.
    public var cuts: TextCuts { TextCuts.beforeWhiteSpaceAfterWords.union(lineStarts: true) }

    /// No change: the right choice for byte-level BPE vocabularies such as o200k_base and cl100k_base.
    case identity
    /// Canonical composition.
    case nfc
    /// Canonical decomposition.
    case nfd
    /// Compatibility composition: folds full-width Latin to ASCII, half-width katakana to full-width, ligatures.
    case nfkc
    /// Compatibility decomposition.
    case nfkd
    /// NFKC then full case folding (ICU's NFKC_Casefold).
    case nfkcCasefold = "nfkc_cf"
    /// Unicode lowercase mapping (root locale, context-sensitive: final sigma).
    case lowercase
    /// Unicode default case folding.
    case casefold
    /// The four normalisation forms as Hugging Face tokenizers runs them: with Unicode 9.0's tables, so a code
    /// point assigned later is left as it is, in place, and composes with nothing (`tokenizer.json` normalisers;
    /// a later combining mark is not reordered before an earlier one, as ICU's current tables would).
    case nfcUnicode9 = "nfc_unicode9"
    case nfdUnicode9 = "nfd_unicode9"
    case nfkcUnicode9 = "nfkc_unicode9"
    case nfkdUnicode9 = "nfkd_unicode9"

    public func normalize(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard let form = icuForm, let base = text.baseAddress, !text.isEmpty else { return nil }
        // Most text is in the form already: then nothing changes, and the round trip through ICU's UTF-16 (most
        // of the time of an NFC vocabulary's encode) is skipped.
        if let quickYes = Self.quickYes(form), Self.isNormalized(text, quickYes: quickYes) { return nil }
        // ICU indexes UTF-16 with Int32; cut larger inputs at safe points and normalise the parts.
        if text.count > Self.chunkLimit {
            var output: [UInt8] = []
            output.reserveCapacity(text.count)
            var start = 0
            while start < text.count {
                let end = Self.chunkEnd(in: text, from: start)
                output += transform(form, UnsafeBufferPointer(rebasing: text[start..<end]))
                start = end
            }
            return output
        }
        return transform(form, UnsafeBufferPointer(start: base, count: text.count))
    }

    private var icuForm: tokc_icu_form? {
        switch self {
        case .identity: return nil
        case .nfc: return TOKC_ICU_NFC
        case .nfd: return TOKC_ICU_NFD
        case .nfkc: return TOKC_ICU_NFKC
        case .nfkd: return TOKC_ICU_NFKD
        case .nfkcCasefold: return TOKC_ICU_NFKC_CASEFOLD
        case .lowercase: return TOKC_ICU_LOWERCASE
        case .casefold: return TOKC_ICU_CASEFOLD
        case .nfcUnicode9: return TOKC_ICU_NFC_UNICODE9
        case .nfdUnicode9: return TOKC_ICU_NFD_UNICODE9
        case .nfkcUnicode9: return TOKC_ICU_NFKC_UNICODE9
        case .nfkdUnicode9: return TOKC_ICU_NFKD_UNICODE9
        }
    }

    /// For the normalisation forms, one bit per Basic Multilingual Plane code point that is in the form alone
    /// and next to anything (`tokc_icu_quick_yes_bitmap`), made once per form; nil for the other transforms.
    static func quickYes(_ form: tokc_icu_form) -> [UInt8]? {
        switch form {
        case TOKC_ICU_NFC, TOKC_ICU_NFC_UNICODE9: return nfcQuickYes
        case TOKC_ICU_NFKC, TOKC_ICU_NFKC_UNICODE9: return nfkcQuickYes
        default: return nil
        }
    }

    private static let nfcQuickYes = quickYesBitmap(TOKC_ICU_NFC)
    private static let nfkcQuickYes = quickYesBitmap(TOKC_ICU_NFKC)

    /// From the ranges shipped for the ICU tokc runs with (`QuickYes+Data.swift`), else from ICU's quick-check
    /// property (`tokc_icu_quick_yes_bitmap_by_property`: 10.6M instructions, most of an NFC vocabulary's first
    /// encode), or with `byCheck`, by running its quick check on each code point (what the property must agree
    /// with).
    static func quickYesBitmap(_ form: tokc_icu_form, byCheck: Bool = false) -> [UInt8]? {
        if !byCheck, let bitmap = shippedQuickYesBitmap(form) { return bitmap }
        return quickYesBitmapFromICU(form, byCheck: byCheck)
    }

    /// The bitmap from the shipped ranges, when they were read from the ICU loaded now; else nil.
    static func shippedQuickYesBitmap(_ form: tokc_icu_form) -> [UInt8]? {
        guard String(cString: tokc_icu_version()) == quickYesICUVersion else { return nil }
        let ranges: [UInt32]
        switch form {
        case TOKC_ICU_NFC, TOKC_ICU_NFC_UNICODE9: ranges = nfcQuickYesRanges
        case TOKC_ICU_NFKC, TOKC_ICU_NFKC_UNICODE9: ranges = nfkcQuickYesRanges
        default: return nil
        }
        var bitmap = [UInt8](repeating: 0, count: 8192)
        for index in stride(from: 0, to: ranges.count, by: 2) {
            for value in ranges[index]...ranges[index + 1] { bitmap[Int(value >> 3)] |= 1 << (value & 7) }
        }
        return bitmap
    }

    static func quickYesBitmapFromICU(_ form: tokc_icu_form, byCheck: Bool) -> [UInt8]? {
        var bitmap = [UInt8](repeating: 0, count: 8192)
        let status = bitmap.withUnsafeMutableBufferPointer {
            byCheck ? tokc_icu_quick_yes_bitmap(form, $0.baseAddress) : tokc_icu_quick_yes_bitmap_by_property(form, $0.baseAddress)
        }
        return status == 0 ? bitmap : nil
    }

    /// Whether every code point of `text` is ASCII or marked in `quickYes` (well-formed UTF-8 of the Basic
    /// Multilingual Plane only): then the text is in the form (Unicode's quick check: all "yes", no combining
    /// marks to reorder). False means "ask ICU", not "not normalised".
    ///
    /// ASCII is passed eight bytes at a time, and a three-byte character with a lead other than E0 and ED (whose
    /// second byte has a narrower range) is checked with one four-byte load: nearly every character of Chinese
    /// and Japanese text (perf, `tokc-throughput --vocab qwen2.5 --repeat 5` on ja.heldout.txt: 4.9% of the
    /// samples before, 3.8% after; the bitmap look-up per character is what is left).
    static func isNormalized(_ text: UnsafeBufferPointer<UInt8>, quickYes: [UInt8]) -> Bool {
        var index = 0
        let count = text.count
        guard let raw = text.baseAddress.map(UnsafeRawPointer.init) else { return true }
        return quickYes.withUnsafeBufferPointer { bits in
            while index < count {
                if index + 8 <= count && raw.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                    index += 8
                    continue
                }
                if index + 4 <= count {
                    let bytes = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt32.self))
                    let lead = UInt8(truncatingIfNeeded: bytes)
                    if bytes & 0x00C0_C0F0 == 0x0080_80E0 && lead != 0xE0 && lead != 0xED {
                        let value = Int(lead & 0x0F) << 12 | Int(bytes >> 2 & 0x0FC0) | Int(bytes >> 16 & 0x3F)
                        guard bits[value >> 3] & (1 << (value & 7)) != 0 else { return false }
                        index += 3
                        continue
                    }
                }
                let byte = text[index]
                if byte < 0x80 {
                    index += 1
                    continue
                }
                // Well-formed two- and three-byte sequences only (ICU turns ill-formed bytes into U+FFFD).
                let length = UTF8Scan.sequenceLength(in: text, at: index)
                let value: Int
                switch length {
                case 2: value = UTF8Scan.twoByteValue(byte, text[index + 1])
                case 3: value = UTF8Scan.threeByteValue(byte, text[index + 1], text[index + 2])
                default: return false
                }
                index += length
                guard bits[value >> 3] & (1 << (value & 7)) != 0 else { return false }
            }
            return true
        }
    }

    static let chunkLimit = 256 << 20

    /// Where to end a chunk that starts at `start`: just before an ASCII byte near the limit (no canonical or
    /// compatibility mapping joins a character to a following ASCII one, and lowercasing's context, final
    /// sigma, looks only at letters), else at a code-point boundary.
    static func chunkEnd(in text: UnsafeBufferPointer<UInt8>, from start: Int, limit: Int = chunkLimit) -> Int {
        let end = start + limit
        guard end < text.count else { return text.count }
        let floor = max(start + 1, end - (1 << 20))
        var candidate = end
        while candidate > floor && text[candidate] >= 0x80 { candidate -= 1 }
        if text[candidate] < 0x80 { return candidate }
        candidate = end
        while candidate > start + 1 && text[candidate] & 0xC0 == 0x80 { candidate -= 1 }
        return candidate
    }

    private func transform(_ form: tokc_icu_form, _ text: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>? = nil
        var outLength: Int64 = 0
        let status = tokc_icu_transform(form, text.baseAddress, Int64(text.count), &out, &outLength)
        // ICU fails here only when it cannot allocate (lengths are bounded above): out of memory, which Swift
        // treats as fatal everywhere.
        precondition(status == 0, "ICU \(rawValue) failed: \(String(cString: tokc_icu_error_name(status)))")
        defer { tokc_icu_free(out) }
        guard let out else { return [] }
        return Array(UnsafeBufferPointer(start: out, count: Int(outLength)))
    }
}
