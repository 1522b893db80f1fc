/// The vocabulary a merge loop grows: BPE's (every merge is a new token) or WordPiece's (a merge whose text is
/// already a token, `ab + ##c` after `a + ##bc`, reuses it).
protocol MergingVocabulary {
    /// Tokens so far.
    var count: Int { get }
    /// The token for `left` followed by `right`, added if it is new.
    mutating func merge(_ left: TokenID, _ right: TokenID) -> TokenID
}

/// The merge loop of BPE-style training, shared by `BPETrainer` and `WordPieceTrainer`: the most frequent
/// adjacent pair of tokens over all words (each weighted by its count) is merged, again and again, until the
/// vocabulary reaches its target or no pair is frequent enough. Pair counts are updated incrementally after
/// each merge (only the words that hold the pair are touched), never recounted. Ties go to the pair of smaller
/// ids, so the result is deterministic.
enum PairMerging {
    /// Merges in `words` until `vocabulary.count` reaches `target`; returns the merges in order.
    static func learn<Vocabulary: MergingVocabulary>(
        words: [[TokenID]], counts: [Int], into vocabulary: inout Vocabulary, target: Int, minFrequency: Int,
        progress: (TrainingProgress) -> Void
    ) -> [(left: TokenID, right: TokenID)] {
        var words = words
        var pairCounts: [UInt64: Int] = [:]
        var pairWords: [UInt64: [Int32]] = [:]
        @inline(__always) func key(_ left: TokenID, _ right: TokenID) -> UInt64 { UInt64(left) << 32 | UInt64(right) }
        for (index, word) in words.enumerated() where word.count > 1 {
            for position in 0..<(word.count - 1) {
                let pair = key(word[position], word[position + 1])
                pairCounts[pair, default: 0] += counts[index]
                pairWords[pair, default: []].append(Int32(index))
            }
        }
        var heap = PairHeap()
        for (pair, count) in pairCounts { heap.push(count: count, pair: pair) }

        var merges: [(left: TokenID, right: TokenID)] = []
        let total = max(0, target - vocabulary.count)
        progress(TrainingProgress(phase: "merges", done: 0, total: total))
        while vocabulary.count < target, let best = heap.pop() {
            guard pairCounts[best.pair] == best.count else { continue }  // a stale entry
            guard best.count >= minFrequency else { break }
            let left = TokenID(best.pair >> 32)
            let right = TokenID(truncatingIfNeeded: best.pair)
            let merged = vocabulary.merge(left, right)
            merges.append((left, right))
            pairCounts[best.pair] = nil
            // Net change per pair over all touched words: most pairs of a word come back unchanged, and only
            // pairs whose count really moved are written back and pushed onto the heap.
            var delta: [UInt64: Int] = [:]
            var visited = Set<Int32>()
            for wordIndex in pairWords.removeValue(forKey: best.pair) ?? [] where visited.insert(wordIndex).inserted {
                // Take the word's pairs out, merge every occurrence left to right, put its pairs back: only
                // the words that hold the pair are touched, and each costs its own length.
                let count = counts[Int(wordIndex)]
                let word = words[Int(wordIndex)]
                var rewritten: [TokenID] = []
                rewritten.reserveCapacity(word.count)
                var position = 0
                while position < word.count {
                    if position + 1 < word.count && word[position] == left && word[position + 1] == right {
                        rewritten.append(merged)
                        position += 2
                    } else {
                        rewritten.append(word[position])
                        position += 1
                    }
                }
                guard rewritten.count < word.count else { continue }  // the pair left this word earlier
                // Pairs away from the merged occurrences cancel out: count only the ones that touch them (and
                // ones with `merged`, which may already be in the word when a merge reuses a token).
                @inline(__always) func touches(_ token: TokenID) -> Bool { token == left || token == right || token == merged }
                for position in 0..<(word.count - 1) {
                    let (first, second) = (word[position], word[position + 1])
                    guard touches(first) || touches(second) else { continue }
                    delta[key(first, second), default: 0] -= count
                }
                for position in 0..<max(0, rewritten.count - 1) {
                    let (first, second) = (rewritten[position], rewritten[position + 1])
                    guard touches(first) || touches(second) else { continue }
                    let pair = key(first, second)
                    delta[pair, default: 0] += count
                    if first == merged || second == merged {
                        pairWords[pair, default: []].append(wordIndex)
                    }
                }
                words[Int(wordIndex)] = rewritten
            }
            for (pair, change) in delta where change != 0 && pair != best.pair {
                let count = (pairCounts[pair] ?? 0) + change
                if count <= 0 {
                    pairCounts[pair] = nil
                } else {
                    pairCounts[pair] = count
                    heap.push(count: count, pair: pair)
                }
            }
            if merges.count % 1000 == 0 { progress(TrainingProgress(phase: "merges", done: merges.count, total: total)) }
        }
        progress(TrainingProgress(phase: "merges", done: merges.count, total: total))
        return merges
    }
}

/// A max-heap of pair counts: the highest count first, the smaller pair (by ids) on a tie. Entries go stale
/// when a count changes; the trainer skips those it pops.
struct PairHeap {
    private var entries: [(count: Int, pair: UInt64)] = []

    private static func before(_ a: (count: Int, pair: UInt64), _ b: (count: Int, pair: UInt64)) -> Bool {
        a.count != b.count ? a.count > b.count : a.pair < b.pair
    }

    mutating func push(count: Int, pair: UInt64) {
        entries.append((count, pair))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.before(entries[child], entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (count: Int, pair: UInt64)? {
        guard let top = entries.first else { return nil }
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var best = parent
                if left < entries.count && Self.before(entries[left], entries[best]) { best = left }
                if right < entries.count && Self.before(entries[right], entries[best]) { best = right }
                if best == parent { break }
                entries.swapAt(parent, best)
                parent = best
            }
        }
        return top
    }
}
