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
