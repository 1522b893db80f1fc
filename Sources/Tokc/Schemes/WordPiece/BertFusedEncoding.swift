import Synchronization

/// What BERT's normaliser makes of each code point of the Basic Multilingual Plane, and what its pre-tokenizer
/// then does with it, so `WordPieceEncoder.encodeBert` can run normaliser, split and WordPiece in one pass over
/// the input bytes, without a normalised copy of the text and without ICU for the characters it has seen.
///
/// Every step of `BertNormalizer` maps one code point (clean-up, the spaces around CJK ideographs, NFD's
/// decomposition, the dropped marks, lowercasing) except NFD's canonical reordering of combining marks, which
/// changes the output only when two marks that survive stripping meet. So each code point's result is taken
/// from `BertNormalizer` itself, run on that one character, and a character whose result holds a surviving
/// mark (combining class not 0), splits into more than one piece, or is longer than 15 bytes is `complex`: the
/// fused loop hands it and the characters around it that could reorder with it to the normaliser (see
/// `WordPieceEncoder.encodeBert`).
///
/// The map covers the first four planes (`mappedLimit`), filled in blocks of 256 code points, each on first
/// use and then shared by every thread (an atomic load a character); the CJK ideograph and Hangul syllable
/// blocks are filled without the normaliser, and `BertFusedEncodingTests` checks those blocks both ways.
struct BertCharacterMap: @unchecked Sendable {  // Invariant: blocks are written once, before they are published.
    /// What a character becomes (bits 0–2 of an entry).
    enum Kind: UInt32 {
        /// Part of a word: its normalised bytes join the current word.
        case word = 0
        /// Removed by the normaliser (control and format characters, a lone nonspacing mark).
        case dropped = 1
        /// White space: ends the current word.
        case space = 2
        /// A word of its own (punctuation, a CJK ideograph): ends the current word, is one character.
        case ownWord = 3
        /// Left to the normaliser (see the type's comment).
        case complex = 7
    }

    /// An entry: the kind in bits 0–2. For `word`: bit 3 set when the bytes are the input's own, else bits
    /// 4–7 the byte count and bits 12–31 the offset of the bytes in the block's pool. For `ownWord`: bits
    /// 8–28 the normalised character's code point.
    typealias Entry = UInt32

    /// Per byte below 0x80, what it becomes: `asciiSpace`, `asciiPunctuation` (a word of its own), `asciiDropped`,
    /// or the byte the word gets (lowercased); at and above 0x80, `notASCII`.
    let ascii: UnsafeMutablePointer<UInt8>
    static let asciiSpace: UInt8 = 0, asciiPunctuation: UInt8 = 1, asciiDropped: UInt8 = 2, notASCII: UInt8 = 3

    /// Whether `ascii` maps every lowercase letter to itself (it does in every setting), which the fused loop's
    /// eight-byte step takes for granted.
    let keepsLowercaseLetters: Bool

    /// The code points the map covers: the Basic Multilingual Plane and the next three (emoji, the CJK
    /// extensions); those above (tags, variation selectors, private use) are always `complex`.
    static let mappedLimit = 0x40000

    /// The blocks' entries (then their pools), as pointer bits; 0 until built.
    private let blocks: UnsafeMutablePointer<Atomic<Int>>
    let normalizer: BertNormalizer

    private init(normalizer: BertNormalizer) {
        self.normalizer = normalizer
        blocks = .allocate(capacity: Self.mappedLimit >> 8)
        for index in 0..<(Self.mappedLimit >> 8) { (blocks + index).initialize(to: Atomic<Int>(0)) }
        ascii = .allocate(capacity: 256)
        ascii.initialize(repeating: Self.notASCII, count: 256)
        let first = Self.buildBlock(0, normalizer: normalizer, shortcuts: true)
        for byte in 0..<0x80 {
            let entry = first[byte]
            switch Kind(rawValue: entry & 7) {
            case .space: ascii[byte] = Self.asciiSpace
            case .dropped: ascii[byte] = Self.asciiDropped
            case .ownWord: ascii[byte] = entry >> 8 < 0x80 ? Self.asciiPunctuation : Self.notASCII
            case .word where entry & 8 != 0 && byte >= 4:
                ascii[byte] = UInt8(byte)
            case .word where (entry >> 4) & 15 == 1:
                let lowered = (UnsafeRawPointer(first + 256) + Int(entry >> 12)).load(as: UInt8.self)
                ascii[byte] = lowered >= 4 && lowered < 0x80 ? lowered : Self.notASCII
            default: ascii[byte] = Self.notASCII
            }
        }
        let table = ascii
        keepsLowercaseLetters = (0x61...0x7A).allSatisfy { table[$0] == UInt8($0) }
        blocks[0].store(Int(bitPattern: UnsafeRawPointer(first)), ordering: .releasing)
    }

    /// The map of `normalizer`'s settings, if the fused loop can run them: it needs the clean-up (ill-formed
    /// bytes and control characters dropped) and the CJK spacing; accents and case may go either way.
    static func forNormalizer(_ normalizer: BertNormalizer) -> BertCharacterMap? {
        guard normalizer.cleanText && normalizer.handleChineseCharacters else { return nil }
        switch (normalizer.stripAccents, normalizer.lowercase) {
        case (true, true): return uncased
        case (false, false): return cased
        case (true, false): return accentsStripped
        case (false, true): return lowercased
        }
    }

    private static let uncased = BertCharacterMap(normalizer: BertNormalizer(stripAccents: true, lowercase: true))
    private static let cased = BertCharacterMap(normalizer: BertNormalizer(stripAccents: false, lowercase: false))
    private static let accentsStripped = BertCharacterMap(normalizer: BertNormalizer(stripAccents: true, lowercase: false))
    private static let lowercased = BertCharacterMap(normalizer: BertNormalizer(stripAccents: false, lowercase: true))

    /// The entry of a code point below `mappedLimit`.
    @inline(__always)
    func entry(_ value: Int) -> Entry {
        let bits = blocks[value >> 8].load(ordering: .acquiring)
        if bits != 0 { return UnsafePointer<Entry>(bitPattern: bits).unsafelyUnwrapped[value & 255] }
        return entryBuildingBlock(value)
    }

    /// The pool bytes of a `word` entry that is not the input's own.
    @inline(__always)
    func poolBytes(of entry: Entry, at value: Int) -> UnsafePointer<UInt8> {
        let bits = blocks[value >> 8].load(ordering: .acquiring)
        return UnsafeRawPointer(bitPattern: bits).unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self) + 256 * 4 + Int(entry >> 12)
    }

    @inline(never)
    private func entryBuildingBlock(_ value: Int) -> Entry {
        let built = Self.buildBlock(value >> 8, normalizer: normalizer, shortcuts: true)
        let (exchanged, original) = blocks[value >> 8].compareExchange(
            expected: 0, desired: Int(bitPattern: UnsafeRawPointer(built)), ordering: .acquiringAndReleasing)
        if exchanged { return built[value & 255] }
        built.deallocate()  // another thread published the block first
        return UnsafePointer<Entry>(bitPattern: original).unsafelyUnwrapped[value & 255]
    }

    /// The entries of block `block` (code points `block << 8` up), followed by their pool, in one allocation
    /// that lives as long as the process. `shortcuts: false` asks the normaliser about every code point.
    static func buildBlock(_ block: Int, normalizer: BertNormalizer, shortcuts: Bool) -> UnsafeMutablePointer<Entry> {
        var entries = [Entry](repeating: Kind.complex.rawValue, count: 256)
        var pool: [UInt8] = []
        for offset in 0..<256 {
            let value = block << 8 | offset
            guard let scalar = Unicode.Scalar(UInt32(value)) else { continue }  // a surrogate: never decoded
            if shortcuts, let entry = shortcutEntry(scalar, normalizer: normalizer, pool: &pool) {
                entries[offset] = entry
            } else {
                entries[offset] = computedEntry(scalar, normalizer: normalizer, pool: &pool)
            }
        }
        let raw = UnsafeMutableRawPointer.allocate(byteCount: 256 * 4 + pool.count, alignment: 8)
        let typed = raw.bindMemory(to: Entry.self, capacity: 256)
        typed.initialize(from: entries, count: 256)
        pool.withUnsafeBytes { (raw + 256 * 4).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return typed
    }

    /// The entry of the ranges whose answer is known without the normaliser: the CJK ideographs of the main
    /// block and Extension A (no decomposition, no case, no trait: a word of their own, as they are) and the
    /// Hangul syllables (letters without case; NFD splits them into two or three jamo by arithmetic).
    private static func shortcutEntry(_ scalar: Unicode.Scalar, normalizer: BertNormalizer, pool: inout [UInt8]) -> Entry? {
        let value = scalar.value
        if (0x4E00...0x9FFF).contains(value) || (0x3400...0x4DBF).contains(value) {
            return Kind.ownWord.rawValue | value << 8
        }
        guard (0xAC00...0xD7A3).contains(value) else { return nil }
        guard normalizer.stripAccents else { return Kind.word.rawValue | 8 }
        let index = value - 0xAC00
        var jamo = [0x1100 + index / 588, 0x1161 + (index % 588) / 28]
        if index % 28 != 0 { jamo.append(0x11A7 + index % 28) }
        return wordEntry(UTF8Scan.encode(scalarValues: jamo), pool: &pool)
    }

    private static func wordEntry(_ bytes: [UInt8], pool: inout [UInt8]) -> Entry {
        let entry = Kind.word.rawValue | UInt32(bytes.count) << 4 | UInt32(pool.count) << 12
        pool += bytes
        return entry
    }

    /// The entry from `BertNormalizer` run on the one character, and `BertPreTokenizer`'s view of the result.
    static func computedEntry(_ scalar: Unicode.Scalar, normalizer: BertNormalizer, pool: inout [UInt8]) -> Entry {
        let source = Array(String(scalar).utf8)
        let normalized = source.withUnsafeBufferPointer { normalizer.normalize($0) } ?? source
        if normalized.isEmpty { return Kind.dropped.rawValue }
        if normalized == [0x20] { return Kind.space.rawValue }
        var inner = normalized
        if BertNormalizer.isCJKIdeograph(scalar.value) {
            // The normaliser put a space before and after it.
            guard inner.count > 2, inner.first == 0x20, inner.last == 0x20 else { return Kind.complex.rawValue }
            inner = Array(inner.dropFirst().dropLast())
        }
        let values = UTF8Scan.scalarValues(of: inner)
        guard inner.count <= 15, !values.isEmpty else { return Kind.complex.rawValue }
        var punctuation = false
        for value in values {
            guard let character = Unicode.Scalar(value), character.properties.canonicalCombiningClass.rawValue == 0 else {
                return Kind.complex.rawValue
            }
            let split = BertPreTokenizer.split(of: character)
            if split.isSpace { return Kind.complex.rawValue }
            punctuation = punctuation || split.isPunctuation
        }
        if punctuation || BertNormalizer.isCJKIdeograph(scalar.value) {
            guard values.count == 1 else { return Kind.complex.rawValue }
            return Kind.ownWord.rawValue | values[0] << 8
        }
        if inner == source { return Kind.word.rawValue | 8 }
        return wordEntry(inner, pool: &pool)
    }
}

/// Tables for the fused loop's words, built from a WordPiece vocabulary on its first BERT encode, per
/// character of the plane (ASCII bytes are characters 0–127): the id of its one-character token, first and
/// continuing (a punctuation mark or CJK ideograph, a word of its own, costs one load), and the length of the
/// longest token that starts with it (the greedy match tries nothing longer: a kana word no longer tries six
/// lengths for each token it finds).
final class WordPieceCharacterIDs: @unchecked Sendable {  // Invariant: written in init only.
    struct Tables {
        /// The id of the character as a first token, `none` if it is not one.
        let firstIDs: UnsafeMutablePointer<TokenID>
        /// The id of `##` and the character, `none` if that is not a token.
        let continuationIDs: UnsafeMutablePointer<TokenID>
        /// The longest first token that starts with the character, in bytes (0: none;
        /// `longestUnknown`: at least that long, the encoder's `longestToken` applies).
        let firstLongest: UnsafeMutablePointer<UInt8>
        /// The same for continuations, measured after the prefix.
        let continuationLongest: UnsafeMutablePointer<UInt8>
    }

    static let none = TokenID.max
    static let longestUnknown = 255
    let tables: Tables

    init(tokens: TokenTable, continuations: TokenTable) {
        tables = Tables(
            firstIDs: .allocate(capacity: 0x10000), continuationIDs: .allocate(capacity: 0x10000),
            firstLongest: .allocate(capacity: 0x10000), continuationLongest: .allocate(capacity: 0x10000))
        tables.firstIDs.initialize(repeating: Self.none, count: 0x10000)
        tables.continuationIDs.initialize(repeating: Self.none, count: 0x10000)
        tables.firstLongest.initialize(repeating: 0, count: 0x10000)
        tables.continuationLongest.initialize(repeating: 0, count: 0x10000)
        func record(_ id: TokenID, _ bytes: UnsafeBufferPointer<UInt8>, _ ids: UnsafeMutablePointer<TokenID>, _ longest: UnsafeMutablePointer<UInt8>) {
            guard !bytes.isEmpty else { return }
            let length = UTF8Scan.sequenceLength(in: bytes, at: 0)
            guard length >= 1 && length <= 3 else { return }  // the words' characters above the plane use no table
            let value = Int(UTF8Scan.scalar(in: bytes, at: 0, length: length).value)
            longest[value] = UInt8(max(Int(longest[value]), min(bytes.count, Self.longestUnknown)))
            if length == bytes.count { ids[value] = id }
        }
        tokens.forEachToken { record($0, $1, tables.firstIDs, tables.firstLongest) }
        continuations.forEachToken { record($0, $1, tables.continuationIDs, tables.continuationLongest) }
    }

    deinit {
        tables.firstIDs.deallocate()
        tables.continuationIDs.deallocate()
        tables.firstLongest.deallocate()
        tables.continuationLongest.deallocate()
    }
}

extension BertPreTokenizer {
    /// How the split treats one character of normalised text.
    @inline(__always)
    static func split(of scalar: Unicode.Scalar) -> (isSpace: Bool, isPunctuation: Bool) {
        let value = scalar.value
        if value < 0x80 {
            let byte = UInt8(value)
            return (byte == 0x20 || (byte >= 0x09 && byte <= 0x0D),
                    (byte >= 33 && byte <= 47) || (byte >= 58 && byte <= 64) || (byte >= 91 && byte <= 96) || (byte >= 123 && byte <= 126))
        }
        let traits = BertCharacterTraits.of(scalar)
        return (traits.contains(.whitespace), traits.contains(.punctuation))
    }
}

extension WordPieceEncoder {
    /// `normalizer`, `BertPreTokenizer` and this encoder on `text` in one pass: the same tokens as the three in
    /// turn (`BertFusedEncodingTests` and the `bert` fuzz target compare them), without the normalised copy,
    /// without ICU for characters of the plane, each word cut while it is still in cache.
    ///
    /// Words are gathered, normalised, in a buffer; a word longer than `maxCharactersPerWord` is one unknown
    /// token. A `complex` character (see `BertCharacterMap`) goes to the normaliser with the characters after
    /// it up to the next one that cannot reorder with it (an ASCII byte that is not dropped, white space, a CJK
    /// ideograph): combining marks reorder only among themselves, and the characters before it have no mark
    /// left to meet. The loop's state is plain locals (no nested function captures them), so it stays in
    /// registers.
    func encodeBert<Sink: TokenSink>(
        _ text: UnsafeBufferPointer<UInt8>, map: BertCharacterMap, into sink: inout Sink
    ) {
        guard let base = text.baseAddress, !text.isEmpty else { return }
        let ascii = map.ascii
        let owner = characterIDs.value
        let tables = owner.tables
        // Four bytes at most per character: a word past `4 * maxCharactersPerWord` bytes is past the limit.
        let capacity = 4 * maxCharactersPerWord + 16
        // The word, with room for an eight-byte store past `capacity`, then its tokens as the match finds them.
        let foundOffset = (capacity + 8 + 7) & ~7
        // Long texts get a cache of short words' tokens (see `WordCache`), after the found tokens.
        let cacheOffset = (foundOffset + capacity * MemoryLayout<FoundToken>.stride + 63) & ~63
        let cached = text.count >= WordCache.minimumText
        let bytes = cacheOffset + (cached ? WordCache.count * MemoryLayout<WordCache.Entry>.stride : 0)
        ScratchSpace.withBuffer(of: UInt8.self, capacity: bytes) { buffer in
            let word = buffer.baseAddress!
            let found = UnsafeMutableRawPointer(word + foundOffset).bindMemory(to: FoundToken.self, capacity: capacity)
            var cache: UnsafeMutablePointer<WordCache.Entry>? = nil
            if cached {
                let entries = UnsafeMutableRawPointer(word + cacheOffset)
                entries.initializeMemory(as: UInt8.self, repeating: 0, count: WordCache.count * MemoryLayout<WordCache.Entry>.stride)
                cache = entries.bindMemory(to: WordCache.Entry.self, capacity: WordCache.count)
            }
            var length = 0
            var overlong = false
            var index = 0
            let end = text.count
            let swar = map.keepsLowercaseLetters
            while index < end {
                let byte = base[index]
                var sequence = 1
                if byte < 0x80 {
                    // Eight bytes at a time while they are lowercase ASCII letters, which every setting keeps as
                    // they are: the bytes below 0x80 between 0x61 and 0x7A, counted from the first (a carry out
                    // of a byte at or above 0x80 spoils only the bytes after it).
                    if swar && index + 8 <= end && length + 8 <= capacity {
                        let bytes = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
                        let high: UInt64 = 0x8080_8080_8080_8080
                        let letters = (bytes &+ 0x1F1F_1F1F_1F1F_1F1F) & ~(bytes &+ 0x0505_0505_0505_0505) & ~bytes & high
                        let run = (~letters & high).trailingZeroBitCount >> 3
                        if run > 0 {
                            UnsafeMutableRawPointer(word + length).storeBytes(of: bytes, as: UInt64.self)
                            length += run
                            index += run
                            continue
                        }
                    }
                    let code = ascii[Int(byte)]
                    if code > BertCharacterMap.notASCII {
                        if length < capacity {
                            word[length] = code
                            length += 1
                        } else {
                            overlong = true
                        }
                        index += 1
                        continue
                    }
                    if code == BertCharacterMap.asciiSpace {
                        if length > 0 || overlong {
                            finishWord(word, length, overlong, tables, found, cache, into: &sink)
                            length = 0
                            overlong = false
                        }
                        index += 1
                        continue
                    }
                    if code == BertCharacterMap.asciiPunctuation {
                        if length > 0 || overlong {
                            finishWord(word, length, overlong, tables, found, cache, into: &sink)
                            length = 0
                            overlong = false
                        }
                        let id = tables.firstIDs[Int(byte)]
                        sink.append(id == WordPieceCharacterIDs.none ? unknown : id)
                        index += 1
                        continue
                    }
                    if code == BertCharacterMap.asciiDropped {
                        index += 1
                        continue
                    }
                } else if byte >= 0xE1 && byte <= 0xEF && byte != 0xED && index + 3 <= end
                            && base[index + 1] & 0xC0 == 0x80 && base[index + 2] & 0xC0 == 0x80 {
                    sequence = 3  // most of CJK text: a lead without the special second-byte ranges of E0 and ED
                } else {
                    sequence = UTF8Scan.sequenceLength(in: text, at: index)
                    if sequence == 0 {  // ill-formed: the clean-up drops it
                        index += 1
                        continue
                    }
                }
                let value = sequence > 1 ? Self.scalarValue(base + index, sequence) : BertCharacterMap.mappedLimit
                if value < BertCharacterMap.mappedLimit {
                    let entry = map.entry(value)
                    let kind = entry & 7
                    if kind == BertCharacterMap.Kind.word.rawValue {
                        let source = entry & 8 != 0 ? base + index : map.poolBytes(of: entry, at: value)
                        let count = entry & 8 != 0 ? sequence : Int((entry >> 4) & 15)
                        if length + count <= capacity {
                            for offset in 0..<count { word[length + offset] = source[offset] }
                            length += count
                        } else {
                            overlong = true
                        }
                        index += sequence
                        continue
                    }
                    if kind == BertCharacterMap.Kind.ownWord.rawValue || kind == BertCharacterMap.Kind.space.rawValue {
                        if length > 0 || overlong {
                            finishWord(word, length, overlong, tables, found, cache, into: &sink)
                            length = 0
                            overlong = false
                        }
                        if kind == BertCharacterMap.Kind.ownWord.rawValue {
                            let character = Int(entry >> 8)
                            let id = character < 0x10000 ? tables.firstIDs[character] : idAbovePlane(character)
                            sink.append(id == WordPieceCharacterIDs.none ? unknown : id)
                        }
                        index += sequence
                        continue
                    }
                    if kind == BertCharacterMap.Kind.dropped.rawValue {
                        index += sequence
                        continue
                    }
                }
                (index, length, overlong) = encodeComplexRun(
                    text, from: index, sequence: sequence, map: map, word: word, capacity: capacity, length: length,
                    overlong: overlong, tables: tables, found: found, cache: cache, into: &sink)
            }
            if length > 0 || overlong { finishWord(word, length, overlong, tables, found, cache, into: &sink) }
        }
        withExtendedLifetime(owner) {}
    }

    /// The code point of the well-formed sequence of `length` (2 to 4) bytes at `start`.
    @inline(__always)
    static func scalarValue(_ start: UnsafePointer<UInt8>, _ length: Int) -> Int {
        switch length {
        case 2: return UTF8Scan.twoByteValue(start[0], start[1])
        case 3: return UTF8Scan.threeByteValue(start[0], start[1], start[2])
        default: return Int(start[0] & 0x07) << 18 | Int(start[1] & 0x3F) << 12 | Int(start[2] & 0x3F) << 6 | Int(start[3] & 0x3F)
        }
    }

    /// The first-token id of one character above the plane (a CJK ideograph of an extension), `none` if none.
    @inline(never)
    private func idAbovePlane(_ value: Int) -> TokenID {
        let bytes = UTF8Scan.encode(scalarValues: [UInt32(value)])
        return bytes.withUnsafeBufferPointer { tokens.id(of: $0.baseAddress!, count: $0.count) } ?? WordPieceCharacterIDs.none
    }

    /// The word gathered so far, encoded.
    @inline(__always)
    private func finishWord<Sink: TokenSink>(
        _ word: UnsafeMutablePointer<UInt8>, _ length: Int, _ overlong: Bool, _ tables: WordPieceCharacterIDs.Tables,
        _ found: UnsafeMutablePointer<FoundToken>, _ cache: UnsafeMutablePointer<WordCache.Entry>?, into sink: inout Sink
    ) {
        if overlong {
            sink.append(unknown, covering: length)
            return
        }
        guard let cache, length <= WordCache.longestWord else {
            emit(found, matchWord(word, count: length, tables: tables, found: found), into: &sink)
            return
        }
        let (first, second) = WordCache.key(word, length)
        let entry = cache + WordCache.slot(first, second, length)
        if entry.pointee.first == first && entry.pointee.second == second && entry.pointee.meta & 31 == UInt32(length) {
            let meta = entry.pointee.meta
            let tokenCount = Int(meta >> 5 & 3)
            let ends = (Int(meta >> 8 & 31), Int(meta >> 13 & 31))
            sink.append(entry.pointee.ids.0, covering: tokenCount == 1 ? length : ends.0)
            if tokenCount > 1 { sink.append(entry.pointee.ids.1, covering: (tokenCount == 2 ? length : ends.1) - ends.0) }
            if tokenCount > 2 { sink.append(entry.pointee.ids.2, covering: length - ends.1) }
            return
        }
        let tokenCount = matchWord(word, count: length, tables: tables, found: found)
        emit(found, tokenCount, into: &sink)
        guard tokenCount <= 3 else { return }
        entry.pointee = WordCache.Entry(
            first: first, second: second,
            meta: UInt32(length) | UInt32(tokenCount) << 5 | UInt32(found[0].end) << 8 | UInt32(tokenCount > 1 ? found[1].end : 0) << 13,
            ids: (found[0].id, tokenCount > 1 ? found[1].id : 0, tokenCount > 2 ? found[2].id : 0))
    }

    /// The tokens `matchWord` found, to the sink.
    @inline(__always)
    private func emit<Sink: TokenSink>(_ found: UnsafeMutablePointer<FoundToken>, _ tokenCount: Int, into sink: inout Sink) {
        var tokenStart: Int32 = 0
        for index in 0..<tokenCount {
            sink.append(found[index].id, covering: Int(found[index].end - tokenStart))
            tokenStart = found[index].end
        }
    }

    /// A complex character at `start` and what could reorder with it, through the normaliser, then split as
    /// `BertPreTokenizer` splits; the current word goes on through it. Returns where the run ended.
    @inline(never)
    private func encodeComplexRun<Sink: TokenSink>(
        _ text: UnsafeBufferPointer<UInt8>, from start: Int, sequence: Int, map: BertCharacterMap,
        word: UnsafeMutablePointer<UInt8>, capacity: Int, length: Int, overlong: Bool,
        tables: WordPieceCharacterIDs.Tables, found: UnsafeMutablePointer<FoundToken>, cache: UnsafeMutablePointer<WordCache.Entry>?,
        into sink: inout Sink
    ) -> (end: Int, length: Int, overlong: Bool) {
        var (length, overlong) = (length, overlong)
        let runEnd = Self.complexRunEnd(in: text, from: start + sequence, map: map)
        let run = UnsafeBufferPointer(rebasing: text[start..<runEnd])
        func split(_ bytes: UnsafeBufferPointer<UInt8>) {
            var position = 0
            while position < bytes.count {
                let size = max(UTF8Scan.sequenceLength(in: bytes, at: position), 1)
                let kind = BertPreTokenizer.split(of: UTF8Scan.scalar(in: bytes, at: position, length: size))
                if kind.isSpace || kind.isPunctuation {
                    if length > 0 || overlong { finishWord(word, length, overlong, tables, found, cache, into: &sink) }
                    length = 0
                    overlong = false
                    if kind.isPunctuation {
                        emit(found, matchWord(bytes.baseAddress! + position, count: size, tables: tables, found: found), into: &sink)
                    }
                } else if length + size <= capacity {
                    for offset in 0..<size { word[length + offset] = bytes[position + offset] }
                    length += size
                } else {
                    overlong = true
                }
                position += size
            }
        }
        if let normalized = map.normalizer.normalize(run) {
            normalized.withUnsafeBufferPointer(split)
        } else {
            split(run)
        }
        return (runEnd, length, overlong)
    }

    /// Where the run handed to the normaliser with a complex character ends: before the first ASCII byte the
    /// clean-up keeps, white space or CJK ideograph after `start` (none of them reorders with a mark).
    static func complexRunEnd(in text: UnsafeBufferPointer<UInt8>, from start: Int, map: BertCharacterMap) -> Int {
        var index = start
        while index < text.count {
            let byte = text[index]
            if byte < 0x80 {
                guard map.ascii[Int(byte)] == BertCharacterMap.asciiDropped else { return index }
                index += 1
                continue
            }
            let sequence = UTF8Scan.sequenceLength(in: text, at: index)
            let value = sequence > 1 ? scalarValue(text.baseAddress! + index, sequence) : BertCharacterMap.mappedLimit
            if value < BertCharacterMap.mappedLimit {
                let entry = map.entry(value)
                switch BertCharacterMap.Kind(rawValue: entry & 7) {
                case .space: return index
                case .ownWord where BertNormalizer.isCJKIdeograph(UInt32(value)): return index
                default: break
                }
            }
            index += max(sequence, 1)
        }
        return index
    }
}

extension WordPieceEncoder {
    /// A token the greedy match found, and where in the word it ends.
    typealias FoundToken = (id: TokenID, end: Int32)

    /// `encode(piece:)` for `encodeBert`'s words (well-formed UTF-8, as the normaliser leaves it), with the
    /// tables of `WordPieceCharacterIDs`: a candidate longer than the longest token that starts with the
    /// character at hand is never looked up, and a one-character token is read, not hashed.
    ///
    /// The tokens go to `found` (an unknown word: one unknown token covering it); returns how many.
    @inline(__always)
    func matchWord(
        _ base: UnsafePointer<UInt8>, count: Int, tables: WordPieceCharacterIDs.Tables, found: UnsafeMutablePointer<FoundToken>
    ) -> Int {
        if count > maxCharactersPerWord {  // never more characters than bytes
            var characters = 0
            for index in 0..<count where base[index] & 0xC0 != 0x80 { characters += 1 }
            guard characters <= maxCharactersPerWord else {
                found[0] = (unknown, Int32(count))
                return 1
            }
        }
        // Most words are one token.
        if count <= longestToken, let id = tokens.id(of: base, count: count) {
            found[0] = (id, Int32(count))
            return 1
        }
        do {
            var tokenCount = 0
            var start = 0
            while start < count {
                let first = start == 0
                let lead = base[start]
                let key: Int, characterLength: Int
                if lead < 0x80 {
                    (key, characterLength) = (Int(lead), 1)
                } else if lead < 0xE0 {
                    (key, characterLength) = (UTF8Scan.twoByteValue(lead, base[start + 1]), 2)
                } else if lead < 0xF0 {
                    (key, characterLength) = (UTF8Scan.threeByteValue(lead, base[start + 1], base[start + 2]), 3)
                } else {
                    (key, characterLength) = (-1, 4)
                }
                var longest = longestToken
                if key >= 0 {
                    let known = Int((first ? tables.firstLongest : tables.continuationLongest)[key])
                    if known < WordPieceCharacterIDs.longestUnknown { longest = known }
                }
                var end = min(count, start + longest)
                while end < count && base[end] & 0xC0 == 0x80 { end -= 1 }  // a character boundary
                var match: TokenID? = nil
                let table = first ? tokens : continuations
                while end > start {
                    if end == start + characterLength && key >= 0 {
                        let id = (first ? tables.firstIDs : tables.continuationIDs)[key]
                        if id != WordPieceCharacterIDs.none { match = id }
                        break
                    }
                    if let id = table.id(of: base + start, count: end - start) {
                        match = id
                        break
                    }
                    end -= 1
                    while end > start && base[end] & 0xC0 == 0x80 { end -= 1 }
                }
                guard let id = match else {
                    found[0] = (unknown, Int32(count))
                    return 1
                }
                found[tokenCount] = (id, Int32(end))
                tokenCount += 1
                start = end
            }
            return tokenCount
        }
    }
}

/// A direct-mapped cache of short words' tokens for one `encodeBert` call on a long text: text repeats its
/// words, and a hit reads one entry in a 128 KiB table instead of probing the vocabulary's table (a cache miss
/// or two a lookup, several for a word of more than one token). Keyed by the word's bytes themselves (up to
/// 16), so a hit is exact; words of more than three tokens are not kept.
enum WordCache {
    struct Entry {
        /// The word's bytes 0–7 and 8–15, zero-padded.
        var first: UInt64
        var second: UInt64
        /// Bits 0–4 the word's length (0: empty), 5–6 its token count, 8–12 and 13–17 where its first and
        /// second tokens end.
        var meta: UInt32
        var ids: (TokenID, TokenID, TokenID)
    }

    static let count = 4096
    static let longestWord = 16
    /// Texts shorter than this go without (clearing the table would cost more than it saves).
    static let minimumText = 1 << 16

    /// The word's bytes (1 to 16 at `word`, which has 16 readable bytes) as two zero-padded words.
    @inline(__always)
    static func key(_ word: UnsafePointer<UInt8>, _ length: Int) -> (UInt64, UInt64) {
        let raw = UnsafeRawPointer(word)
        let low = raw.loadUnaligned(as: UInt64.self)
        if length <= 8 {
            return (length == 8 ? low : low & ((1 << (UInt64(length) * 8)) - 1), 0)
        }
        let high = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        return (low, length == 16 ? high : high & ((1 << (UInt64(length - 8) * 8)) - 1))
    }

    @inline(__always)
    static func slot(_ first: UInt64, _ second: UInt64, _ length: Int) -> Int {
        let hash = (first ^ (second &* 0x9E37_79B9_7F4A_7C15) ^ UInt64(length)) &* 0xBF58_476D_1CE4_E5B9
        return Int(truncatingIfNeeded: hash >> 52)  // 12 bits: `count` slots
    }
}
