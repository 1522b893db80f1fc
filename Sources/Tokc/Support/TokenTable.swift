import Synchronization

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
    /// Where the buffers live: allocated by the builder (nil), or in a read-only mapping of a compiled table file.
    private let mapping: MappedFile?
    /// A number no other table of this process has (never 0): what `MergeMemo` entries are tagged with.
    let serial: UInt32 = TokenTable.nextSerial()

    private static let serials = Atomic<UInt32>(0)

    private static func nextSerial() -> UInt32 {
        // 0 marks an empty memo entry; after 2³² - 1 tables the numbers wrap past it.
        let serial = serials.add(1, ordering: .relaxed).newValue
        return serial == 0 ? serials.add(1, ordering: .relaxed).newValue : serial
    }

    /// Why a table could not be built.
    enum BuildError: Error, Equatable, CustomStringConvertible {
        case duplicateBytes(firstID: TokenID, secondID: TokenID)
        case duplicateID(TokenID)
        case emptyToken(TokenID)
        case tooLarge
        /// An id far beyond the number of tokens: ids index a table, so one stray id (a rank of 2222222296
        /// in a ten-line file, found by the fuzzer) would allocate gigabytes.
        case sparseIDs(highest: TokenID, limit: Int)

        var description: String {
            switch self {
            case let .duplicateBytes(first, second): return "ids \(first) and \(second) have the same bytes"
            case let .duplicateID(id): return "id \(id) is listed twice"
            case let .emptyToken(id): return "id \(id) is empty"
            case .tooLarge: return "too large to index (at most 4 GiB of token bytes and 2³¹ tokens)"
            case let .sparseIDs(highest, limit): return "id \(highest) is beyond \(limit - 1), the highest id a vocabulary of this many tokens may use (twice the number of tokens plus 65,536)"
            }
        }

        /// The highest id a table of `count` tokens accepts, plus one.
        static func idLimit(forTokens count: Int) -> Int { count * 2 + 65_536 }
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
        guard idLimit <= BuildError.idLimit(forTokens: entries.count) else {
            throw .sparseIDs(highest: TokenID(idLimit - 1), limit: BuildError.idLimit(forTokens: entries.count))
        }
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
        mapping = nil

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

    /// A table over buffers that already hold a built table (a mapped compiled file, which it then owns).
    private init(
        idLimit: Int, count: Int, storage: UnsafeMutableBufferPointer<UInt8>, spans: UnsafeMutableBufferPointer<Span>,
        slots: UnsafeMutableBufferPointer<Slot>, filter: UnsafeMutableBufferPointer<UInt64>,
        mapping: MappedFile
    ) {
        (self.idLimit, self.count, self.storage, self.spans) = (idLimit, count, storage, spans)
        (self.slots, self.mask, self.filter, self.filterMask) = (slots, slots.count - 1, filter, filter.count - 1)
        self.mapping = mapping
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
        if mapping == nil {
            storage.deallocate()
            spans.deallocate()
            slots.deallocate()
            filter.deallocate()
        }
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
        return id(key: key, hash: hash, start: start, count: count)
    }

    /// `id(of:count:)` for 1...16 bytes whose packed words (`pack`) the caller has: the same key and hash as
    /// `keyAndHash` gives, without reading the bytes again.
    @inline(__always)
    func id(low: UInt64, high: UInt64, start: UnsafePointer<UInt8>, count: Int) -> TokenID? {
        if count <= 8 { return id(key: low, hash: Self.shortHash(low, count), start: start, count: count) }
        var hash = (UInt64(truncatingIfNeeded: count) &* 0x9E37_79B9_7F4A_7C15 ^ low) &* 0xBF58_476D_1CE4_E5B9
        hash ^= hash >> 29
        hash = (hash ^ high) &* 0xBF58_476D_1CE4_E5B9
        if count == 16 { hash ^= hash >> 29 }  // `keyAndHash` takes a whole second word in its loop
        let final = Self.finalHash(hash)
        return id(key: final, hash: final, start: start, count: count)
    }

    @inline(__always)
    private func id(key: UInt64, hash: UInt64, start: UnsafePointer<UInt8>, count: Int) -> TokenID? {
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
        let ids = singleByteIDs(missing: TokenID.max)
        return ids.contains(TokenID.max) ? nil : ids
    }

    /// The same with `missing` for a byte that is not a token (llama.cpp's vocabularies without the bytes UTF-8
    /// never uses).
    func singleByteIDs(missing: TokenID) -> [TokenID] {
        (0...UInt8.max).map { byte in withUnsafePointer(to: byte) { self.id(of: $0, count: 1) } ?? missing }
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
        hash = finalHash(hash)
        return (hash, hash)
    }

    @inline(__always)
    private static func finalHash(_ value: UInt64) -> UInt64 {
        var hash = value ^ value >> 32
        hash &*= 0x94D0_49BB_1331_11EB
        return hash ^ hash >> 29
    }
}

// MARK: - Compiled form

extension TokenTable {
    /// Whether the buffers are a mapped compiled file's pages (`mapped(path:)`), not built in this process.
    var isMapped: Bool { mapping != nil }

    /// Bytes a compiled table's header holds for its writer (`identity`): what the table was built from.
    static let compiledIdentityLimit = 192

    private static let compiledMagic = Array("TOKCTAB1".utf8)
    /// Header size and section alignment. Sections start on 64-byte boundaries, so the mapped buffers are
    /// aligned as the allocated ones would be and the checksum reads whole blocks.
    private static let compiledAlignment = 64
    private static let compiledHeaderSize = 320

    /// The table as the bytes of one file (see `mapped(path:)`): a header, then the token bytes, spans, slots
    /// and filter exactly as they lie in memory. `identity` (at most `compiledIdentityLimit` bytes) is stored
    /// as given and handed back by `mapped`, for the writer to say which vocabulary this is.
    ///
    /// Header, little-endian `UInt64`s after the 8-byte magic `TOKCTAB1`: at 8 the layout (Slot and Span
    /// strides, so another build's layout is refused), 16 idLimit, 24 count, 32 storage bytes, 40 span count,
    /// 48 slot count, 56 filter words, 64 checksum of everything after the header, 72 identity length, then
    /// the identity from 80.
    func compiled(identity: [UInt8]) -> [[UInt8]]? {
        guard identity.count <= Self.compiledIdentityLimit else { return nil }
        func padded(_ raw: UnsafeRawBufferPointer) -> [UInt8] {
            var bytes = Array(raw)
            bytes += repeatElement(0, count: (Self.compiledAlignment - bytes.count % Self.compiledAlignment) % Self.compiledAlignment)
            return bytes
        }
        let body = [
            padded(UnsafeRawBufferPointer(storage)), padded(UnsafeRawBufferPointer(spans)),
            padded(UnsafeRawBufferPointer(slots)), padded(UnsafeRawBufferPointer(filter)),
        ]
        var checksum = Checksum()
        for section in body { section.withUnsafeBytes { checksum.add($0) } }
        var header = Self.compiledMagic
        for value in [
            Self.layoutCode, UInt64(idLimit), UInt64(count), UInt64(storage.count), UInt64(spans.count),
            UInt64(slots.count), UInt64(filter.count), checksum.value, UInt64(identity.count),
        ] {
            withUnsafeBytes(of: value.littleEndian) { header += $0 }
        }
        header += identity
        header += repeatElement(0, count: Self.compiledHeaderSize - header.count)
        return [header] + body
    }

    /// Maps a file `compiled(identity:)` wrote and returns the table whose buffers are the file's pages, with
    /// the identity stored in it; nil if the file is missing, short, of another layout or version, or fails
    /// its checksum (a cache is never trusted further than that). The mapping is private and read-only, and
    /// populated up front: the checksum reads every page anyway.
    static func mapped(path: String) -> (table: TokenTable, identity: [UInt8])? {
        guard let file = MappedFile(path: path), let table = TokenTable(mapping: file) else { return nil }
        let identityLength = Int(file.bytes.loadUnaligned(fromByteOffset: 72, as: UInt64.self).littleEndian)
        return (table, Array(file.bytes[80..<(80 + identityLength)]))
    }

    /// The table over a mapped compiled file, which it then keeps; nil if the file does not check out.
    private convenience init?(mapping: MappedFile) {
        let header = mapping.bytes
        guard header.count >= Self.compiledHeaderSize,
              header[0..<8].elementsEqual(Self.compiledMagic) else { return nil }
        func field(_ index: Int) -> Int? {
            let value = header.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self).littleEndian
            return value <= UInt64(Int32.max) ? Int(value) : nil
        }
        guard header.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian == Self.layoutCode,
              let idLimit = field(2), let count = field(3), let storageBytes = field(4), let spanCount = field(5),
              let slotCount = field(6), let filterWords = field(7), let identityLength = field(9),
              identityLength <= Self.compiledIdentityLimit, spanCount == max(idLimit, 1),
              slotCount.nonzeroBitCount == 1, filterWords.nonzeroBitCount == 1, count <= slotCount / 2
        else { return nil }
        func paddedSize(_ bytes: Int) -> Int { (bytes + Self.compiledAlignment - 1) / Self.compiledAlignment * Self.compiledAlignment }
        let sizes = [
            storageBytes, spanCount * MemoryLayout<Span>.stride, slotCount * MemoryLayout<Slot>.stride,
            filterWords * MemoryLayout<UInt64>.stride,
        ].map(paddedSize)
        guard Self.compiledHeaderSize + sizes.reduce(0, +) == header.count else { return nil }
        var checksum = Checksum()
        checksum.add(UnsafeRawBufferPointer(rebasing: header[Self.compiledHeaderSize...]))
        guard checksum.value == header.loadUnaligned(fromByteOffset: 64, as: UInt64.self).littleEndian else { return nil }

        // The buffers are typed mutable only because the built ones are; a mapped table never writes them.
        let base = UnsafeMutableRawPointer(mutating: header.baseAddress!)
        var offset = Self.compiledHeaderSize
        func section<T>(_ index: Int, _ type: T.Type, count: Int) -> UnsafeMutableBufferPointer<T> {
            defer { offset += sizes[index] }
            return UnsafeMutableBufferPointer(start: (base + offset).assumingMemoryBound(to: T.self), count: count)
        }
        self.init(
            idLimit: idLimit, count: count, storage: section(0, UInt8.self, count: storageBytes),
            spans: section(1, Span.self, count: spanCount), slots: section(2, Slot.self, count: slotCount),
            filter: section(3, UInt64.self, count: filterWords), mapping: mapping)
    }

    /// Slot and Span strides and the byte order, as one number: a compiled file from a build that lays them
    /// out otherwise is refused rather than misread.
    private static var layoutCode: UInt64 {
        UInt64(MemoryLayout<Slot>.stride) << 16 | UInt64(MemoryLayout<Span>.stride) << 8 | (1 == (1 as UInt16).littleEndian ? 1 : 2)
    }

    /// The check of a compiled file's body: a Fletcher-style pair of sums over its 8-byte words, in eight lanes
    /// (`SIMD8`, so the compiler keeps them in vector registers): `sums` adds the words, `weighted` adds `sums`
    /// after every block, so it weighs each word by how many blocks follow it. Both wrap modulo 2⁶⁴.
    ///
    /// What it catches: any change to a single word (it changes `sums` by the difference, never 0 modulo 2⁶⁴),
    /// words or blocks swapped or moved (the weights differ), a zeroed or repeated page (unless that page summed
    /// to what it replaced in both sums, lane by lane), and, with the sizes the headers record, a cut or a
    /// longer file. What it does not: someone who writes the cache folder on purpose (they could as well change
    /// the vocabulary). The files are written whole and renamed into place (`FileIO.writeAtomically`), so a torn
    /// write does not reach a reader; the check is for a disk, a copy or a hand that damaged one since.
    ///
    /// Cost: about 1.3 instructions per 8 bytes (o200k_base's 11 MB: 2.3M instructions under callgrind; the
    /// multiply-xorshift lanes it replaced took 13.5M).
    struct Checksum {
        private var sums = SIMD8<UInt64>(repeating: 0)
        private var weighted = SIMD8<UInt64>(repeating: 0)
        private var bytes: UInt64 = 0

        mutating func add(_ buffer: UnsafeRawBufferPointer) {
            var (sums, weighted) = (self.sums, self.weighted)
            var index = 0
            if let base = buffer.baseAddress {
                while index + 64 <= buffer.count {
                    sums &+= (base + index).loadUnaligned(as: SIMD8<UInt64>.self)
                    weighted &+= sums
                    index += 64
                }
            }
            if index < buffer.count {
                // The tail as one block, zero-filled.
                var tail = SIMD8<UInt64>(repeating: 0)
                withUnsafeMutableBytes(of: &tail) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[index...])) }
                sums &+= tail
                weighted &+= sums
            }
            (self.sums, self.weighted) = (sums, weighted)
            bytes &+= UInt64(buffer.count)
        }

        var value: UInt64 {
            var hash = Self.mix(0, bytes)
            for lane in 0..<8 { hash = Self.mix(Self.mix(hash, sums[lane]), weighted[lane]) }
            return hash
        }

        @inline(__always) private static func mix(_ lane: UInt64, _ word: UInt64) -> UInt64 {
            let product = (lane ^ word) &* 0x9E37_79B9_7F4A_7C15
            return product ^ product >> 29
        }
    }
}
