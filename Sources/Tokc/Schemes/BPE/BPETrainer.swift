import Foundation

/// Byte-level BPE training, as Hugging Face's `BpeTrainer` does it: texts are normalised and split by the
/// pre-tokenizer, equal pieces are counted once, and the most frequent adjacent pair of tokens is merged again
/// and again. Pair counts are updated incrementally after each merge (only the words that hold the pair are
/// touched), never recounted. Ties go to the pair of smaller ids, so the result is deterministic.
public struct BPETrainer: Trainer {
    public struct Options: Sendable {
        /// Tokens in the result: 256 bytes, the merges, and the special tokens.
        public var vocabSize: Int
        /// Pairs seen fewer times than this are not merged.
        public var minFrequency = 2
        public var pattern = RegexPreTokenizer.Named.o200k.pattern
        public var normalizer = UnicodeNormalizer.identity
        /// Special tokens, given ids after the learned ones, in this order.
        public var specialTokens: [String] = []
        /// Texts are counted, on every core, a batch of this many bytes at a time. It changes neither the
        /// result nor, much, the memory (the batch is a copy of the texts); it exists for tests.
        public var batchBytes = 8 << 20

        public init(vocabSize: Int) {
            self.vocabSize = vocabSize
        }
    }

    public let options: Options
    private let preTokenizer: RegexPreTokenizer
    /// Each distinct piece and how often it occurs.
    private var counts = PieceCounts()
    /// Texts not counted yet, back to back, and where each ends: counted a batch at a time, on every core.
    private var batch: [UInt8] = []
    private var batchEnds: [Int] = []

    public init(options: Options) throws(TokcError) {
        guard options.vocabSize >= 256 + options.specialTokens.count else {
            throw .malformedInput(source: "--vocab-size", line: 1, expected: "at least \(256 + options.specialTokens.count) (256 bytes and the special tokens)")
        }
        self.options = options
        preTokenizer = try RegexPreTokenizer(pattern: options.pattern)
    }

    public mutating func add(_ text: UnsafeBufferPointer<UInt8>) {
        guard !text.isEmpty else { return }
        batch.append(contentsOf: text)
        batchEnds.append(batch.count)
        if batch.count >= options.batchBytes { countPending() }
    }

    private mutating func countPending() {
        guard !batchEnds.isEmpty else { return }
        counts.merge(countBatch())
        batch.removeAll(keepingCapacity: true)
        batchEnds.removeAll(keepingCapacity: true)
    }

    /// Counts the batch's pieces: the texts are cut into one run per core, each run normalised, split and
    /// counted into its own table on its own thread, and the tables merged. Counting is most of what the
    /// trainer does before merging (1.3 s of the 15 MB corpus on one core).
    private func countBatch() -> PieceCounts {
        let threads = max(1, min(ProcessInfo.processInfo.activeProcessorCount, batchEnds.count))
        // Run `r` holds the texts `runStarts[r]..<runStarts[r + 1]`, split where the bytes reach r / threads.
        var runStarts = [0]
        var text = 0
        for run in 1..<threads {
            while text < batchEnds.count && batchEnds[text] < batch.count * run / threads { text += 1 }
            runStarts.append(text)
        }
        runStarts.append(batchEnds.count)
        let (runs, ends, normalizer, preTokenizer) = (runStarts, batchEnds, options.normalizer, preTokenizer)
        var results = [PieceCounts](repeating: PieceCounts(), count: threads)
        batch.withUnsafeBufferPointer { bytes in
            results.withUnsafeMutableBufferPointer { results in
                // Each run writes only its own slot, and both buffers outlive the loop.
                nonisolated(unsafe) let bytes = bytes
                nonisolated(unsafe) let results = results
                DispatchQueue.concurrentPerform(iterations: threads) { run in
                    var local = PieceCounts(capacity: 1 << 16)
                    for index in runs[run]..<runs[run + 1] {
                        let text = UnsafeBufferPointer(rebasing: bytes[(index == 0 ? 0 : ends[index - 1])..<ends[index]])
                        if let normalized = normalizer.normalize(text) {
                            normalized.withUnsafeBufferPointer { preTokenizer.forEachPiece(in: $0) { local.add($0) } }
                        } else {
                            preTokenizer.forEachPiece(in: text) { local.add($0) }
                        }
                    }
                    results[run] = local
                }
            }
        }
        var total = results[0]
        for other in results.dropFirst() { total.merge(other) }
        return total
    }

    /// Distinct pieces counted so far (all of them once `train` has run).
    public var distinctPieces: Int { counts.count }

    public mutating func train(progress: (TrainingProgress) -> Void) throws(TokcError) -> TrainedBPE {
        countPending()
        return try learn(progress: progress)
    }

    /// The merges, from the counted pieces.
    private func learn(progress: (TrainingProgress) -> Void) throws(TokcError) -> TrainedBPE {
        // Words in byte order: the table's order depends on how the texts were batched, the result must not.
        let sortedPieces = counts.sorted()
        var words: [[TokenID]] = sortedPieces.map { $0.piece.map { TokenID($0) } }
        let counts: [Int] = sortedPieces.map(\.count)

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

        var tokens: [[UInt8]] = (0...255).map { [UInt8($0)] }
        var merges: [(left: TokenID, right: TokenID)] = []
        let target = options.vocabSize - options.specialTokens.count
        progress(TrainingProgress(phase: "merges", done: 0, total: target - 256))
        while tokens.count < target, let best = heap.pop() {
            guard pairCounts[best.pair] == best.count else { continue }  // a stale entry
            guard best.count >= options.minFrequency else { break }
            let left = TokenID(best.pair >> 32)
            let right = TokenID(truncatingIfNeeded: best.pair)
            let merged = TokenID(tokens.count)
            tokens.append(tokens[Int(left)] + tokens[Int(right)])
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
                for position in 0..<(word.count - 1) {
                    let (first, second) = (word[position], word[position + 1])
                    // Pairs away from the merged occurrences cancel out: count only the ones that touch them.
                    guard first == left || first == right || second == left || second == right else { continue }
                    delta[key(first, second), default: 0] -= count
                }
                for position in 0..<max(0, rewritten.count - 1) {
                    let (first, second) = (rewritten[position], rewritten[position + 1])
                    guard first == merged || second == merged || first == left || first == right || second == left || second == right else { continue }
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
            if merges.count % 1000 == 0 { progress(TrainingProgress(phase: "merges", done: merges.count, total: target - 256)) }
        }
        progress(TrainingProgress(phase: "merges", done: merges.count, total: target - 256))
        return TrainedBPE(tokens: tokens, merges: merges, options: options)
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

/// A trained byte-level BPE: tokens by id (the 256 bytes, then one per merge), the merges in order, and the
/// options it was trained with (pattern, normaliser, special tokens).
public struct TrainedBPE: TrainedModel, Sendable {
    public let tokens: [[UInt8]]
    public let merges: [(left: TokenID, right: TokenID)]
    public let options: BPETrainer.Options

    /// Special tokens get the ids after the learned tokens, in the order given.
    public var specialTokens: [String: TokenID] {
        Dictionary(uniqueKeysWithValues: options.specialTokens.enumerated().map { ($1, TokenID(tokens.count + $0)) })
    }

    public func tokenizer(name: String) throws(TokcError) -> Tokenizer {
        let table = try table()
        let listed = merges.enumerated().map { (left: $1.left, right: $1.right, merged: TokenID(256 + $0)) }
        guard let encoder = MergeListBPEEncoder(table: table, merges: listed) else {
            throw .invalidVocabulary(path: name, reason: "a trained vocabulary lacks a single byte")
        }
        return Tokenizer(
            name: name, normalizer: options.normalizer, preTokenizer: try RegexPreTokenizer(pattern: options.pattern),
            encoder: encoder, specialTokens: specialTokens)
    }

    private func table() throws(TokcError) -> TokenTable {
        var bytes: [UInt8] = []
        var entries: [(id: TokenID, range: Range<Int>)] = []
        for (id, token) in tokens.enumerated() {
            entries.append((TokenID(id), bytes.count..<bytes.count + token.count))
            bytes += token
        }
        do {
            return try TokenTable(bytes: bytes, entries: entries)
        } catch {
            throw .invalidVocabulary(path: "trained vocabulary", reason: "\(error)")
        }
    }

    /// The same vocabulary under tiktoken's rule: a pair merges when its concatenation is a token, lowest id
    /// first, rather than when the merge list has that very pair. This is what a `.tiktoken` file of it gives.
    /// The two rules agree on most text but not all (`Tokens bc < ab < abc` from `ab + c`: on "abc" the list
    /// gives a + bc, tiktoken abc); `tokc train --format tiktoken` counts the held-out lines where they differ.
    public func tiktokenRuleTokenizer(name: String) throws(TokcError) -> Tokenizer {
        Tokenizer(
            name: name, normalizer: options.normalizer, preTokenizer: try RegexPreTokenizer(pattern: options.pattern),
            encoder: try rankEncoder(), specialTokens: specialTokens)
    }

    /// The tokens ranked by id, as tiktoken reads them.
    private func rankEncoder() throws(TokcError) -> BPEEncoder {
        guard let encoder = BPEEncoder(table: try table()) else {
            throw .invalidVocabulary(path: "trained vocabulary", reason: "a trained vocabulary lacks a single byte")
        }
        return encoder
    }

    /// `tokenizer.json` (the merge list: the exact tokenizer) or `tiktoken` (`base64 rank` lines, id order;
    /// the pattern and the special tokens are not part of that format and go to tiktoken's `Encoding` in code).
    public func serialize(format: String) throws(TokcError) -> [UInt8] {
        switch format {
        case "tokenizer.json":
            return try TokenizerJSONFormat.serialize(
                tokens: tokens, merges: merges, pattern: options.pattern, normalizer: options.normalizer,
                specialTokens: specialTokens)
        case "tiktoken":
            guard options.normalizer == .identity else {
                throw .malformedInput(source: "--format", line: 1, expected: "tokenizer.json: tiktoken has no normaliser, so a vocabulary trained with --normalize needs one")
            }
            return TiktokenFormat.serialize(try rankEncoder())
        default:
            throw .malformedInput(source: "--format", line: 1, expected: "tokenizer.json or tiktoken")
        }
    }
}
