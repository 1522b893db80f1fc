import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Distinct pieces and how often each occurs, for trainers: the bytes live in one arena and a hash table of
/// (hash, offset, length, count) slots indexes them, so counting a piece seen before allocates nothing (a
/// `[[UInt8]: Int]` built a key array per occurrence: 30 M of them for the 15 MB corpus).
struct PieceCounts: Sendable {
    private struct Slot {
        var hash: UInt64
        var offset: UInt32
        var length: UInt32
        var count: Int
    }

    private var arena: [UInt8] = []
    private var slots: [Slot]
    private var used = 0

    init(capacity: Int = 1 << 12) {
        slots = Array(repeating: Slot(hash: 0, offset: 0, length: 0, count: 0), count: 1 << max(4, Int.bitWidth - (capacity - 1).leadingZeroBitCount))
    }

    /// Distinct pieces.
    var count: Int { used }

    /// Adds `occurrences` of `piece` (never empty: pre-tokenizers yield non-empty pieces).
    mutating func add(_ piece: UnsafeBufferPointer<UInt8>, occurrences: Int = 1) {
        let hash = TokenTable.keyAndHash(piece.baseAddress!, piece.count).hash
        let mask = slots.count - 1
        var index = Int(truncatingIfNeeded: hash) & mask
        while slots[index].count != 0 {
            let slot = slots[index]
            if slot.hash == hash && Int(slot.length) == piece.count && arena.withUnsafeBufferPointer({
                memcmp($0.baseAddress! + Int(slot.offset), piece.baseAddress!, piece.count) == 0
            }) {
                slots[index].count += occurrences
                return
            }
            index = (index + 1) & mask
        }
        slots[index] = Slot(hash: hash, offset: UInt32(arena.count), length: UInt32(piece.count), count: occurrences)
        arena.append(contentsOf: piece)
        used += 1
        if used * 2 > slots.count { grow() }
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: Slot(hash: 0, offset: 0, length: 0, count: 0), count: old.count * 2)
        let mask = slots.count - 1
        for slot in old where slot.count != 0 {
            var index = Int(truncatingIfNeeded: slot.hash) & mask
            while slots[index].count != 0 { index = (index + 1) & mask }
            slots[index] = slot
        }
    }

    /// Adds every piece of `other` with its count.
    mutating func merge(_ other: PieceCounts) {
        other.arena.withUnsafeBufferPointer { bytes in
            for slot in other.slots where slot.count != 0 {
                add(UnsafeBufferPointer(rebasing: bytes[Int(slot.offset)..<Int(slot.offset + slot.length)]), occurrences: slot.count)
            }
        }
    }

    /// The pieces with their counts, in byte order (the table's order depends on insertion, the result of a
    /// training must not).
    func sorted() -> [(piece: [UInt8], count: Int)] {
        arena.withUnsafeBufferPointer { bytes in
            slots.filter { $0.count != 0 }
                .map { (Array(bytes[Int($0.offset)..<Int($0.offset + $0.length)]), $0.count) }
                .sorted { $0.0.lexicographicallyPrecedes($1.0) }
        }
    }
}

/// What trainers share before they learn: texts are held back in batches, and each batch is normalised, split
/// by the pre-tokenizer and counted into `PieceCounts` on every core. Counting is most of what a trainer does
/// before it learns (1.3 s of the 15 MB corpus on one core).
struct PieceCounter {
    let normalizer: any Normalizer
    let preTokenizer: any PreTokenizer
    /// Bytes held back before a batch is counted. It changes neither the result nor, much, the memory (the
    /// batch is a copy of the texts).
    let batchBytes: Int
    /// Each distinct piece and how often it occurs, for the texts counted so far.
    private(set) var counts = PieceCounts()
    /// Texts not counted yet, back to back, and where each ends.
    private var batch: [UInt8] = []
    private var batchEnds: [Int] = []

    init(normalizer: any Normalizer, preTokenizer: any PreTokenizer, batchBytes: Int) {
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.batchBytes = batchBytes
    }

    mutating func add(_ text: UnsafeBufferPointer<UInt8>) {
        guard !text.isEmpty else { return }
        batch.append(contentsOf: text)
        batchEnds.append(batch.count)
        if batch.count >= batchBytes { countPending() }
    }

    /// Counts the texts held back.
    mutating func countPending() {
        guard !batchEnds.isEmpty else { return }
        counts.merge(countBatch())
        batch.removeAll(keepingCapacity: true)
        batchEnds.removeAll(keepingCapacity: true)
    }

    /// The texts are cut into one run per core, each run normalised, split and counted into its own table on
    /// its own thread, and the tables merged.
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
        let (runs, ends, normalizer, preTokenizer) = (runStarts, batchEnds, normalizer, preTokenizer)
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
}

/// Sums per piece, computed on every core.
enum PerPieceSums {
    /// Per-piece sums over all items (words, lines): the items are dealt out to one thread per core, `body` adds
    /// each thread's items into its own array, and the arrays are added up. The trainers' E-steps and usage
    /// counts.
    static func sum(
        pieces: Int, words: Int, _ body: @escaping @Sendable (StrideTo<Int>, inout [Double]) -> Void
    ) -> [Double] {
        let threads = max(1, min(ProcessInfo.processInfo.activeProcessorCount, words))
        var partial = [[Double]](repeating: [], count: threads)
        partial.withUnsafeMutableBufferPointer { partial in
            // Each thread writes only its own slot, and the buffer outlives the loop.
            nonisolated(unsafe) let partial = partial
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                var sums = [Double](repeating: 0, count: pieces)
                body(stride(from: thread, to: words, by: threads), &sums)
                partial[thread] = sums
            }
        }
        var total = partial[0]
        for other in partial.dropFirst() { for index in total.indices { total[index] += other[index] } }
        return total
    }
}
