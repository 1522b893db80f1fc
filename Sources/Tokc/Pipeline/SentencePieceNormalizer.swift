import CICU

/// SentencePiece's normalisation rules as a model file carries them (`precompiled_charsmap`): a double-array trie
/// (darts-clone's layout) from UTF-8 sequences to their replacements, then the replacements, NUL-terminated.
/// The blob is `trie size (UInt32, little-endian)`, the trie's 32-bit units, the replacement strings.
/// The rules are the source of truth: ICU's NFKC is close to `nmt_nfkc` but not identical.
struct PrecompiledCharsMap: Sendable {
    private let units: [UInt32]
    private let replacements: [UInt8]

    /// Nil when the blob is not a charsmap (too short, or a trie size past its end).
    init?(_ blob: [UInt8]) {
        guard blob.count > 4 else { return nil }
        let trieSize = Int(blob[0]) | Int(blob[1]) << 8 | Int(blob[2]) << 16 | Int(blob[3]) << 24
        guard trieSize < blob.count - 4, trieSize % 4 == 0, trieSize > 0 else { return nil }
        var units = [UInt32](repeating: 0, count: trieSize / 4)
        for index in units.indices {
            let at = 4 + index * 4
            units[index] = UInt32(blob[at]) | UInt32(blob[at + 1]) << 8 | UInt32(blob[at + 2]) << 16 | UInt32(blob[at + 3]) << 24
        }
        self.units = units
        replacements = Array(blob[(4 + trieSize)...])
    }

    // darts-clone's unit: a label in the low byte (bit 31 set for a value unit), a leaf flag in bit 8, an offset
    // to the children in bits 10-31 (shifted by 8 more when bit 9 is set); a value unit holds 31 bits of value.
    @inline(__always) private static func hasLeaf(_ unit: UInt32) -> Bool { (unit >> 8) & 1 == 1 }
    @inline(__always) private static func value(_ unit: UInt32) -> Int { Int(unit & 0x7FFF_FFFF) }
    @inline(__always) private static func label(_ unit: UInt32) -> UInt32 { unit & 0x8000_00FF }
    @inline(__always) private static func offset(_ unit: UInt32) -> Int { Int((unit >> 10) << ((unit & (1 << 9)) >> 6)) }

    /// The root's node.
    private var root: Int { Self.offset(units[0]) }

    /// One step down the trie from `node` on `byte`: the child's node and the unit that labelled the step (it
    /// says whether a rule ends there); nil where no rule goes on with `byte`. Every walk below is made of these.
    @inline(__always) private func step(from node: Int, on byte: UInt8) -> (node: Int, unit: UInt32)? {
        let labelled = node ^ Int(byte)
        guard labelled < units.count else { return nil }
        let unit = units[labelled]
        guard Self.label(unit) == UInt32(byte) else { return nil }
        let child = labelled ^ Self.offset(unit)
        guard child < units.count else { return nil }
        return (child, unit)
    }

    /// The shortest rule that matches at `start` within `text[start..<end]` (a NUL byte ends the search):
    /// its replacement's bytes. Hugging Face's `Precompiled` takes this one, where SentencePiece takes the longest.
    func shortestMatch(in text: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> ArraySlice<UInt8>? {
        var node = root
        var index = start
        while index < end && text[index] != 0 {
            guard let (child, unit) = step(from: node, on: text[index]) else { return nil }
            node = child
            index += 1
            if Self.hasLeaf(unit) { return replacement(at: Self.value(units[node])) }
        }
        return nil
    }

    /// Whether some rule matches `bytes` exactly or starts with them.
    func hasRule(startingWith bytes: [UInt8]) -> Bool {
        var node = root
        for byte in bytes {
            guard let (child, _) = step(from: node, on: byte) else { return false }
            node = child
        }
        return true
    }

    /// Calls `body` with every character (its UTF-8) that some rule continues with right after `bytes`:
    /// the children of `bytes`' node, followed for as many bytes as each first byte's character has.
    func forEachNextCharacter(after bytes: [UInt8], _ body: ([UInt8]) -> Void) {
        var node = root
        for byte in bytes {
            guard let (child, _) = step(from: node, on: byte) else { return }
            node = child
        }
        func descend(_ node: Int, _ prefix: [UInt8], remaining: Int) {
            guard remaining > 0 else { return body(prefix) }
            for byte in UInt8.min...UInt8.max {
                if let (child, _) = step(from: node, on: byte) { descend(child, prefix + [byte], remaining: remaining - 1) }
            }
        }
        for first in UInt8.min...UInt8.max {
            guard let (child, _) = step(from: node, on: first) else { continue }
            let length = first < 0x80 ? 1 : first < 0xE0 ? 2 : first < 0xF0 ? 3 : 4
            descend(child, [first], remaining: length - 1)
        }
    }

    /// The ASCII bytes some rule's key holds after its first byte; nil when the trie runs deeper than any
    /// real rule (a broken blob, which could loop).
    func asciiAfterFirstByte() -> ASCIIBits? {
        var found = ASCIIBits()
        var broken = false
        func descend(_ node: Int, depth: Int) {
            guard !broken else { return }
            guard depth < 64 else { broken = true; return }
            for byte in UInt8(1)...UInt8.max {
                guard let (child, _) = step(from: node, on: byte) else { continue }
                if depth > 0 && byte < 0x80 { found.insert(byte) }
                descend(child, depth: depth + 1)
            }
        }
        descend(root, depth: 0)
        return broken ? nil : found
    }

    /// The NUL-terminated replacement at `offset`; nil past the end (a broken blob).
    private func replacement(at offset: Int) -> ArraySlice<UInt8>? {
        guard offset < replacements.count else { return nil }
        let end = replacements[offset...].firstIndex(of: 0) ?? replacements.count
        return replacements[offset..<end]
    }

    /// The longest rule that matches at `start`: how many bytes it consumes and its replacement's bytes.
    func longestMatch(in text: UnsafeBufferPointer<UInt8>, from start: Int) -> (length: Int, replacement: ArraySlice<UInt8>)? {
        var node = root
        var found: (length: Int, value: Int)? = nil
        var index = start
        while index < text.count {
            guard let (child, unit) = step(from: node, on: text[index]) else { break }
            node = child
            index += 1
            if Self.hasLeaf(unit) { found = (index - start, Self.value(units[node])) }
        }
        guard let found, let replacement = replacement(at: found.value) else { return nil }
        return (found.length, replacement)
    }
}

/// SentencePiece's `Normalizer`, exactly: user-defined pieces pass as they are, the charsmap's longest rule
/// rewrites the rest (an ill-formed byte becomes U+FFFD), `▁` is put in front (`add_dummy_prefix`), runs of
/// spaces collapse and leading and trailing ones go (`remove_extra_whitespaces`), and spaces become `▁`
/// (`escape_whitespaces`).
public struct SentencePieceNormalizer: Normalizer {
    let charsMap: PrecompiledCharsMap?
    let spec: SentencePieceModel.Normalization
    let treatWhitespaceAsSuffix: Bool
    /// User-defined pieces, longest first: they are matched before the rules and never rewritten.
    let userDefined: [[UInt8]]

    static let space: [UInt8] = [0xE2, 0x96, 0x81]  // ▁

    /// `passesThrough[b << 8 | next]`: the ASCII byte `b` (not a space) normalises to itself when `next`
    /// follows it: no rule of the charsmap matches `b` or starts with `b next`, and no user-defined piece
    /// starts with `b`. Runs of such bytes are copied whole (most of European text), skipping the rule walk per
    /// character. (nmt_nfkc has rules starting with ASCII letters, letter plus combining mark, so the byte
    /// after counts.) At the text's end, `passesThroughAtEnd[b]`.
    let passesThrough: [Bool]
    let passesThroughAtEnd: [Bool]
    /// The ASCII bytes that pass through whatever ASCII byte follows them (and at the end): bit `b` of the
    /// 128. The copy loop tests these in registers, not the 64 KB pair table, and reads the pair table only
    /// before a non-ASCII byte (cachegrind: the table lookup was 14% of Unigram encoding on English).
    let passesBeforeASCII: (low: UInt64, high: UInt64)
    /// Whether a two- or three-byte character normalises to itself (`Passage`), indexed by its payload bits: 11
    /// for two bytes, 16 for three. Characters no rule starts with pass whatever follows (most of CJK text);
    /// characters that rules only *join* with what follows (a kana and a combining voiced mark, a Latin letter
    /// and a combining accent) pass unless the next character is one those rules continue with
    /// (`continuingCharacters`). Without the second kind every kana took the rule walk: cachegrind put the
    /// normaliser at 40% of Unigram encoding on Japanese.
    let twoBytePassage: [Passage]
    let threeBytePassage: [Passage]
    /// The characters some `.unlessJoined` character's rules continue with: ASCII by bit, two- and three-byte
    /// characters by payload. (Four-byte and ill-formed next characters are taken as continuing: the rule walk
    /// is always exact, this set only lets characters skip it.)
    let continuingCharacters: (ascii: (UInt64, UInt64), two: [Bool], three: [Bool])

    enum Passage: UInt8 {
        /// A rule or a user-defined piece starts with it: the rule walk decides.
        case walk
        /// No rule starts with it.
        case always
        /// Rules start with it but none is it alone: it passes unless a rule continues with the next character.
        case unlessJoined
    }
    /// Whether a space (0x20) is only a space: no rule and no user-defined piece starts with it. Then a space is
    /// written as `▁` (or kept) without a rule walk, the commonest character after letters.
    let spaceIsPlain: Bool
    /// Where a text may be cut (`cuts`), worked out from the rules on first use (a walk of the whole trie).
    let spaceCuts: BuiltOnFirstUse<TextCutsBox>

    init(model: SentencePieceModel, path: String) throws(TokcError) {
        spec = model.normalization
        treatWhitespaceAsSuffix = model.treatWhitespaceAsSuffix
        userDefined = model.pieces.filter { $0.type == .userDefined }.map(\.text).sorted { $0.count > $1.count }
        if spec.precompiledCharsMap.isEmpty {
            charsMap = nil
        } else {
            guard let map = PrecompiledCharsMap(spec.precompiledCharsMap) else {
                throw .invalidVocabulary(path: path, reason: "normalizer_spec.precompiled_charsmap is broken: its trie size runs past its end")
            }
            charsMap = map
        }
        var passesThrough = [Bool](repeating: false, count: 1 << 16)
        var passesThroughAtEnd = [Bool](repeating: false, count: 256)
        let (map, userFirstBytes) = (charsMap, Set(userDefined.compactMap(\.first)))
        for byte in UInt8(0x21)..<0x80 where !userFirstBytes.contains(byte) {
            guard let map, map.hasRule(startingWith: [byte]) else {
                for next in 0..<256 { passesThrough[Int(byte) << 8 | next] = true }
                passesThroughAtEnd[Int(byte)] = true
                continue
            }
            // A rule starts with it: it passes only where no rule is `byte` alone and none goes on with `next`.
            let bytes: [UInt8] = [byte]
            guard bytes.withUnsafeBufferPointer({ map.longestMatch(in: $0, from: 0) }) == nil else { continue }
            passesThroughAtEnd[Int(byte)] = true
            for next in 0..<256 where !map.hasRule(startingWith: [byte, UInt8(next)]) {
                passesThrough[Int(byte) << 8 | next] = true
            }
        }
        self.passesThrough = passesThrough
        self.passesThroughAtEnd = passesThroughAtEnd
        var beforeASCII: (low: UInt64, high: UInt64) = (0, 0)
        for byte in 0..<128 where passesThroughAtEnd[byte] && (0..<128).allSatisfy({ passesThrough[byte << 8 | $0] }) {
            if byte < 64 { beforeASCII.low |= 1 << UInt64(byte) } else { beforeASCII.high |= 1 << UInt64(byte - 64) }
        }
        passesBeforeASCII = beforeASCII
        var continuing: (ascii: (UInt64, UInt64), two: [Bool], three: [Bool]) = ((0, 0), .init(repeating: false, count: 1 << 11), .init(repeating: false, count: 1 << 16))
        func passage(of bytes: [UInt8]) -> Passage {
            guard !userFirstBytes.contains(bytes[0]) else { return .walk }
            guard let map, map.hasRule(startingWith: bytes) else { return .always }
            guard bytes.withUnsafeBufferPointer({ map.longestMatch(in: $0, from: 0) }) == nil else { return .walk }
            map.forEachNextCharacter(after: bytes) { next in
                switch next.count {
                case 1:
                    if next[0] < 64 { continuing.ascii.0 |= 1 << UInt64(next[0]) } else { continuing.ascii.1 |= 1 << UInt64(next[0] & 63) }
                case 2: continuing.two[UTF8Scan.twoByteValue(next[0], next[1])] = true
                case 3: continuing.three[UTF8Scan.threeByteValue(next[0], next[1], next[2])] = true
                default: break  // four-byte next characters always take the walk
                }
            }
            return .unlessJoined
        }
        twoBytePassage = (0..<(1 << 11)).map { (payload: Int) -> Passage in
            passage(of: [UInt8(0xC0 | payload >> 6), UInt8(0x80 | payload & 0x3F)])
        }
        threeBytePassage = (0..<(1 << 16)).map { (payload: Int) -> Passage in
            let (lead, second, third) = UTF8Scan.threeByteSequence(of: payload)
            return passage(of: [lead, second, third])
        }
        continuingCharacters = continuing
        spaceIsPlain = !userFirstBytes.contains(0x20) && !(map?.hasRule(startingWith: [0x20]) ?? false)
        let (spec, suffix, plain) = (model.normalization, model.treatWhitespaceAsSuffix, spaceIsPlain)
        let (user, through, throughAtEnd) = (model.pieces.filter { $0.type == .userDefined }.map(\.text), passesThrough, passesThroughAtEnd)
        spaceCuts = BuiltOnFirstUse {
            TextCutsBox(Self.spaceCuts(
                spec: spec, treatWhitespaceAsSuffix: suffix, spaceIsPlain: plain, userDefined: user, charsMap: map,
                passesThrough: through, passesThroughAtEnd: throughAtEnd))
        }
    }

    /// A space after an ASCII character `c` that is not white space, the space dropped
    /// (`TextCuts.sentencePieceSpaces`): the text before normalises to what the whole's does up to `c` (no rule
    /// and no user-defined piece holds `c` or a space after its first byte, so the step that writes `c` starts at
    /// `c` and writes `c` alone, whether a space or the end follows it), and the text after normalises, with `▁`
    /// put in front, to the whole's from the space's `▁` on: where white space collapses, leading white space is
    /// dropped from the part as the whole drops it after the space's `▁` (and a part that is all white space
    /// goes, as the whole's trailing white space does); where it does not, the part's `▁` in front is the
    /// space's. So it needs the dummy prefix, `▁` for spaces, a space no rule rewrites, and `▁` in front (not as
    /// a suffix); else there is no place.
    static func spaceCuts(
        spec: SentencePieceModel.Normalization, treatWhitespaceAsSuffix: Bool, spaceIsPlain: Bool, userDefined: [[UInt8]],
        charsMap: PrecompiledCharsMap?, passesThrough: [Bool], passesThroughAtEnd: [Bool]
    ) -> TextCuts {
        guard spec.addDummyPrefix, spec.escapeWhitespaces, !treatWhitespaceAsSuffix, spaceIsPlain,
              var inside = charsMap == nil ? ASCIIBits() : charsMap?.asciiAfterFirstByte()
        else { return .none }
        for piece in userDefined { inside = inside.union(ASCIIBits(piece.dropFirst())) }
        guard !inside.contains(0x20) else { return .none }
        var after = ASCIIBits()
        for byte in UInt8(0x21)...0x7E where passesThrough[Int(byte) << 8 | 0x20] && passesThroughAtEnd[Int(byte)] && !inside.contains(byte) {
            after.insert(byte)
        }
        return .sentencePieceSpaces(after: after)
    }

    public var cuts: TextCuts { spaceCuts.value.cuts }

    /// The replacement of the longest prefix at `start` (a slice of the rules, of a user-defined piece, or of
    /// the text itself, so nothing is allocated per character), and how many bytes it consumes.
    @inline(__always)
    private func withNormalizedPrefix<Result>(
        _ text: UnsafeBufferPointer<UInt8>, at start: Int, _ body: (UnsafeBufferPointer<UInt8>, Int) -> Result
    ) -> Result {
        for piece in userDefined where text.count - start >= piece.count {
            if text[start..<(start + piece.count)].elementsEqual(piece) { return body(UnsafeBufferPointer(rebasing: text[start..<(start + piece.count)]), piece.count) }
        }
        if let match = charsMap?.longestMatch(in: text, from: start) {
            return match.replacement.withUnsafeBufferPointer { body($0, match.length) }
        }
        let length = UTF8Scan.sequenceLength(in: text, at: start)
        guard length > 0 else { return UTF8Scan.replacementCharacter.withUnsafeBufferPointer { body($0, 1) } }
        return body(UnsafeBufferPointer(rebasing: text[start..<(start + length)]), length)
    }

    @inline(__always) private func passesThrough(_ text: UnsafeBufferPointer<UInt8>, at index: Int) -> Bool {
        index + 1 < text.count
            ? passesThrough[Int(text[index]) << 8 | Int(text[index + 1])]
            : passesThroughAtEnd[Int(text[index])]
    }

    /// The length of the character at `index` when it normalises to itself (given what follows it), else 0.
    @inline(__always) private func passThroughLength(_ text: UnsafeBufferPointer<UInt8>, at index: Int) -> Int {
        let lead = text[index]
        if lead < 0x80 { return passesThrough(text, at: index) ? 1 : 0 }
        // Well-formed only: an ill-formed byte becomes U+FFFD, which the rule path writes.
        let passage: Passage
        let length = UTF8Scan.sequenceLength(in: text, at: index)
        switch length {
        case 2:
            passage = twoBytePassage[UTF8Scan.twoByteValue(lead, text[index + 1])]
        case 3:
            passage = threeBytePassage[UTF8Scan.threeByteValue(lead, text[index + 1], text[index + 2])]
        default:
            return 0
        }
        switch passage {
        case .always: return length
        case .walk: return 0
        case .unlessJoined: return nextJoins(text, at: index + length) ? 0 : length
        }
    }

    /// Whether the character at `index` may continue a rule (see `continuingCharacters`); false at the end.
    @inline(__always) private func nextJoins(_ text: UnsafeBufferPointer<UInt8>, at index: Int) -> Bool {
        guard index < text.count else { return false }
        let lead = text[index]
        if lead < 0x80 {
            return (lead < 64 ? continuingCharacters.ascii.0 : continuingCharacters.ascii.1) >> UInt64(lead & 63) & 1 != 0
        }
        switch UTF8Scan.sequenceLength(in: text, at: index) {
        case 2: return continuingCharacters.two[UTF8Scan.twoByteValue(lead, text[index + 1])]
        case 3: return continuingCharacters.three[UTF8Scan.threeByteValue(lead, text[index + 1], text[index + 2])]
        default: return true
        }
    }

    public func normalize(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var output = ByteWriter(capacity: text.count * 3 / 2 + 3)
        write(text, into: &output)
        return output.finish()
    }

    /// The one normalising loop, for `normalize` (a `ByteWriter`, sources ignored) and for offsets (an
    /// `AlignedText`): every byte written names the input bytes it came from.
    func write<Output: NormalizedOutput & ~Copyable>(_ text: UnsafeBufferPointer<UInt8>, into output: inout Output) {
        var input = 0
        if spec.removeExtraWhitespaces {
            while input < text.count {
                let consumed = withNormalizedPrefix(text, at: input) { replacement, consumed in
                    replacement.count == 1 && replacement[0] == 0x20 ? consumed : 0
                }
                guard consumed > 0 else { break }
                input += consumed
            }
        }
        guard input < text.count else { return }
        let escapes = spec.escapeWhitespaces
        let space = escapes ? Self.space : [0x20]
        @inline(__always) func appendSpace(_ output: inout Output, from source: Range<Int>) {
            if escapes {
                output.append(0xE2, from: source)
                output.append(0x96, from: source)
                output.append(0x81, from: source)
            } else {
                output.append(0x20, from: source)
            }
        }
        // The dummy prefix comes from the first character, as Hugging Face's `Prepend` has it.
        if !treatWhitespaceAsSuffix && spec.addDummyPrefix {
            appendSpace(&output, from: input..<(input + max(UTF8Scan.sequenceLength(in: text, at: input), 1)))
        }
        var previousIsSpace = spec.removeExtraWhitespaces
        let spaceIsPlain = self.spaceIsPlain
        while input < text.count {
            if spaceIsPlain && text[input] == 0x20 {
                // What the rule path below does with a space no rule rewrites: drop it after a space when
                // spaces collapse, else write it.
                if !previousIsSpace { appendSpace(&output, from: input..<(input + 1)) }
                previousIsSpace = spec.removeExtraWhitespaces
                input += 1
                continue
            }
            var end = input
            let (low, high) = passesBeforeASCII
            while end < text.count {
                let byte = text[end]
                if byte < 0x80 && (byte < 64 ? low : high) >> UInt64(byte & 63) & 1 != 0
                    && (end + 1 == text.count || text[end + 1] < 0x80) {
                    end += 1
                    continue
                }
                let length = passThroughLength(text, at: end)
                if length == 0 { break }
                end += length
            }
            if end > input {
                output.appendCopy(of: text, input..<end)
                previousIsSpace = false
                input = end
                continue
            }
            input += withNormalizedPrefix(text, at: input) { replacement, consumed in
                let source = input..<(input + consumed)
                var from = 0
                if previousIsSpace { while from < replacement.count && replacement[from] == 0x20 { from += 1 } }
                if from < replacement.count {
                    for byte in replacement[from...] {
                        if byte == 0x20 { appendSpace(&output, from: source) } else { output.append(byte, from: source) }
                    }
                    previousIsSpace = replacement[replacement.count - 1] == 0x20
                }
                return consumed
            }
            if !spec.removeExtraWhitespaces { previousIsSpace = false }
        }
        if spec.removeExtraWhitespaces {
            while output.ends(with: space) { output.removeLast(space.count) }
        }
        if treatWhitespaceAsSuffix && spec.addDummyPrefix {
            let last = max(0, text.count - 1)
            appendSpace(&output, from: last..<text.count)
        }
    }

    public func normalizeWithAlignments(_ text: UnsafeBufferPointer<UInt8>, atTextStart: Bool) -> AlignedText? {
        var output = AlignedText(capacity: text.count * 3 / 2 + 3)
        write(text, into: &output)
        return output
    }
}

/// Hugging Face's `Precompiled` normaliser, exactly: the same charsmap as SentencePiece's, applied differently.
/// The text is cut into grapheme clusters (ICU, UAX #29); a cluster under 6 bytes is replaced whole by the
/// replacement of the *shortest* rule that matches at its start (the rest of the cluster is dropped, as Hugging
/// Face does); any other cluster, or one no rule matches, is rewritten one code point at a time. So `e` + U+0301
/// becomes `é` by the two-character rule, where SentencePiece's longest match gives the same by another road,
/// and the two differ on a few clusters: this type is for `tokenizer.json` files, `SentencePieceNormalizer`
/// for `.model` files.
///
/// Ill-formed UTF-8 becomes U+FFFD first (Hugging Face takes only well-formed text).
public struct PrecompiledNormalizer: Normalizer {
    let charsMap: PrecompiledCharsMap

    /// Nil when the blob is not a charsmap.
    init?(charsMap blob: [UInt8]) {
        guard let charsMap = PrecompiledCharsMap(blob) else { return nil }
        self.charsMap = charsMap
    }

    public func normalize(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        if let wellFormed = UTF8Scan.replacingIllFormed(text) {
            return wellFormed.withUnsafeBufferPointer { rewrite($0) ?? wellFormed }
        }
        return rewrite(text)
    }

    /// The rewritten text; nil when no rule applies anywhere.
    func rewrite(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var output: [UInt8]? = nil
        var copied = 0  // text[..<copied] is in output already
        func replace(_ range: Range<Int>, with replacement: ArraySlice<UInt8>) {
            if output == nil { output = []; output!.reserveCapacity(text.count + text.count / 4) }
            output!.append(contentsOf: UnsafeBufferPointer(rebasing: text[copied..<range.lowerBound]))
            output!.append(contentsOf: replacement)
            copied = range.upperBound
        }
        ICUBreaks.forEachSegment(TOKC_ICU_GRAPHEMES, in: text) { cluster in
            if cluster.count < 6, let replacement = charsMap.shortestMatch(in: text, from: cluster.lowerBound, to: cluster.upperBound) {
                replace(cluster, with: replacement)
                return
            }
            var start = cluster.lowerBound
            while start < cluster.upperBound {
                let end = start + max(1, UTF8Scan.sequenceLength(in: text, at: start))
                if let replacement = charsMap.shortestMatch(in: text, from: start, to: end) { replace(start..<end, with: replacement) }
                start = end
            }
        }
        guard var result = output else { return nil }
        result.append(contentsOf: UnsafeBufferPointer(rebasing: text[copied...]))
        return result
    }
}
