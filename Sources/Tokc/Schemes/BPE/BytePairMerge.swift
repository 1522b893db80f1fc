/// The two implementations of tiktoken's merge rule over one piece: repeatedly merge the adjacent pair whose
/// concatenation has the lowest rank, the leftmost such pair on a tie, until no adjacent pair is a token.
/// Both produce identical ids (a test checks them against each other and against a slow reference);
/// they differ only in cost.
///
/// Performance notes:
/// - `linear` keeps a flat array of (start, pair rank, id) and rescans it for the minimum each merge: O(n²)
///   but branch-light and in L1 for short pieces, which are almost all pieces. After a merge only the two
///   neighbouring pair ranks change, so each merge costs two table lookups. The part's own id is the pair rank
///   that merged it, so emitting needs no lookup.
/// - `heap` is for long pieces (a 5,000-letter word, a 1 MB line without spaces): a doubly linked list of
///   parts and a binary min-heap of `rank << 32 | index` with lazy deletion. The index order is the position
///   order, so the heap's tie-break is the leftmost pair, as in `linear`. O(n log n).
enum BytePairMerge {
    private struct Part {
        var start: Int
        var pairRank: TokenID  // rank of this part joined with the next one; .max when not a token
        var id: TokenID
    }

    static func linear<Sink: TokenSink>(
        _ piece: UnsafeBufferPointer<UInt8>, table: TokenTable, byteIDs: [TokenID], into sink: inout Sink
    ) {
        let base = piece.baseAddress!
        let length = piece.count
        @inline(__always) func rank(_ from: Int, _ to: Int) -> TokenID {
            table.id(of: base + from, count: to - from) ?? .max
        }
        withUnsafeTemporaryAllocation(of: Part.self, capacity: length + 1) { parts in
            for index in 0..<length {
                let pairRank = index + 2 <= length ? rank(index, index + 2) : .max
                parts.initializeElement(at: index, to: Part(start: index, pairRank: pairRank, id: byteIDs[Int(base[index])]))
            }
            parts.initializeElement(at: length, to: Part(start: length, pairRank: .max, id: .max))
            // `count` boundaries delimit `count - 1` parts; pair `i` joins parts `i` and `i + 1`.
            var count = length + 1
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
                parts[index].pairRank = index + 3 < count ? rank(parts[index].start, parts[index + 3].start) : .max
                if index > 0 {
                    parts[index - 1].pairRank = rank(parts[index - 1].start, parts[index + 2].start)
                }
                for shifted in (index + 1)..<(count - 1) { parts[shifted] = parts[shifted + 1] }
                count -= 1
            }
            for index in 0..<(count - 1) { sink.append(parts[index].id) }
            _ = parts.deinitialize()
        }
    }

    static func heap<Sink: TokenSink>(
        _ piece: UnsafeBufferPointer<UInt8>, table: TokenTable, byteIDs: [TokenID], into sink: inout Sink
    ) {
        let base = piece.baseAddress!
        let length = piece.count
        @inline(__always) func rank(_ from: Int, _ to: Int) -> TokenID {
            table.id(of: base + from, count: to - from) ?? .max
        }
        // Node `length` is a sentinel whose start is the end of the piece.
        var next = [Int](unsafeUninitializedCapacity: length + 1) { buffer, initialized in
            for index in 0...length { buffer[index] = index + 1 }
            initialized = length + 1
        }
        var previous = [Int](unsafeUninitializedCapacity: length + 1) { buffer, initialized in
            for index in 0...length { buffer[index] = index - 1 }
            initialized = length + 1
        }
        var ids = [TokenID](unsafeUninitializedCapacity: length) { buffer, initialized in
            for index in 0..<length { buffer[index] = byteIDs[Int(base[index])] }
            initialized = length
        }
        // Part starts never move: a part is identified by the index of its first byte.
        var pairRanks = [TokenID](repeating: .max, count: length)
        var heap = MinHeap(capacity: length)
        for index in 0..<(length - 1) {
            let pairRank = rank(index, index + 2)
            pairRanks[index] = pairRank
            if pairRank != .max { heap.push(UInt64(pairRank) << 32 | UInt64(index)) }
        }
        while let key = heap.pop() {
            let index = Int(truncatingIfNeeded: key & 0xFFFF_FFFF)
            let pairRank = TokenID(truncatingIfNeeded: key >> 32)
            // Stale entries: the part was merged away (its rank was reset) or its pair changed since the push.
            // A pair only ever grows, so its new rank differs from the old one.
            guard pairRanks[index] == pairRank else { continue }
            let removed = next[index]
            ids[index] = pairRank
            pairRanks[removed] = .max
            next[index] = next[removed]
            previous[next[removed]] = index
            let following = next[index]
            if following < length {
                let newRank = rank(index, next[following])
                pairRanks[index] = newRank
                if newRank != .max { heap.push(UInt64(newRank) << 32 | UInt64(index)) }
            } else {
                pairRanks[index] = .max
            }
            let before = previous[index]
            if before >= 0 {
                let newRank = rank(before, following)
                pairRanks[before] = newRank
                if newRank != .max { heap.push(UInt64(newRank) << 32 | UInt64(before)) }
            }
        }
        var index = 0
        while index < length {
            sink.append(ids[index])
            index = next[index]
        }
    }
}

/// A binary min-heap of packed `UInt64` keys.
struct MinHeap {
    private var keys: [UInt64]

    init(capacity: Int) {
        keys = []
        keys.reserveCapacity(capacity)
    }

    mutating func push(_ key: UInt64) {
        keys.append(key)
        var child = keys.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard keys[child] < keys[parent] else { break }
            keys.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> UInt64? {
        guard let last = keys.popLast() else { return nil }
        guard !keys.isEmpty else { return last }
        let top = keys[0]
        keys[0] = last
        var parent = 0
        let count = keys.count
        while true {
            let left = 2 * parent + 1
            guard left < count else { break }
            let right = left + 1
            let smaller = right < count && keys[right] < keys[left] ? right : left
            guard keys[smaller] < keys[parent] else { break }
            keys.swapAt(smaller, parent)
            parent = smaller
        }
        return top
    }
}
