/// Which three-byte UTF-8 characters a long BPE merge may start from whole, instead of from their three bytes.
///
/// Merging CJK text byte by byte spends almost all its time building characters: on Japanese prose
/// (o200k_base) about 88% of the merges join the bytes of one character, each a heap pop, a push or two and two
/// table lookups. For most characters the outcome is fixed in advance: they end as one token whatever
/// surrounds them, and nothing around them can tell when they were completed. Such a character can enter the
/// merge as one part.
///
/// Exactness. Take a character `c` = b0 b1 b2 that is a token and that BPE builds from its bytes alone (b0b1
/// or b1b2 is a token). Let `last(c)` be the higher of the ranks of its two merges. Every other token that
/// could join bytes of `c` with bytes around it either holds all of `c` plus more, or ends with b0 or b0b1, or
/// starts with b2 or b1b2. If every such token that fits the bytes around this occurrence ranks above
/// `last(c)`, then:
/// - while `c` is incomplete, one of its own merges (rank ≤ `last(c)`) is always available and ranks below any
///   merge that would join its bytes with others, so its bytes join only each other, and `c` completes;
/// - whenever tiktoken's rule picks a merge of other parts while `c` is incomplete, that merge ranks below
///   `c`'s pending one, hence below every merge involving `c`: the same merge is the lowest when `c` starts
///   whole. So the other merges, and the result, are the same.
/// "Fits the bytes around": a token ending with b0 (or b0b1) can only take part if the byte before it in the
/// token equals the byte before `c` in the piece; one starting with b2 (or b1b2), if the byte after it equals
/// the byte after `c`. Checking one neighbouring byte is weaker than checking the token's whole overhang, so
/// it may keep a character in bytes needlessly, never the reverse. Tokens holding all of `c` are checked
/// without context. `BytePairMergeTests` compares the result with the plain byte-level merge.
///
/// On the held-out text, 97% of the three-byte characters in long pieces start whole (ja and zh,
/// o200k_base); the rest are mostly characters next to a space or to a script whose byte tokens overlap.
///
/// Built on first use (a long piece with a three-byte character), not at load: one pass over the vocabulary
/// and one over the 65,536 three-byte patterns, a few ms for o200k_base, which text without such characters
/// never pays.
final class WholeCharacters: Sendable {
    /// Per three-byte pattern (indexed by its 16 payload bits): `last << 32 | rank` when the character can
    /// start whole given suitable neighbours, else `.max`.
    private let characters: [UInt64]
    /// Lowest rank of a token ending with (p, b0): by `p << 4 | b0 & 0x0F`.
    private let endingWithLead: [TokenID]
    /// Lowest rank of a token starting with (b2, x), x not a continuation byte: by `(b2 & 0x3F) << 8 | x`.
    private let startingWithLast: [TokenID]
    /// Lowest rank of a token ending with (p, b0, b1) or starting with (b1, b2, x): sparse.
    private let contexts: SparseRanks
    /// One bit per three-byte pattern: set when the character may start whole between any continuation byte
    /// (the end of a character before it) and any three-byte lead byte (the start of one after it), the
    /// context of nearly every character in a run of kana and kanji. There `rank` needs no context lookup:
    /// the bit is the four checks below done in advance against the lowest rank over all such neighbours.
    /// 8 KiB; the checks it replaces cost ~40 instructions a character (cachegrind, ja, o200k_base).
    private let startsWholeInRun: [UInt64]

    @inline(__always) static func isLead(_ byte: UInt8) -> Bool { byte & 0xF0 == 0xE0 }
    @inline(__always) static func isContinuation(_ byte: UInt8) -> Bool { byte & 0xC0 == 0x80 }
    /// Keys of the sparse table: the three bytes, and a bit telling the two kinds apart.
    @inline(__always) static func endingKey(_ p: UInt8, _ b0: UInt8, _ b1: UInt8) -> UInt32 {
        UInt32(p) << 16 | UInt32(b0) << 8 | UInt32(b1)
    }
    @inline(__always) static func startingKey(_ b1: UInt8, _ b2: UInt8, _ x: UInt8) -> UInt32 {
        1 << 24 | UInt32(b1) << 16 | UInt32(b2) << 8 | UInt32(x)
    }

    /// For tiktoken's rule (`BPEEncoder`): a token's id is its rank, and a pair merges when its concatenation is
    /// a token.
    convenience init(table: TokenTable, pairRanks: [TokenID]) {
        self.init(table: table, rank: { $0 }) { b0, b1, b2, id in
            // Its first merge: the lower of b0b1 and b1b2 (never equal: b0 is a lead, b1 is not).
            let first = min(pairRanks[Int(b0) << 8 | Int(b1)], pairRanks[Int(b1) << 8 | Int(b2)])
            return first == .max ? nil : max(first, id)  // never built from its bytes: stays bytes
        }
    }

    /// For any merge rule, given as `rank`, the rank of the first merge that can make a token (`.max` when no
    /// merge makes it), and `completion`, the rank of the last of the merges that build the three-byte token
    /// `id` from its bytes b0 b1 b2 alone, nil when they do not build it. The argument above holds with a
    /// token's rank standing for every merge that makes it: any merge that joins bytes of `c` with others makes
    /// a token spanning both, and ranks no lower than that token.
    init(table: TokenTable, rank: (TokenID) -> TokenID, completion: (UInt8, UInt8, UInt8, TokenID) -> TokenID?) {
        var characterRank = [TokenID](repeating: .max, count: 1 << 16)
        var containing = [TokenID](repeating: .max, count: 1 << 16)
        var endingWithLead = [TokenID](repeating: .max, count: 256 << 4)
        var startingWithLast = [TokenID](repeating: .max, count: 64 << 8)
        var contexts: [UInt32: TokenID] = [:]
        func lower(_ key: UInt32, _ id: TokenID) { contexts[key] = min(contexts[key] ?? .max, id) }
        // The sparse contexts' lowest ranks over the neighbours of a run: tokens ending with (p, b0, b1), p a
        // continuation byte, by `(b0 & 0x0F) << 6 | b1 & 0x3F`; tokens starting with (b1, b2, x), x a
        // three-byte lead, by `(b1 & 0x3F) << 6 | b2 & 0x3F`.
        var endingAfterContinuation = [TokenID](repeating: .max, count: 1 << 10)
        var startingBeforeLead = [TokenID](repeating: .max, count: 1 << 12)

        table.forEachToken { token, bytes in
            let count = bytes.count
            guard count >= 2 else { return }
            let id = rank(token)
            guard id != .max else { return }  // no merge makes it
            // Tokens of plain ASCII (most of a vocabulary) overlap no three-byte character.
            var ascii = true
            for byte in bytes where byte >= 0x80 { ascii = false; break }
            if ascii { return }
            if count == 3 && Self.isLead(bytes[0]) && Self.isContinuation(bytes[1]) && Self.isContinuation(bytes[2]) {
                characterRank[UTF8Scan.threeByteValue(bytes[0], bytes[1], bytes[2])] = token
                return
            }
            if count > 3 {
                for at in 0..<(count - 2) where Self.isLead(bytes[at]) && Self.isContinuation(bytes[at + 1]) && Self.isContinuation(bytes[at + 2]) {
                    let pattern = UTF8Scan.threeByteValue(bytes[at], bytes[at + 1], bytes[at + 2])
                    containing[pattern] = min(containing[pattern], id)
                }
            }
            let last = bytes[count - 1], beforeLast = bytes[count - 2]
            if Self.isLead(last) {
                let slot = Int(beforeLast) << 4 | Int(last & 0x0F)
                endingWithLead[slot] = min(endingWithLead[slot], id)
            } else if count > 2 && Self.isLead(beforeLast) && Self.isContinuation(last) {
                lower(Self.endingKey(bytes[count - 3], beforeLast, last), id)
                if Self.isContinuation(bytes[count - 3]) {
                    let slot = Int(beforeLast & 0x0F) << 6 | Int(last & 0x3F)
                    endingAfterContinuation[slot] = min(endingAfterContinuation[slot], id)
                }
            }
            if Self.isContinuation(bytes[0]) {
                if !Self.isContinuation(bytes[1]) {
                    let slot = Int(bytes[0] & 0x3F) << 8 | Int(bytes[1])
                    startingWithLast[slot] = min(startingWithLast[slot], id)
                } else if count > 2 && !Self.isContinuation(bytes[2]) {
                    lower(Self.startingKey(bytes[0], bytes[1], bytes[2]), id)
                    if Self.isLead(bytes[2]) {
                        let slot = Int(bytes[0] & 0x3F) << 6 | Int(bytes[1] & 0x3F)
                        startingBeforeLead[slot] = min(startingBeforeLead[slot], id)
                    }
                }
            }
        }

        // The dense tables' lowest ranks over the same neighbours.
        let endingWithLeadAfterContinuation = (0..<16).map { nibble in
            (0x80...0xBF).map { endingWithLead[$0 << 4 | nibble] }.min() ?? .max
        }
        let startingWithLastBeforeLead = (0..<64).map { low in
            (0xE0...0xEF).map { startingWithLast[low << 8 | $0] }.min() ?? .max
        }
        var startsWholeInRun = [UInt64](repeating: 0, count: 1 << 10)
        var characters = [UInt64](repeating: .max, count: 1 << 16)
        for pattern in 0..<(1 << 16) {
            let token = characterRank[pattern]
            guard token != .max else { continue }
            let (b0, b1, b2) = UTF8Scan.threeByteSequence(of: pattern)
            guard let last = completion(b0, b1, b2, token), containing[pattern] > last else { continue }
            characters[pattern] = UInt64(last) << 32 | UInt64(token)
            let lowest = min(
                endingWithLeadAfterContinuation[Int(b0 & 0x0F)], endingAfterContinuation[Int(b0 & 0x0F) << 6 | Int(b1 & 0x3F)],
                startingWithLastBeforeLead[Int(b2 & 0x3F)], startingBeforeLead[Int(b1 & 0x3F) << 6 | Int(b2 & 0x3F)])
            if lowest > last { startsWholeInRun[pattern >> 6] |= 1 << UInt64(pattern & 63) }
        }
        self.characters = characters
        self.endingWithLead = endingWithLead
        self.startingWithLast = startingWithLast
        self.contexts = SparseRanks(contexts)
        self.startsWholeInRun = startsWholeInRun
    }

    /// The tables as they were built before (`DerivedTables`).
    private init(characters: [UInt64], endingWithLead: [TokenID], startingWithLast: [TokenID], contexts: SparseRanks, startsWholeInRun: [UInt64]) {
        (self.characters, self.endingWithLead, self.startingWithLast) = (characters, endingWithLead, startingWithLast)
        (self.contexts, self.startsWholeInRun) = (contexts, startsWholeInRun)
    }

    /// Writes the tables for `read(from:)` (`DerivedTables`).
    func store(into writer: inout WordArrays.Writer) {
        writer.append(characters)
        writer.append(endingWithLead)
        writer.append(startingWithLast)
        contexts.store(into: &writer)
        writer.append(startsWholeInRun)
    }

    /// The tables `store(into:)` wrote, if they have the sizes this code builds.
    static func read(from reader: inout WordArrays.Reader) -> WholeCharacters? {
        guard let characters = reader.u64s(), characters.count == 1 << 16,
              let endingWithLead = reader.u32s(), endingWithLead.count == 256 << 4,
              let startingWithLast = reader.u32s(), startingWithLast.count == 64 << 8,
              let contexts = SparseRanks.read(from: &reader),
              let startsWholeInRun = reader.u64s(), startsWholeInRun.count == 1 << 10
        else { return nil }
        return WholeCharacters(
            characters: characters, endingWithLead: endingWithLead, startingWithLast: startingWithLast, contexts: contexts,
            startsWholeInRun: startsWholeInRun)
    }

    /// The token of the character b0 b1 b2 if it may start whole between `before` and `after` (nil at the
    /// piece's edges; `after` is never a continuation byte), else nil. (Under tiktoken's rule, also its rank.)
    @inline(__always)
    func rank(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, before: UInt8?, after: UInt8?) -> TokenID? {
        let pattern = UTF8Scan.threeByteValue(b0, b1, b2)
        let entry = characters[pattern]
        guard entry != .max else { return nil }
        if startsWholeInRun[pattern >> 6] >> UInt64(pattern & 63) & 1 != 0
            && (before.map(Self.isContinuation) ?? true) && (after.map(Self.isLead) ?? true) {
            return TokenID(truncatingIfNeeded: entry)
        }
        let last = TokenID(truncatingIfNeeded: entry >> 32)
        if let before {
            if endingWithLead[Int(before) << 4 | Int(b0 & 0x0F)] <= last { return nil }
            if contexts.rank(of: Self.endingKey(before, b0, b1)) <= last { return nil }
        }
        if let after {
            if startingWithLast[Int(b2 & 0x3F) << 8 | Int(after)] <= last { return nil }
            if contexts.rank(of: Self.startingKey(b1, b2, after)) <= last { return nil }
        }
        return TokenID(truncatingIfNeeded: entry)
    }

    /// Built once per encoder, on first use (`BuiltOnFirstUse`).
    typealias Lazy = BuiltOnFirstUse<WholeCharacters>
}

extension BuiltOnFirstUse where Value == WholeCharacters {
    convenience init(table: TokenTable, pairRanks: [TokenID]) {
        self.init { WholeCharacters(table: table, pairRanks: pairRanks) }
    }
}

/// A small read-only map from 32-bit keys to ranks (open addressing, load ≤ 0.25), `.max` when absent.
struct SparseRanks: Sendable {
    private let slots: [UInt64]  // key << 32 | rank; `.max` when empty (no key is 0xFFFF_FFFF)
    private let mask: Int

    init(_ ranks: [UInt32: TokenID]) {
        var capacity = 16
        while capacity < ranks.count * 4 { capacity <<= 1 }
        var slots = [UInt64](repeating: .max, count: capacity)
        for (key, rank) in ranks {
            var slot = Self.hash(key) & (capacity - 1)
            while slots[slot] != .max { slot = (slot + 1) & (capacity - 1) }
            slots[slot] = UInt64(key) << 32 | UInt64(rank)
        }
        self.slots = slots
        self.mask = capacity - 1
    }

    private init(slots: [UInt64]) {
        self.slots = slots
        mask = slots.count - 1
    }

    func store(into writer: inout WordArrays.Writer) {
        writer.append(slots)
    }

    static func read(from reader: inout WordArrays.Reader) -> SparseRanks? {
        guard let slots = reader.u64s(), slots.count >= 16, slots.count.nonzeroBitCount == 1, slots.contains(.max) else { return nil }
        return SparseRanks(slots: slots)
    }

    @inline(__always) private static func hash(_ key: UInt32) -> Int {
        Int(truncatingIfNeeded: (UInt64(key) &* 0x9E37_79B9_7F4A_7C15) >> 40)
    }

    @inline(__always) func rank(of key: UInt32) -> TokenID {
        var slot = Self.hash(key) & mask
        while true {
            let entry = slots[slot]
            if entry == .max { return .max }
            if UInt32(truncatingIfNeeded: entry >> 32) == key { return TokenID(truncatingIfNeeded: entry) }
            slot = (slot + 1) & mask
        }
    }
}
