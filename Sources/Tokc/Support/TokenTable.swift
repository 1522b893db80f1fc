#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An immutable two-way map between token byte strings and ids: bytes → id by open addressing, id → bytes
/// by index. Lookups take a pointer and a length and allocate nothing, so the BPE merge loop can ask about
/// any slice of a piece for free.
///
/// Layout: all token bytes in one buffer; `spans[id]` locates a token's bytes (length 0 = no such id, since
/// no vocabulary has an empty token); `slots` is a power-of-two linear-probing table of 16-byte slots. A slot
/// holds the token's bytes themselves, packed into a `UInt64`, when it is at most 8 bytes long (most tokens,
/// and nearly every pair the merge loop asks about), else the full 64-bit hash; beside it the length and id.
/// A short lookup is therefore settled inside the slot, with no second memory access and no `memcmp`; a long
/// one compares bytes only when length and hash agree. Load factor ≤ 0.5.
///
/// In front of the slots sits a blocked Bloom filter (`filter`, one `UInt64` word per lookup, two bits per
/// token, about 8 bits of filter per token: 256 KiB and about 3% false positives for o200k_base): the BPE merge
/// loop asks mostly about byte strings that are not tokens (two thirds of its lookups on Japanese), and the
/// filter, small enough to stay in L2, turns those away without touching the slot array (8 MB for o200k_base),
/// whose every first read is a cache miss. A 512 KiB filter (16 bits per token) missed L2 more often under
/// cachegrind (1 MiB last level, ja and en held-out text: 347K and 368K misses against 272K and 296K).
///
/// Cost: one hash (≤ 8 bytes: three loads and a multiply), one filter word, then one slot read per probe.
final class TokenTable: @unchecked Sendable {  // Invariant: every buffer is written in init only.
    private struct Span {
        var offset: UInt32
        var length: UInt32
    }

    private struct Slot {
        /// Packed bytes (length ≤ 8) or the hash (length > 8).
        var key: UInt64
        /// `length << 32 | id`; `Slot.empty` when unused.
        var meta: UInt64
        static let emptyMeta = UInt64.max
    }

    /// One past the highest id.
    let idLimit: Int
    /// Number of tokens. Ids may have gaps below `idLimit`.
    let count: Int
    private let storage: UnsafeMutableBufferPointer<UInt8>
    private let spans: UnsafeMutableBufferPointer<Span>
    private let slots: UnsafeMutableBufferPointer<Slot>
    private let mask: Int
    private let filter: UnsafeMutableBufferPointer<UInt64>
    private let filterMask: Int

    /// Why a table could not be built.
    enum BuildError: Error, Equatable {
        case duplicateBytes(firstID: TokenID, secondID: TokenID)
        case duplicateID(TokenID)
        case emptyToken(TokenID)
        case tooLarge
    }

    /// Builds the table from tokens given whole, each an id and its bytes; empty tokens are left out.
    convenience init(tokens: some Sequence<(id: TokenID, bytes: [UInt8])>) throws(BuildError) {
        var bytes: [UInt8] = []
        var entries: [(id: TokenID, range: Range<Int>)] = []
        for (id, token) in tokens where !token.isEmpty {
            entries.append((id, bytes.count..<bytes.count + token.count))
            bytes += token
        }
        try self.init(bytes: bytes, entries: entries)
    }

    /// Builds the table from `entries`: each is an id and the range of its bytes in `bytes`.
    init(bytes: [UInt8], entries: [(id: TokenID, range: Range<Int>)]) throws(BuildError) {
        guard bytes.count < Int(UInt32.max), entries.count < Int(UInt32.max / 2) else { throw .tooLarge }
        let idLimit = (entries.map { Int($0.id) }.max() ?? -1) + 1
        self.idLimit = idLimit
        self.count = entries.count

        storage = .allocate(capacity: max(bytes.count, 1))
        _ = storage.initialize(from: bytes)
        spans = .allocate(capacity: max(idLimit, 1))
        spans.initialize(repeating: Span(offset: 0, length: 0))
        var capacity = 16
        while capacity < entries.count * 2 { capacity <<= 1 }
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: Slot(key: 0, meta: Slot.emptyMeta))
        mask = capacity - 1
        var filterWords = 64
        while filterWords * 8 < entries.count { filterWords <<= 1 }
        filter = .allocate(capacity: filterWords)
        filter.initialize(repeating: 0)
        filterMask = filterWords - 1

        // Ids first, in file order: the first empty token or repeated id is where checking stops.
        var firstBadEntry = entries.count
        var badIDError: BuildError?
        for (index, entry) in entries.enumerated() {
            let id = Int(entry.id)
            if entry.range.isEmpty {
                (firstBadEntry, badIDError) = (index, .emptyToken(entry.id))
                break
            }
            if spans[id].length != 0 {
                (firstBadEntry, badIDError) = (index, .duplicateID(entry.id))
                break
            }
            spans[id] = Span(offset: UInt32(entry.range.lowerBound), length: UInt32(entry.range.count))
        }

        // Then the slots. Inserted in entry order, every token's write lands at random in the slot array
        // (8 MB for o200k_base: a cache miss each, 13 ms of its load). Instead each token becomes a record
        // (hash, key, meta) in one sequential pass, the records are sorted by home slot with a stable LSD radix
        // sort (passes of 10 bits: a few hundred write streams, cache-friendly), and inserted in that order, so
        // the slot array is swept once. Linear probing finds the same entries whatever the insertion order.
        var records: [Record] = []
        records.reserveCapacity(firstBadEntry)
        for entry in entries[..<firstBadEntry] {
            let start = storage.baseAddress! + entry.range.lowerBound
            let key = Self.keyAndHash(start, entry.range.count).key
            records.append(Record(key: key, meta: UInt64(entry.range.count) << 32 | UInt64(entry.id)))
        }
        Self.sortByHomeSlot(&records, mask: mask)
        var duplicates: [(first: TokenID, second: TokenID)] = []
        for record in records {
            let hash = record.hash
            var slot = Int(truncatingIfNeeded: hash) & mask
            var duplicateOf: TokenID?
            while slots[slot].meta != Slot.emptyMeta {
                let other = slots[slot]
                if other.key == record.key && other.meta >> 32 == record.meta >> 32 {
                    let otherID = TokenID(truncatingIfNeeded: other.meta)
                    let count = Int(truncatingIfNeeded: record.meta >> 32)
                    let mine = spans[Int(TokenID(truncatingIfNeeded: record.meta))]
                    let theirs = spans[Int(otherID)]
                    if count <= 8 || memcmp(storage.baseAddress! + Int(theirs.offset), storage.baseAddress! + Int(mine.offset), count) == 0 {
                        duplicateOf = otherID
                        break
                    }
                }
                slot = (slot + 1) & mask
            }
            if let duplicateOf {
                duplicates.append((duplicateOf, TokenID(truncatingIfNeeded: record.meta)))
                continue
            }
            slots[slot] = Slot(key: record.key, meta: record.meta)
            filter[Self.filterWord(hash) & filterMask] |= Self.filterBits(hash)
        }
        if !duplicates.isEmpty {
            // Error path: report the repeat that comes first in the file, naming the earlier entry first.
            var entryIndex: [TokenID: Int] = [:]
            for (index, entry) in entries[..<firstBadEntry].enumerated() { entryIndex[entry.id] = index }
            let ordered = duplicates.map { pair -> (first: TokenID, second: TokenID) in
                entryIndex[pair.first]! < entryIndex[pair.second]! ? pair : (pair.second, pair.first)
            }
            let first = ordered.min { entryIndex[$0.second]! < entryIndex[$1.second]! }!
            throw .duplicateBytes(firstID: first.first, secondID: first.second)
        }
        if let badIDError { throw badIDError }
    }

    /// One token on its way into the slot array: its slot key and meta (16 bytes; the hash follows from them).
    private struct Record {
        var key: UInt64
        var meta: UInt64

        var hash: UInt64 {
            let count = Int(truncatingIfNeeded: meta >> 32)
            return count <= 8 ? TokenTable.shortHash(key, count) : key
        }
    }

    /// Sorts `records` by home slot (`hash & mask`), stably, least significant 10 bits first.
    private static func sortByHomeSlot(_ records: inout [Record], mask: Int) {
        let bits = (mask + 1).trailingZeroBitCount
        guard records.count > 1, bits > 0 else { return }
        var scratch = records
        var shift = 0
        while shift < bits {
            let width = min(10, bits - shift)
            let digitMask = (1 << width) - 1
            var starts = [Int](repeating: 0, count: (1 << width) + 1)
            for record in records { starts[(Int(truncatingIfNeeded: record.hash) >> shift) & digitMask + 1] += 1 }
            for digit in 1..<starts.count { starts[digit] += starts[digit - 1] }
            for record in records {
                let digit = (Int(truncatingIfNeeded: record.hash) >> shift) & digitMask
                scratch[starts[digit]] = record
                starts[digit] += 1
            }
            swap(&records, &scratch)
            shift += width
        }
    }

    deinit {
        storage.deallocate()
        spans.deallocate()
        slots.deallocate()
        filter.deallocate()
    }

    /// The filter word and bits of a hash: bits the slot index (its low bits) does not use, so that tokens
    /// sharing a slot neighbourhood spread over the filter.
    @inline(__always) private static func filterWord(_ hash: UInt64) -> Int {
        Int(truncatingIfNeeded: hash >> 40)
    }

    @inline(__always) private static func filterBits(_ hash: UInt64) -> UInt64 {
        (1 as UInt64) << ((hash >> 28) & 63) | (1 as UInt64) << ((hash >> 34) & 63)
    }

    /// The id of `bytes`, if they are a token.
    func id(of bytes: [UInt8]) -> TokenID? {
        bytes.withUnsafeBufferPointer { $0.isEmpty ? nil : id(of: $0.baseAddress!, count: $0.count) }
    }

    /// The id of the token whose bytes are exactly `count` bytes at `start`, or nil.
    @inline(__always)
    func id(of start: UnsafePointer<UInt8>, count: Int) -> TokenID? {
        let (key, hash) = Self.keyAndHash(start, count)
        let bits = Self.filterBits(hash)
        guard filter[Self.filterWord(hash) & filterMask] & bits == bits else { return nil }
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = slots[slot]
            if entry.meta == Slot.emptyMeta { return nil }
            if entry.key == key && Int(truncatingIfNeeded: entry.meta >> 32) == count {
                let id = TokenID(truncatingIfNeeded: entry.meta)
                if count <= 8 { return id }
                let span = spans[Int(id)]
                if memcmp(storage.baseAddress! + Int(span.offset), start, count) == 0 { return id }
            }
            slot = (slot + 1) & mask
        }
    }

    /// The id of each of the 256 single bytes, in byte order; nil if one is not a token. Byte-level BPE starts
    /// every merge from these.
    func singleByteIDs() -> [TokenID]? {
        var ids: [TokenID] = []
        ids.reserveCapacity(256)
        for byte in 0...UInt8.max {
            guard let id = withUnsafePointer(to: byte, { self.id(of: $0, count: 1) }) else { return nil }
            ids.append(id)
        }
        return ids
    }

    /// Calls `body` with each token's id and bytes, in id order: a sequential read, for building tables
    /// derived from the vocabulary without probing the hash table once per candidate.
    func forEachToken(_ body: (TokenID, UnsafeBufferPointer<UInt8>) -> Void) {
        for id in 0..<idLimit where spans[id].length > 0 {
            let span = spans[id]
            body(TokenID(id), UnsafeBufferPointer(start: storage.baseAddress! + Int(span.offset), count: Int(span.length)))
        }
    }

    /// The bytes of token `id`, or nil if the vocabulary has no such id. Valid while the table lives.
    @inline(__always)
    func bytes(of id: TokenID) -> UnsafeBufferPointer<UInt8>? {
        guard Int(id) < idLimit else { return nil }
        let span = spans[Int(id)]
        guard span.length > 0 else { return nil }
        return UnsafeBufferPointer(start: storage.baseAddress! + Int(span.offset), count: Int(span.length))
    }

    /// Up to 8 bytes packed into a `UInt64` with at most three loads, never reading past `count`.
    @inline(__always)
    static func pack(_ start: UnsafePointer<UInt8>, _ count: Int) -> UInt64 {
        let raw = UnsafeRawPointer(start)
        if count == 8 { return raw.loadUnaligned(as: UInt64.self) }
        var value: UInt64 = 0
        var offset = 0
        if count & 4 != 0 {
            value = UInt64(raw.loadUnaligned(as: UInt32.self))
            offset = 4
        }
        if count & 2 != 0 {
            value |= UInt64(raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)) << (offset * 8)
            offset += 2
        }
        if count & 1 != 0 {
            value |= UInt64(start[offset]) << (offset * 8)
        }
        return value
    }

    /// The probe hash of a token of at most 8 bytes, from its packed bytes.
    @inline(__always)
    static func shortHash(_ packed: UInt64, _ count: Int) -> UInt64 {
        let hash = (packed ^ UInt64(truncatingIfNeeded: count) &* 0x9E37_79B9_7F4A_7C15) &* 0xBF58_476D_1CE4_E5B9
        return hash ^ hash >> 31
    }

    /// The slot key and the probe hash. A fast non-cryptographic hash (multiply-xorshift over 8-byte words):
    /// the table is fixed and lookups never insert, so adversarial text cannot degrade it and no per-process
    /// seed is needed.
    @inline(__always)
    static func keyAndHash(_ start: UnsafePointer<UInt8>, _ count: Int) -> (key: UInt64, hash: UInt64) {
        if count <= 8 {
            let packed = pack(start, count)
            return (packed, shortHash(packed, count))
        }
        let raw = UnsafeRawPointer(start)
        var hash = UInt64(truncatingIfNeeded: count) &* 0x9E37_79B9_7F4A_7C15
        var index = 0
        while index + 8 <= count {
            hash = (hash ^ raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            hash ^= hash >> 29
            index += 8
        }
        if index < count {
            hash = (hash ^ pack(start + index, count - index)) &* 0xBF58_476D_1CE4_E5B9
        }
        hash ^= hash >> 32
        hash &*= 0x94D0_49BB_1331_11EB
        hash ^= hash >> 29
        return (hash, hash)
    }
}
