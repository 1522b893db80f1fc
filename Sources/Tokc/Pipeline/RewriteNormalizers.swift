/// Normalisers that rewrite text literally rather than through ICU: the parts SentencePiece-style vocabularies
/// in `tokenizer.json` are built from (Llama 2, Mistral: prepend `▁`, replace spaces with `▁`), Hugging Face's
/// character-wise lowercasing, and a sequence to chain them.
///
/// All of them work on bytes and treat ill-formed UTF-8 as opaque bytes (they only ever look for well-formed
/// patterns), so unlike the ICU forms they lose nothing.

/// Runs normalisers one after another, each on the output of the one before.
public struct NormalizerSequence: Normalizer {
    public let steps: [any Normalizer]

    public init(_ steps: [any Normalizer]) {
        self.steps = steps
    }

    public var isLineLocal: Bool { steps.allSatisfy(\.isLineLocal) }

    /// The places every step allows; for the SentencePiece-style pair (`▁` put in front, each space replaced by
    /// `▁`: Mistral's and Llama 2's `tokenizer.json`), a space after an ASCII character that is not white
    /// space, dropped: the next part's `▁` in front is the space's `▁`.
    public var cuts: TextCuts {
        if steps.count == 2, let prepend = steps[0] as? PrependNormalizer, let replace = steps[1] as? ReplaceNormalizer,
           prepend.prefix == MetaspaceNormalizer.lowLine, replace.pattern == [0x20], replace.replacement == MetaspaceNormalizer.lowLine {
            return .sentencePieceSpaces(after: .printable)
        }
        return steps.dropFirst().reduce(steps.first?.cuts ?? .none) { $0.intersection($1.cuts) }
    }

    public func normalize(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        normalize(text, atTextStart: true)
    }

    public func normalize(_ text: UnsafeBufferPointer<UInt8>, atTextStart: Bool) -> [UInt8]? {
        var current: [UInt8]? = nil
        for step in steps {
            let next: [UInt8]?
            if let current {
                next = current.withUnsafeBufferPointer { step.normalize($0, atTextStart: atTextStart) }
            } else {
                next = step.normalize(text, atTextStart: atTextStart)
            }
            if let next { current = next }
        }
        return current
    }
}

/// Replaces every occurrence of a literal byte string, left to right without overlap (Hugging Face's `Replace`
/// with a `String` pattern).
public struct ReplaceNormalizer: Normalizer {
    public let pattern: [UInt8]
    public let replacement: [UInt8]

    /// `pattern` must not be empty.
    public init(pattern: [UInt8], replacement: [UInt8]) {
        precondition(!pattern.isEmpty, "a Replace pattern is never empty (the loader checks)")
        self.pattern = pattern
        self.replacement = replacement
    }

    public func normalize(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        Self.replacing(pattern, with: replacement, in: text)
    }

    /// Whether `pattern` (not empty) is at `index` of `text`.
    @inline(__always)
    static func occurs(_ pattern: [UInt8], in text: UnsafeBufferPointer<UInt8>, at index: Int) -> Bool {
        index + pattern.count <= text.count && text[index] == pattern[0]
            && pattern.indices.allSatisfy { text[index + $0] == pattern[$0] }
    }

    /// `text` with each occurrence of `pattern` replaced; nil when there is none, so nothing is copied.
    static func replacing(_ pattern: [UInt8], with replacement: [UInt8], in text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var output: [UInt8]? = nil
        var copied = 0
        var index = 0
        while index + pattern.count <= text.count {
            if occurs(pattern, in: text, at: index) {
                if output == nil { output = []; output!.reserveCapacity(text.count + text.count / 2) }
                output!.append(contentsOf: UnsafeBufferPointer(rebasing: text[copied..<index]))
                output!.append(contentsOf: replacement)
                index += pattern.count
                copied = index
            } else {
                index += 1
            }
        }
        guard var result = output else { return nil }
        result.append(contentsOf: UnsafeBufferPointer(rebasing: text[copied...]))
        return result
    }
}

/// Replaces every match of a regex, left to right (Hugging Face's `Replace` with a `Regex` pattern, such as the
/// `" {2,}"` → `▁` that SentencePiece conversions use to collapse runs of spaces). The regex runs on PCRE2 in the
/// dialect `RegexPreTokenizer` accepts; ill-formed UTF-8 is left as it is and cuts the text for the regex.
public struct RegexReplaceNormalizer: Normalizer {
    public let pattern: String
    public let replacement: [UInt8]
    private let regex: PCRE2Pattern

    public init(pattern: String, replacement: [UInt8]) throws(TokcError) {
        self.pattern = pattern
        self.replacement = replacement
        regex = try PCRE2Pattern(RegexPreTokenizer.pcre2Dialect(of: pattern))
    }

    public func normalize(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var output: [UInt8]? = nil
        var copied = 0
        forEachMatch(in: text) { match in
            if output == nil { output = []; output!.reserveCapacity(text.count) }
            output!.append(contentsOf: UnsafeBufferPointer(rebasing: text[copied..<match.lowerBound]))
            output!.append(contentsOf: replacement)
            copied = match.upperBound
        }
        guard var result = output else { return nil }
        result.append(contentsOf: UnsafeBufferPointer(rebasing: text[copied...]))
        return result
    }

    /// Calls `body` with each match's range in `text`, left to right.
    func forEachMatch(in text: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Void) {
        var start = 0
        while start < text.count {
            let end = UTF8Scan.wellFormedEnd(in: text, from: start)
            _ = regex.forEachMatch(in: UnsafeBufferPointer(rebasing: text[start..<end])) { match in
                body((start + match.lowerBound)..<(start + match.upperBound))
            }
            start = end < text.count ? UTF8Scan.illFormedEnd(in: text, from: end) : end
        }
    }
}

/// Removes white space (Unicode `White_Space`, Rust's `char::is_whitespace`) from the start and/or the end of
/// the text (Hugging Face's `Strip`).
public struct StripNormalizer: Normalizer {
    public let left: Bool
    public let right: Bool

    public init(left: Bool, right: Bool) {
        self.left = left
        self.right = right
    }

    public func normalize(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var start = 0, end = text.count
        if left {
            while start < end, let length = Self.whiteSpaceLength(in: text, at: start) { start += length }
        }
        if right {
            while end > start {
                var lead = end - 1
                while lead > start && text[lead] & 0xC0 == 0x80 { lead -= 1 }
                guard let length = Self.whiteSpaceLength(in: text, at: lead), lead + length == end else { break }
                end = lead
            }
        }
        guard start > 0 || end < text.count else { return nil }
        return Array(text[start..<end])
    }

    /// The length of the white-space character at `index`, or nil if there is none there.
    static func whiteSpaceLength(in text: UnsafeBufferPointer<UInt8>, at index: Int) -> Int? {
        let length = UTF8Scan.sequenceLength(in: text, at: index)
        guard length > 0, index + length <= text.count else { return nil }
        switch UTF8Scan.scalar(in: text, at: index, length: length).value {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return length
        default: return nil
        }
    }
}

/// Puts a prefix before any non-empty text (Hugging Face's `Prepend`, SentencePiece's dummy prefix).
public struct PrependNormalizer: Normalizer {
    public let prefix: [UInt8]

    public init(prefix: [UInt8]) {
        self.prefix = prefix
    }

    public func normalize(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard !text.isEmpty else { return nil }
        var output = prefix
        output.append(contentsOf: text)
        return output
    }
}

/// The rewriting half of Hugging Face's `Metaspace` pre-tokenizer: every space becomes the replacement
/// (`▁`), and the replacement is put in front unless the text already starts with it. Its splitting half is
/// `MetaspacePreTokenizer`.
public struct MetaspaceNormalizer: Normalizer {
    /// When the replacement is put in front.
    public enum PrependScheme: String, Sendable {
        /// Before every segment of text between special tokens.
        case always
        /// Only before the segment that starts the text.
        case first
        case never
    }

    public let replacement: [UInt8]
    public let prependScheme: PrependScheme

    public init(replacement: [UInt8] = MetaspaceNormalizer.lowLine, prependScheme: PrependScheme) {
        self.replacement = replacement
        self.prependScheme = prependScheme
    }

    /// Without a prefix it rewrites byte by byte: any place (Gemma 4's pipeline, which splits lines).
    public var cuts: TextCuts { prependScheme == .never ? .everywhere : .none }

    /// U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's visible space.
    public static let lowLine: [UInt8] = [0xE2, 0x96, 0x81]

    public func normalize(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        normalize(text, atTextStart: true)
    }

    public func normalize(_ text: UnsafeBufferPointer<UInt8>, atTextStart: Bool) -> [UInt8]? {
        // Nothing is put before empty text (a normaliser before this one may have emptied it), as there.
        guard !text.isEmpty else { return nil }
        let replaced = ReplaceNormalizer.replacing([0x20], with: replacement, in: text)
        let prepend: Bool
        switch prependScheme {
        case .always: prepend = true
        case .first: prepend = atTextStart
        case .never: prepend = false
        }
        func startsWithReplacement(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
            ReplaceNormalizer.occurs(replacement, in: bytes, at: 0)
        }
        guard prepend else { return replaced }
        if let replaced {
            return replaced.withUnsafeBufferPointer(startsWithReplacement) ? replaced : replacement + replaced
        }
        guard !startsWithReplacement(text) else { return nil }
        var output = replacement
        output.append(contentsOf: text)
        return output
    }
}

/// Lowercases one code point at a time with the full Unicode lowercase mapping (`İ` → `i̇`), as Hugging
/// Face's `Lowercase` does (Rust's `char::to_lowercase`): no context, so a final capital sigma becomes `σ`,
/// unlike ICU's `lowercase`, which gives `ς`.
public struct CharacterLowercase: Normalizer {
    public init() {}

    public func normalize(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        // Most text needs no change: find the first byte that might, and copy nothing before that.
        var index = 0
        while index < text.count {
            let byte = text[index]
            if byte >= 0x80 || (byte >= 0x41 && byte <= 0x5A) { break }
            index += 1
        }
        guard index < text.count else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(text.count + 8)
        output.append(contentsOf: UnsafeBufferPointer(rebasing: text[..<index]))
        while index < text.count {
            let byte = text[index]
            if byte < 0x80 {
                output.append(byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte)
                index += 1
                continue
            }
            let length = UTF8Scan.sequenceLength(in: text, at: index)
            guard length > 0 else {  // ill-formed: kept as it is
                output.append(byte)
                index += 1
                continue
            }
            let scalar = UTF8Scan.scalar(in: text, at: index, length: length)
            if Self.changesWhenLowercased(scalar) {
                output.append(contentsOf: scalar.properties.lowercaseMapping.utf8)
            } else {
                output.append(contentsOf: UnsafeBufferPointer(rebasing: text[index..<(index + length)]))
            }
            index += length
        }
        return output
    }

    /// Whether lowercasing changes the code point, from a table of the Basic Multilingual Plane read once (Swift's
    /// property lookup per character was most of the lowercasing time of CJK text, which never changes).
    static func changesWhenLowercased(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x10000 ? changesInBasicPlane[Int(scalar.value)] : scalar.properties.changesWhenLowercased
    }

    /// Built on first use, without Swift's property lookup (24M instructions for the plane) in the uncased blocks
    /// `BertCharacterTraits.uniformBlocks` names: ideographs, Hangul syllables and private use never change.
    /// `WordPieceTests` checks it against the lookup at every code point.
    private static let changesInBasicPlane: [Bool] = {
        var table = [Bool](repeating: false, count: 0x10000)
        var value = 0
        while value < 0x10000 {
            if let block = BertCharacterTraits.uniformBlocks.first(where: { $0.range.lowerBound == value }) {
                value = block.range.upperBound + 1
                continue
            }
            table[value] = Unicode.Scalar(UInt32(value))?.properties.changesWhenLowercased ?? false
            value += 1
        }
        return table
    }()
}
