/// Where a long piece may be cut into shorter ones that merge apart: between two three-byte characters that no
/// token of the vocabulary spans.
///
/// Why: Qwen's pattern (`[^\r\n\p{L}\p{N}]?\p{L}+`) and o200k's make a whole run of kana and kanji one piece,
/// 17-100 bytes, which the merge memo (16 bytes) cannot hold, so every occurrence was merged again: on the
/// Japanese held-out text (qwen2.5) `BytePairMerge.long`, its rank lookups and its initial parts were 53% of
/// the encoder's samples (perf). Half the character boundaries in such a run are ones no token crosses (qwen2.5,
/// ja: 36,000 of 75,000); cut there, 91% of the run's bytes fall in stretches of at most 16 bytes, mostly one
/// or two characters, whose merges the memo keeps.
///
/// Exactness. Let `p` be a byte boundary inside a piece such that no token is a run of the piece's bytes that
/// starts before `p` and ends after it. Under tiktoken's rule every part is a token made of adjacent bytes of
/// the piece, so no part ever spans `p`: `p` stays a part boundary, and the pair across it is never a token,
/// never a candidate. Write L for the parts left of `p` and R for those right of it. Each step merges the lowest
/// ranked candidate pair, leftmost on a tie; it lies in L or in R and changes only that side, and the
/// candidates (and their ranks) of each side depend on that side's parts alone. Take a step that merges in L:
/// its pair ranks lowest over all candidates, so over L's, and on a tie within L it is L's leftmost, since
/// every pair of L lies left of every pair of R; that is exactly the step the rule takes on L merged as a piece
/// of its own, from the same state of L. So the steps on L, in order, are L's own merge; the same holds for R;
/// the merge ends when neither side has a candidate, where each side's own merge ends. Hence the tokens of the
/// piece are the tokens of the bytes before `p` followed by those of the bytes after it, and a piece with
/// several such boundaries is the concatenation of its stretches between them. The stretches are merged (by
/// the memo or `BytePairMerge.long`, each exact for any bytes), never looked up whole: a stretch that is a
/// token need not merge to it, and looking a piece up whole is tiktoken's step before the merge, not part of
/// it.
///
/// Telling such a boundary. Only boundaries between two three-byte characters are considered: bytes
/// X = x0 x1 x2 (x0 in E0-EF, x1 x2 in 80-BF) ending at `p` and Y = y0 y1 y2 starting there. A token matching
/// the piece's bytes a..<b with a < p < b either
/// 1. holds all six bytes X Y (a ≤ p-3, b ≥ p+3): the character pair is in the pair set, which every six-byte
///    run of that shape in every token went into, wherever it sits in the token; or
/// 2. starts inside X or ends inside Y: the token starts with x2 or x1 x2 (continuation bytes) followed by y0,
///    or ends with y0 or y0 y1 after X. Every token with a continuation byte then a three-byte lead, fewer
///    than three bytes from either of its ends, went into `partials` as the bytes it fixes of the six
///    (a mask and a value), found by (x2, y0).
/// The pair set is a Bloom filter (`filter`): it may wrongly say a pair is held (a cut is missed, nothing
/// else), never the reverse. `MergeCutsTests` looks up every run of bytes across every cut of the held-out
/// Japanese and Chinese text, checks that every token keeps its own boundaries uncut, and compares the ids.
///
/// Performance notes:
/// - bench-compare, median of 6 alternating runs: qwen2.5 ja encode 37.4 → 62.7 MB/s (2.83x → 4.28x tiktoken),
///   zh 40.6 → 52.4; o200k_base ja 49.9 → 72.8, llama4 ja 41.9 → 62.3; de, fr, en unchanged within noise (their
///   long pieces have no three-byte characters: one pass over the bytes). perf, qwen2.5 ja: merging long
///   pieces (`long`, `Piece.rank`, `initialParts`, `mergeOnHeap`) 53% → 9% of the samples; `nextCut` 12%
///   (mostly the filter word's load), `MergeMemo` 5% → 14%.
/// - The pair test cuts 35,949 of the 74,925 boundaries between three-byte characters in the long pieces of
///   qwen2.5 ja; the exact test (no run of the piece's bytes across the boundary is a token) would cut 37,802.
/// - Tried and dropped: a bit per character telling whether any token has it before (or after) another
///   three-byte character, checked before the pair: it settles only 6% of the boundaries (qwen2.5 ja).
/// - Built on first use, like `WholeCharacters` and at about its cost: one pass over the vocabulary (o200k_base:
///   26M instructions, some 8% of a fresh process counting 3 KB of Japanese). The filter is sized by the
///   pairs' occurrences: 64 KiB for qwen2.5 (18,462 pairs; 0.23% of the pairs it does not hold pass for held,
///   random keys) and o200k_base (11,890; 0.09%).
final class MergeCuts: @unchecked Sendable {  // Invariant: nothing is written after init; the copies are freed in deinit.
    /// The Bloom filter of character pairs, `x << 16 | y` (16 payload bits each): three bits in one word.
    private let filter: [UInt64]
    private let filterShift: UInt64
    /// For case 2: the windows by slot `(x2 & 0x3F) << 4 | y0 & 0x0F`; `partialStarts[slot]..<[slot + 1]`.
    private let partialStarts: [UInt32]
    private let partials: [Window]
    /// Copies of the three tables that `nextCut` reads without bounds checks or array accesses (through the
    /// arrays, `nextCut` cost ~125 instructions a character boundary: 28% of encoding Japanese, callgrind).
    private let filterWords: UnsafeMutableBufferPointer<UInt64>
    private let filterMask: Int
    private let partialStartWords: UnsafeMutableBufferPointer<UInt32>
    private let partialWindows: UnsafeMutableBufferPointer<Window>

    /// The bytes a token fixes of the six around a boundary, X's first at bit 0 (as `partiallySpanned` packs them).
    private struct Window {
        var mask: UInt64
        var value: UInt64
    }

    @inline(__always) private static func isLead(_ byte: UInt8) -> Bool { byte & 0xF0 == 0xE0 }
    @inline(__always) private static func isContinuation(_ byte: UInt8) -> Bool { byte & 0xC0 == 0x80 }

    convenience init(table: TokenTable) {
        var pairs: [UInt32] = []
        var partials: [(slot: Int, window: Window)] = []
        table.forEachToken { _, bytes in
            let count = bytes.count
            // Both kinds have a three-byte lead at `at`; most tokens (ASCII) have none.
            for at in 0..<count where Self.isLead(bytes[at]) {
                if at + 6 <= count && Self.isContinuation(bytes[at + 1]) && Self.isContinuation(bytes[at + 2])
                    && Self.isLead(bytes[at + 3]) && Self.isContinuation(bytes[at + 4]) && Self.isContinuation(bytes[at + 5]) {
                    pairs.append(Self.pairKey(bytes.baseAddress! + at + 3))
                }
                // A boundary `at` that a piece's (x2, y0) could stand at, fewer than three bytes from an end.
                guard at > 0, Self.isContinuation(bytes[at - 1]), at < 3 || count - at < 3 else { continue }
                var window = Window(mask: 0, value: 0)
                for offset in -min(at, 3)..<min(count - at, 3) {
                    let shift = UInt64(8 * (3 + offset))
                    window.mask |= 0xFF << shift
                    window.value |= UInt64(bytes[at + offset]) << shift
                }
                partials.append((Int(bytes[at - 1] & 0x3F) << 4 | Int(bytes[at] & 0x0F), window))
            }
        }

        // Sized by the pairs' occurrences, at least 8 bits each: a pair recurs in many tokens (o200k_base: 53,725
        // occurrences of 11,890 pairs), but counting the distinct ones by a sort cost 15M instructions.
        var words = 64
        while words * 8 < pairs.count { words <<= 1 }
        var filter = [UInt64](repeating: 0, count: words)
        let shift = UInt64(64 - words.trailingZeroBitCount)
        for key in pairs {
            let (word, bits) = Self.filterPosition(key, shift: shift)
            filter[word] |= bits
        }
        partials.sort { $0.slot < $1.slot }
        var starts = [UInt32](repeating: 0, count: 1025)
        for partial in partials { starts[partial.slot + 1] += 1 }
        for slot in 0..<1024 { starts[slot + 1] += starts[slot] }
        self.init(filter: filter, partialStarts: starts, partials: partials.map(\.window))
    }

    /// The tables as they were built, now or before (`DerivedTables`).
    private init(filter: [UInt64], partialStarts: [UInt32], partials: [Window]) {
        self.filter = filter
        filterShift = UInt64(64 - filter.count.trailingZeroBitCount)
        self.partialStarts = partialStarts
        self.partials = partials
        filterWords = .allocate(capacity: filter.count)
        _ = filterWords.initialize(from: filter)
        filterMask = filter.count - 1
        partialStartWords = .allocate(capacity: partialStarts.count)
        _ = partialStartWords.initialize(from: partialStarts)
        partialWindows = .allocate(capacity: max(partials.count, 1))
        _ = partialWindows.initialize(from: partials)
    }

    deinit {
        filterWords.deallocate()
        partialStartWords.deallocate()
        partialWindows.deallocate()
    }

    /// Writes the tables for `read(from:)` (`DerivedTables`).
    func store(into writer: inout WordArrays.Writer) {
        writer.append(filter)
        writer.append(partialStarts)
        writer.append(partials.flatMap { [$0.mask, $0.value] })
    }

    /// The tables `store(into:)` wrote, if they have the shape this code builds.
    static func read(from reader: inout WordArrays.Reader) -> MergeCuts? {
        guard let filter = reader.u64s(), filter.count >= 64, filter.count.nonzeroBitCount == 1,
              let starts = reader.u32s(), starts.count == 1025, starts[0] == 0, zip(starts, starts.dropFirst()).allSatisfy({ $0 <= $1 }),
              let windows = reader.u64s(), windows.count == 2 * Int(starts[1024])
        else { return nil }
        let partials = stride(from: 0, to: windows.count, by: 2).map { Window(mask: windows[$0], value: windows[$0 + 1]) }
        return MergeCuts(filter: filter, partialStarts: starts, partials: partials)
    }

    /// The pair key of the characters X (the three bytes before `y`) and Y (the three at `y`).
    @inline(__always) private static func pairKey(_ y: UnsafePointer<UInt8>) -> UInt32 {
        UInt32(UTF8Scan.threeByteValue(y[-3], y[-2], y[-1])) << 16 | UInt32(UTF8Scan.threeByteValue(y[0], y[1], y[2]))
    }

    @inline(__always) private static func filterPosition(_ key: UInt32, shift: UInt64) -> (word: Int, bits: UInt64) {
        var hash = UInt64(key) &* 0x9E37_79B9_7F4A_7C15
        hash ^= hash >> 32
        hash &*= 0xBF58_476D_1CE4_E5B9
        let bits: UInt64 = 1 << (hash >> 20 & 63) | 1 << (hash >> 26 & 63) | 1 << (hash >> 32 & 63)
        return (Int(truncatingIfNeeded: hash >> shift), bits)
    }

    /// The first place after `start` where `piece` may be cut (see above), or `piece.count` when there is none.
    /// A walk over the bytes, each character's value worked out once (it is Y at one boundary and X at the
    /// next): one filter word per boundary between two three-byte characters.
    @inline(__always)
    func nextCut(in piece: UnsafeBufferPointer<UInt8>, after start: Int) -> Int {
        let base = piece.baseAddress!
        let count = piece.count
        var index = start
        var previous: UInt32 = 0
        var afterThreeByte = false  // whether bytes index-3..<index are a three-byte character (and index > start)
        while index &+ 3 <= count {
            let (b0, b1, b2) = (base[index], base[index &+ 1], base[index &+ 2])
            guard Self.isLead(b0) && Self.isContinuation(b1) && Self.isContinuation(b2) else {
                afterThreeByte = false
                index &+= 1
                continue
            }
            let value = UInt32(UTF8Scan.threeByteValue(b0, b1, b2))
            if afterThreeByte && !spanned(previous << 16 | value, base + index) { return index }
            previous = value
            afterThreeByte = true
            index &+= 3
        }
        return count
    }

    /// Whether a token may span the boundary at `y` between the three-byte characters of pair key `key`.
    @inline(__always)
    private func spanned(_ key: UInt32, _ y: UnsafePointer<UInt8>) -> Bool {
        let (word, bits) = Self.filterPosition(key, shift: filterShift)
        if filterWords[word & filterMask] & bits == bits { return true }
        let slot = Int(y[-1] & 0x3F) << 4 | Int(y[0] & 0x0F)
        let (from, to) = (Int(partialStartWords[slot]), Int(partialStartWords[slot &+ 1]))
        guard from < to else { return false }
        return partiallySpanned(y, UnsafeBufferPointer(rebasing: partialWindows[from..<to]))
    }

    /// Built once per encoder, on first use (`BuiltOnFirstUse`).
    typealias Lazy = BuiltOnFirstUse<MergeCuts>

    @inline(never)
    private func partiallySpanned(_ y: UnsafePointer<UInt8>, _ windows: UnsafeBufferPointer<Window>) -> Bool {
        var bytes: UInt64 = 0
        for offset in -3..<3 { bytes |= UInt64(y[offset]) << UInt64(8 * (3 + offset)) }
        return windows.contains { bytes & $0.mask == $0.value }
    }
}
