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
/// no vocabulary has an empty token); `slots` is a power-of-two linear-probing table of
/// `(fingerprint << 32) | id`, where the fingerprint is the top 32 bits of the hash, so a probe rejects a
/// wrong slot without touching the byte buffer. Load factor ≤ 0.5.
///
/// Cost: one hash over the bytes (8 bytes per step) plus, on a fingerprint hit, one `memcmp`.
final class TokenTable: @unchecked Sendable {  // Invariant: every buffer is written in init only.
    private struct Span {
        var offset: UInt32
        var length: UInt32
    }

    /// One past the highest id.
    let idLimit: Int
    /// Number of tokens. Ids may have gaps below `idLimit`.
    let count: Int
    private let storage: UnsafeMutableBufferPointer<UInt8>
    private let spans: UnsafeMutableBufferPointer<Span>
    private let slots: UnsafeMutableBufferPointer<UInt64>
    private let mask: Int

    private static let emptySlot = UInt64.max

    /// Why a table could not be built.
    enum BuildError: Error, Equatable {
        case duplicateBytes(firstID: TokenID, secondID: TokenID)
        case duplicateID(TokenID)
        case emptyToken(TokenID)
        case tooLarge
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
        slots.initialize(repeating: Self.emptySlot)
        mask = capacity - 1

        for entry in entries {
            let id = Int(entry.id)
            guard !entry.range.isEmpty else { throw .emptyToken(entry.id) }
            guard spans[id].length == 0 else { throw .duplicateID(entry.id) }
            spans[id] = Span(offset: UInt32(entry.range.lowerBound), length: UInt32(entry.range.count))
            let start = storage.baseAddress! + entry.range.lowerBound
            if let existing = self.id(of: start, count: entry.range.count) {
                throw .duplicateBytes(firstID: existing, secondID: entry.id)
            }
            let hash = Self.hash(start, entry.range.count)
            var slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot] != Self.emptySlot { slot = (slot + 1) & mask }
            slots[slot] = (hash & 0xFFFF_FFFF_0000_0000) | UInt64(entry.id)
        }
    }

    deinit {
        storage.deallocate()
        spans.deallocate()
        slots.deallocate()
    }

    /// The id of the token whose bytes are exactly `count` bytes at `start`, or nil.
    @inline(__always)
    func id(of start: UnsafePointer<UInt8>, count: Int) -> TokenID? {
        let hash = Self.hash(start, count)
        let fingerprint = hash & 0xFFFF_FFFF_0000_0000
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = slots[slot]
            if entry == Self.emptySlot { return nil }
            if entry & 0xFFFF_FFFF_0000_0000 == fingerprint {
                let id = TokenID(truncatingIfNeeded: entry)
                let span = spans[Int(id)]
                if Int(span.length) == count && memcmp(storage.baseAddress! + Int(span.offset), start, count) == 0 {
                    return id
                }
            }
            slot = (slot + 1) & mask
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

    /// A fast non-cryptographic hash (multiply-xorshift over 8-byte words). The table is fixed and lookups
    /// never insert, so adversarial text cannot degrade it: no per-process seed is needed.
    @inline(__always)
    static func hash(_ start: UnsafePointer<UInt8>, _ count: Int) -> UInt64 {
        let raw = UnsafeRawPointer(start)
        var hash = UInt64(truncatingIfNeeded: count) &* 0x9E37_79B9_7F4A_7C15
        var index = 0
        while index + 8 <= count {
            hash = (hash ^ raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            hash ^= hash >> 29
            index += 8
        }
        if index < count {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while index < count {
                tail |= UInt64(start[index]) << shift
                shift += 8
                index += 1
            }
            hash = (hash ^ tail) &* 0xBF58_476D_1CE4_E5B9
        }
        hash ^= hash >> 32
        hash &*= 0x94D0_49BB_1331_11EB
        hash ^= hash >> 29
        return hash
    }
}
