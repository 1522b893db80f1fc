/// The two implementations of tiktoken's merge rule over one piece: repeatedly merge the adjacent pair whose
/// concatenation has the lowest rank, the leftmost such pair on a tie, until no adjacent pair is a token.
/// Both produce identical ids (a test checks them against each other and against a slow reference);
/// they differ only in cost.
///
/// Performance notes:
/// - Both start from `BPEEncoder.pairRanks`, a 64 Ki table of two-byte ranks, so the first pass over a
///   piece costs a load per byte, not a hash lookup.
/// - `linear` keeps a flat array of (start, pair rank, id) and rescans it for the minimum each merge: O(n²)
///   but branch-light, which wins for pieces up to `BPEEncoder.linearMergeLimit` bytes. After a merge only the
///   two neighbouring pair ranks change, so each merge costs two table lookups. The part's own id is the pair
///   rank that merged it, so emitting needs no lookup.
/// - `heap` is for longer pieces (a 5,000-letter word, a 1 MB line without spaces): a doubly linked list of
///   parts and a binary min-heap of `rank << 32 | index` with lazy deletion, both in temporary storage. The
///   index order is the position order, so the heap's tie-break is the leftmost pair, as in `linear`.
///   O(n log n).
/// - `long` starts a long piece from whole three-byte characters where `WholeCharacters` allows (a run of kana
///   and kanji is a third as many parts as bytes) and merges them like `linear` when they are few, on the heap
///   otherwise.
enum BytePairMerge {
    /// What both merges read: the piece and the encoder's tables, as pointers and an unmanaged reference, valid
    /// for the call of `withPiece` that makes it. It holds no counted reference, so passing and copying it
    /// costs nothing (holding the encoder itself, five counted references, made every merge retain and release
    /// them through outlined copies: 7% of the instructions of encoding German, callgrind).
    private struct Piece {
        let base: UnsafePointer<UInt8>
        let length: Int
        let pairRanks: UnsafePointer<TokenID>
        let byteIDs: UnsafePointer<TokenID>
        let table: Unmanaged<TokenTable>

        /// The rank of bytes `from..<to` as one token, `.max` if they are not one.
        @inline(__always) func rank(_ from: Int, _ to: Int) -> TokenID {
            if to - from == 2 { return pairRanks[Int(base[from]) << 8 | Int(base[from + 1])] }
            // A guaranteed reference: a plain or unowned one is retained and released around each call.
            return table._withUnsafeGuaranteedRef { $0.id(of: base + from, count: to - from) } ?? .max
        }

        /// The width and id of the part that starts at `index` when a merge begins: a whole three-byte
        /// character where `whole` allows it (and no continuation byte follows), else one byte.
        @inline(__always) func initialPart(at index: Int, whole: WholeCharacters?) -> (width: Int, id: TokenID) {
            let lead = base[index]
            if let whole, WholeCharacters.isLead(lead) && index + 2 < length {
                let second = base[index + 1], third = base[index + 2]
                let after: UInt8? = index + 3 < length ? base[index + 3] : nil
                if WholeCharacters.isContinuation(second) && WholeCharacters.isContinuation(third)
                    && !(after.map(WholeCharacters.isContinuation) ?? false),
                   let rank = whole.rank(lead, second, third, before: index > 0 ? base[index - 1] : nil, after: after) {
                    return (3, rank)
                }
            }
            return (1, byteID(at: index))
        }

        /// The rank of the two bytes at `index`, `.max` at the last byte or when they are not a token.
        @inline(__always) func twoByteRank(at index: Int) -> TokenID {
            index + 1 < length ? pairRanks[Int(base[index]) << 8 | Int(base[index + 1])] : .max
        }

        @inline(__always) func byteID(at index: Int) -> TokenID {
            byteIDs[Int(base[index])]
        }
    }

    /// Calls `body` with `piece` and `encoder`'s tables as a `Piece`.
    @inline(__always)
    private static func withPiece<Result>(
        _ piece: UnsafeBufferPointer<UInt8>, _ encoder: BPEEncoder, _ body: (Piece) -> Result
    ) -> Result {
        encoder.pairRanks.withUnsafeBufferPointer { pairRanks in
            encoder.byteIDs.withUnsafeBufferPointer { byteIDs in
                body(Piece(base: piece.baseAddress!, length: piece.count, pairRanks: pairRanks.baseAddress!,
                           byteIDs: byteIDs.baseAddress!, table: Unmanaged.passUnretained(encoder.table)))
            }
        }
    }

    private struct Part {
        var start: Int
        var pairRank: TokenID  // rank of this part joined with the next one; .max when not a token
        var id: TokenID
    }

    static func linear<Sink: TokenSink>(
        _ piece: UnsafeBufferPointer<UInt8>, encoder: BPEEncoder, into sink: inout Sink
    ) {
        withPiece(piece, encoder) { piece in
            let length = piece.length
            ScratchSpace.withBuffer(of: Part.self, capacity: length + 1) { parts in
                for index in 0..<length {
                    parts.initializeElement(at: index, to: Part(start: index, pairRank: piece.twoByteRank(at: index), id: piece.byteID(at: index)))
                }
                parts.initializeElement(at: length, to: Part(start: length, pairRank: .max, id: .max))
                mergeLinearly(parts, boundaries: length + 1, piece: piece, into: &sink)
                _ = parts.deinitialize()
            }
        }
    }

    /// A long piece: its initial parts (whole characters where `WholeCharacters` allows, else bytes), merged
    /// by `mergeLinearly` when there are at most `linearPartLimit` of them, else on the heap. Japanese and
    /// Chinese pieces are mostly 6-30 characters: 17-96 bytes, too long to scan byte by byte, but few enough
    /// whole characters that a scan per merge beats the heap's pushes, pops and stale entries.
    static func long<Sink: TokenSink>(
        _ piece: UnsafeBufferPointer<UInt8>, encoder: BPEEncoder, into sink: inout Sink
    ) {
        long(piece, encoder: encoder, whole: encoder.wholeCharacters?.value, into: &sink)
    }

    /// `long` with the encoder's `WholeCharacters` fetched by the caller, once for many pieces (`Lazy.value`
    /// is an atomic load through an unspecialised generic, hundreds of instructions).
    static func long<Sink: TokenSink>(
        _ piece: UnsafeBufferPointer<UInt8>, encoder: BPEEncoder, whole: WholeCharacters?, into sink: inout Sink
    ) {
        withPiece(piece, encoder) { piece in
            ScratchSpace.withBuffer(of: Part.self, capacity: piece.length + 1) { parts in
                let boundaries = initialParts(of: piece, whole: whole, into: parts)
                if boundaries - 1 <= linearPartLimit {
                    for index in 0..<(boundaries - 1) {
                        parts[index].pairRank = index + 2 < boundaries ? piece.rank(parts[index].start, parts[index + 2].start) : .max
                    }
                    mergeLinearly(parts, boundaries: boundaries, piece: piece, into: &sink)
                } else {
                    mergeOnHeap(parts, boundaries: boundaries, piece: piece, into: &sink)
                }
                _ = UnsafeMutableBufferPointer(rebasing: parts[0..<boundaries]).deinitialize()
            }
        }
    }

    /// The most initial parts `long` merges by scanning; more go to the heap.
    static let linearPartLimit = 40

    /// Writes the parts a merge of `piece` starts from into `parts` (their starts and ids; pair ranks `.max`),
    /// then a sentinel at `piece.length`, and returns how many boundaries that is (parts + 1).
    private static func initialParts(of piece: Piece, whole: WholeCharacters?, into parts: UnsafeMutableBufferPointer<Part>) -> Int {
        var index = 0
        var boundaries = 0
        while index < piece.length {
            let (width, id) = piece.initialPart(at: index, whole: whole)
            parts.initializeElement(at: boundaries, to: Part(start: index, pairRank: .max, id: id))
            boundaries += 1
            index += width
        }
        parts.initializeElement(at: boundaries, to: Part(start: piece.length, pairRank: .max, id: .max))
        return boundaries + 1
    }

    /// The O(n²) merge over `boundaries` boundaries (parts and the sentinel), their pair ranks set: find the
    /// lowest pair rank (leftmost on a tie), merge, update the two neighbouring ranks, close the gap.
    @inline(__always)
    private static func mergeLinearly<Sink: TokenSink>(
        _ parts: UnsafeMutableBufferPointer<Part>, boundaries: Int, piece: Piece, into sink: inout Sink
    ) {
        // `count` boundaries delimit `count - 1` parts; pair `i` joins parts `i` and `i + 1`.
        var count = boundaries
        while count > 2 {
            var minRank = TokenID.max
            var minIndex = 0
            for index in 0..<(count - 2) where parts[index].pairRank < minRank {
                minRank = parts[index].pairRank
                minIndex = index
            }
            if minRank == .max { break }
            let index = minIndex
            parts[index].id = minRank
            parts[index].pairRank = index + 3 < count ? piece.rank(parts[index].start, parts[index + 3].start) : .max
            if index > 0 {
                parts[index - 1].pairRank = piece.rank(parts[index - 1].start, parts[index + 2].start)
            }
            for shifted in (index + 1)..<(count - 1) { parts[shifted] = parts[shifted + 1] }
            count -= 1
        }
        for index in 0..<(count - 1) { sink.append(parts[index].id) }
    }

    private struct Node {
        var next: Int32
        var previous: Int32
        var pairRank: TokenID  // rank of this part joined with the next one; .max when not a token
        var id: TokenID
    }

    static func heap<Sink: TokenSink>(
        _ piece: UnsafeBufferPointer<UInt8>, encoder: BPEEncoder, into sink: inout Sink
    ) {
        withPiece(piece, encoder) { piece in
            ScratchSpace.withBuffer(of: Part.self, capacity: piece.length + 1) { parts in
                let boundaries = initialParts(of: piece, whole: encoder.wholeCharacters?.value, into: parts)
                mergeOnHeap(parts, boundaries: boundaries, piece: piece, into: &sink)
                _ = UnsafeMutableBufferPointer(rebasing: parts[0..<boundaries]).deinitialize()
            }
        }
    }

    /// The O(n log n) merge of the initial `parts` (`boundaries` of them with the sentinel).
    private static func mergeOnHeap<Sink: TokenSink>(
        _ parts: UnsafeMutableBufferPointer<Part>, boundaries: Int, piece: Piece, into sink: inout Sink
    ) {
        let length = piece.length
        // Node `i` is the part starting at byte `i` (part starts never move); node `length` is a sentinel.
        // Every merge pushes at most two keys, so 3 × length bounds the heap.
        ScratchSpace.withBuffer(of: Node.self, capacity: length + 1) { nodes in
            ScratchSpace.withBuffer(of: UInt64.self, capacity: 3 * length) { keys in
                var heap = MinHeap(storage: keys)
                // Bytes inside a whole character get placeholder nodes that no link reaches.
                var previous = -1
                for part in 0..<(boundaries - 1) {
                    let index = parts[part].start
                    let next = parts[part + 1].start
                    nodes.initializeElement(at: index, to: Node(next: Int32(next), previous: Int32(previous), pairRank: .max, id: parts[part].id))
                    for inside in (index + 1)..<next {
                        nodes.initializeElement(at: inside, to: Node(next: -1, previous: -1, pairRank: .max, id: .max))
                    }
                    previous = index
                }
                nodes.initializeElement(at: length, to: Node(next: Int32(length + 1), previous: Int32(previous), pairRank: .max, id: .max))
                var index = 0
                while index < length {
                    let following = Int(nodes[index].next)
                    if following < length {
                        let pairRank = piece.rank(index, Int(nodes[following].next))
                        nodes[index].pairRank = pairRank
                        if pairRank != .max { heap.push(UInt64(pairRank) << 32 | UInt64(index)) }
                    }
                    index = following
                }
                while let key = heap.pop() {
                    let index = Int(truncatingIfNeeded: key & 0xFFFF_FFFF)
                    let pairRank = TokenID(truncatingIfNeeded: key >> 32)
                    // Stale entries: the part was merged away (its rank was reset) or its pair changed since the
                    // push. A pair only ever grows, so its new rank differs from the old one.
                    guard nodes[index].pairRank == pairRank else { continue }
                    let removed = Int(nodes[index].next)
                    let following = Int(nodes[removed].next)
                    nodes[index].id = pairRank
                    nodes[removed].pairRank = .max
                    nodes[index].next = Int32(following)
                    nodes[following].previous = Int32(index)
                    // Both new pair ranks are looked up before either is used, so that the two table reads
                    // (often cache misses) overlap instead of one waiting behind the other's heap push.
                    let before = Int(nodes[index].previous)
                    let rightRank = following < length ? piece.rank(index, Int(nodes[following].next)) : .max
                    let leftRank = before >= 0 ? piece.rank(before, following) : .max
                    nodes[index].pairRank = rightRank
                    if rightRank != .max { heap.push(UInt64(rightRank) << 32 | UInt64(index)) }
                    if before >= 0 {
                        nodes[before].pairRank = leftRank
                        if leftRank != .max { heap.push(UInt64(leftRank) << 32 | UInt64(before)) }
                    }
                }
                index = 0
                while index < length {
                    sink.append(nodes[index].id)
                    index = Int(nodes[index].next)
                }
                _ = nodes.deinitialize()
            }
        }
    }
}

/// A binary min-heap of packed `UInt64` keys over caller-provided storage (no allocation of its own).
struct MinHeap {
    private let keys: UnsafeMutableBufferPointer<UInt64>
    private var count = 0

    init(storage: UnsafeMutableBufferPointer<UInt64>) {
        keys = storage
    }

    mutating func push(_ key: UInt64) {
        var child = count
        count += 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard key < keys[parent] else { break }
            keys[child] = keys[parent]
            child = parent
        }
        keys[child] = key
    }

    mutating func pop() -> UInt64? {
        guard count > 0 else { return nil }
        let top = keys[0]
        count -= 1
        guard count > 0 else { return top }
        let last = keys[count]
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < count else { break }
            let right = left + 1
            let smaller = right < count && keys[right] < keys[left] ? right : left
            guard keys[smaller] < last else { break }
            keys[parent] = keys[smaller]
            parent = smaller
        }
        keys[parent] = last
        return top
    }
}
