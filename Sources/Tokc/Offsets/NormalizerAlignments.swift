import CICU

/// The normalisers whose rules look beyond one character, each with its alignment stated (the others are found
/// a character at a time: `AlignedText.byClusters`). Each follows the rule Hugging Face's `NormalizedString`
/// gives the same edit, so offsets agree with `tokenizers`' where the vocabulary comes from a `tokenizer.json`.

extension NormalizerSequence {
    public func normalizeWithAlignments(_ text: UnsafeBufferPointer<UInt8>, atTextStart: Bool) -> AlignedText? {
        var current: AlignedText? = nil
        for step in steps {
            if let earlier = current {
                if let next = earlier.bytes.withUnsafeBufferPointer({ step.normalizeWithAlignments($0, atTextStart: atTextStart) }) {
                    current = next.composed(after: earlier)
                }
            } else {
                current = step.normalizeWithAlignments(text, atTextStart: atTextStart)
            }
        }
        return current
    }
}

extension ReplaceNormalizer {
    /// The replacement comes from the last character of what it replaces (Hugging Face's `replace`).
    public func normalizeWithAlignments(_ text: UnsafeBufferPointer<UInt8>, atTextStart: Bool) -> AlignedText? {
        var matches: [Range<Int>] = []
        var index = 0
        while index + pattern.count <= text.count {
            if Self.occurs(pattern, in: text, at: index) {
                matches.append(index..<(index + pattern.count))
                index += pattern.count
            } else {
                index += 1
            }
        }
        return AlignedText.replacing(matches, with: replacement, in: text)
    }
}

extension RegexReplaceNormalizer {
    public func normalizeWithAlignments(_ text: UnsafeBufferPointer<UInt8>, atTextStart: Bool) -> AlignedText? {
        var matches: [Range<Int>] = []
        forEachMatch(in: text) { matches.append($0) }
        return AlignedText.replacing(matches, with: replacement, in: text)
    }
}

extension StripNormalizer {
    public func normalizeWithAlignments(_ text: UnsafeBufferPointer<UInt8>, atTextStart: Bool) -> AlignedText? {
        guard let stripped = normalize(text) else { return nil }
        // What is kept is one stretch of the input: find where it starts.
        var start = 0
        if left {
            while start < text.count, let length = Self.whiteSpaceLength(in: text, at: start) { start += length }
        }
        var aligned = AlignedText(capacity: stripped.count)
        aligned.appendCopy(of: text, start..<(start + stripped.count), shiftedBy: 0)
        return aligned
    }
}

extension PrependNormalizer {
    public func normalizeWithAlignments(_ text: UnsafeBufferPointer<UInt8>, atTextStart: Bool) -> AlignedText? {
        guard !text.isEmpty else { return nil }
        var aligned = AlignedText(capacity: prefix.count + text.count)
        aligned.append(prefix, from: AlignedText.firstCharacter(of: text))
        aligned.appendCopy(of: text, 0..<text.count, shiftedBy: 0)
        return aligned
    }
}

extension MetaspaceNormalizer {
    public func normalizeWithAlignments(_ text: UnsafeBufferPointer<UInt8>, atTextStart: Bool) -> AlignedText? {
        guard !text.isEmpty else { return nil }
        let prepends: Bool
        switch prependScheme {
        case .always: prepends = true
        case .first: prepends = atTextStart
        case .never: prepends = false
        }
        var matches: [Range<Int>] = []
        for index in 0..<text.count where text[index] == 0x20 { matches.append(index..<(index + 1)) }
        let replaced = AlignedText.replacing(matches, with: replacement, in: text)
        guard prepends else { return replaced }
        let current = replaced ?? AlignedText(identity: text)
        if current.bytes.starts(with: replacement) { return replaced }
        var aligned = AlignedText(capacity: replacement.count + current.count)
        aligned.append(replacement, from: current.inputRange(of: 0..<AlignedText.firstCharacterLength(of: current.bytes)))
        aligned.append(current)
        return aligned
    }
}

extension AlignedText {
    /// `text` with each of `matches` (in order, apart) replaced by `replacement`, which comes from the last
    /// character of the match; nil when there are none.
    static func replacing(_ matches: [Range<Int>], with replacement: [UInt8], in text: UnsafeBufferPointer<UInt8>) -> AlignedText? {
        guard !matches.isEmpty else { return nil }
        var aligned = AlignedText(capacity: text.count + text.count / 2)
        var copied = 0
        for match in matches {
            aligned.appendCopy(of: text, copied..<match.lowerBound, shiftedBy: 0)
            var last = max(match.lowerBound, match.upperBound - 1)
            while last > match.lowerBound && text[last] & 0xC0 == 0x80 { last -= 1 }
            aligned.append(replacement, from: last..<max(last + 1, match.upperBound))
            copied = match.upperBound
        }
        aligned.appendCopy(of: text, copied..<text.count, shiftedBy: 0)
        return aligned
    }

    /// The span of the first character of non-empty `text` (one byte if it is ill-formed).
    static func firstCharacter(of text: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        0..<max(UTF8Scan.sequenceLength(in: text, at: 0), 1)
    }

    static func firstCharacterLength(of bytes: [UInt8]) -> Int {
        bytes.withUnsafeBufferPointer { firstCharacter(of: $0).count }
    }

    /// Appends `other`, keeping its spans.
    mutating func append(_ other: AlignedText) {
        bytes += other.bytes
        starts += other.starts
        ends += other.ends
    }
}

extension PrecompiledNormalizer {
    /// Its own rewrite, grapheme by grapheme, with each replacement aligned by Hugging Face's rule
    /// (`AlignedText.forEachCharacterPair`); ill-formed bytes become U+FFFD first, each from its byte.
    public func normalizeWithAlignments(_ text: UnsafeBufferPointer<UInt8>, atTextStart: Bool) -> AlignedText? {
        if let wellFormed = UTF8Scan.replacingIllFormed(text) {
            var repaired = AlignedText(capacity: wellFormed.count)
            var index = 0
            while index < text.count {
                let length = UTF8Scan.sequenceLength(in: text, at: index)
                if length == 0 {
                    repaired.append(UTF8Scan.replacementCharacter, from: index..<(index + 1))
                    index += 1
                } else {
                    repaired.appendCopy(of: text, index..<(index + length), shiftedBy: 0)
                    index += length
                }
            }
            guard let rewritten = wellFormed.withUnsafeBufferPointer({ rewriteWithAlignments($0) }) else { return repaired }
            return rewritten.composed(after: repaired)
        }
        return rewriteWithAlignments(text)
    }

    private func rewriteWithAlignments(_ text: UnsafeBufferPointer<UInt8>) -> AlignedText? {
        guard rewrite(text) != nil else { return nil }
        var aligned = AlignedText(capacity: text.count + text.count / 4)
        func replace(_ range: Range<Int>, with replacement: ArraySlice<UInt8>) {
            replacement.withUnsafeBufferPointer { bytes in
                AlignedText.forEachCharacterPair(replacing: range, in: text, with: bytes) { output, input in
                    aligned.append(bytes[output], from: input)
                }
            }
        }
        ICUBreaks.forEachSegment(TOKC_ICU_GRAPHEMES, in: text) { cluster in
            if cluster.count < 6, let replacement = charsMap.shortestMatch(in: text, from: cluster.lowerBound, to: cluster.upperBound) {
                replace(cluster, with: replacement)
                return
            }
            var start = cluster.lowerBound
            while start < cluster.upperBound {
                let end = start + max(1, UTF8Scan.sequenceLength(in: text, at: start))
                if let replacement = charsMap.shortestMatch(in: text, from: start, to: end) {
                    replace(start..<end, with: replacement)
                } else {
                    aligned.appendCopy(of: text, start..<end, shiftedBy: 0)
                }
                start = end
            }
        }
        return aligned
    }
}
