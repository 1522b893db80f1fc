/// A read-only map from a pair of token ids to a packed `UInt64`, by open addressing with linear probing and a
/// multiplicative hash: what a BPE merge looks up once per adjacent pair. Swift's `Dictionary` hashes with
/// SipHash; on a merge-list vocabulary's Japanese text that hashing was a quarter of the encode (perf:
/// `Hasher` and `_RawDictionaryStorage.find` 28% of samples, qwen3.5 on Corpus/split/ja.heldout.txt).
struct PairTable: @unchecked Sendable {  // Invariant: the slots are written in init only.
    /// `left << 32 | right`; `empty` marks a free slot (no pair has both ids `UInt32.max`: that id is `noToken`).
    private let keys: UnsafePointer<UInt64>
    private let values: UnsafePointer<UInt64>
    private let mask: Int
    private let shift: UInt64
    /// What keeps the slots alive: the arrays built here, or the mapped compiled file they lie in.
    private let owner: AnyObject

    static let empty = UInt64.max

    /// The entries in order; the first listing of a key wins, as a merge list's first listing does.
    init(_ entries: some Collection<(key: UInt64, value: UInt64)>) {
        // At most half full: short probe runs.
        var capacity = 16
        while capacity < entries.count * 2 { capacity <<= 1 }
        let keys = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
        keys.initialize(repeating: Self.empty, count: capacity)
        let values = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
        values.initialize(repeating: 0, count: capacity)
        let mask = capacity - 1
        let shift = UInt64(64 - capacity.trailingZeroBitCount)
        for (key, value) in entries where key != Self.empty {
            var slot = Self.slot(of: key, shift: shift)
            while keys[slot] != Self.empty && keys[slot] != key { slot = (slot + 1) & mask }
            if keys[slot] == Self.empty {
                keys[slot] = key
                values[slot] = value
            }
        }
        (self.keys, self.values, self.mask, self.shift) = (UnsafePointer(keys), UnsafePointer(values), mask, shift)
        owner = Allocation(keys, values)
    }

    /// The table whose slots lie at `bytes`: `slotCount` keys then as many values, little-endian, as `slotBytes`
    /// wrote them, inside `file`, which the table keeps. Nil unless `slotCount` is a power of two and the bytes are
    /// aligned and there.
    init?(slotsAt bytes: UnsafeRawBufferPointer, slotCount: Int, in file: MappedFile) {
        guard 1 == (1 as UInt16).littleEndian, slotCount >= 16, slotCount.nonzeroBitCount == 1,
              bytes.count == 16 * slotCount, let base = bytes.baseAddress,
              Int(bitPattern: base) % MemoryLayout<UInt64>.alignment == 0
        else { return nil }
        keys = base.assumingMemoryBound(to: UInt64.self)
        values = keys + slotCount
        mask = slotCount - 1
        shift = UInt64(64 - slotCount.trailingZeroBitCount)
        owner = file
    }

    /// The slot count and the slots as `init(slotsAt:slotCount:in:)` reads them back: a table stored and mapped
    /// without hashing again.
    var slotBytes: (slotCount: Int, bytes: [UInt8]) {
        let count = mask + 1
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16 * count)
        for pointer in [keys, values] {
            for index in 0..<count { withUnsafeBytes(of: pointer[index].littleEndian) { bytes += $0 } }
        }
        return (count, bytes)
    }

    /// Every stored entry, in slot order (not the order given).
    func forEach(_ body: (_ key: UInt64, _ value: UInt64) -> Void) {
        for slot in 0...mask where keys[slot] != Self.empty { body(keys[slot], values[slot]) }
    }

    @inline(__always)
    private static func slot(of key: UInt64, shift: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The value stored for `key`, or `missing`.
    @inline(__always)
    func value(for key: UInt64, missing: UInt64) -> UInt64 {
        // Two symbols without a token (llama.cpp's dropped bytes) make the one key that marks a free slot.
        guard key != Self.empty else { return missing }
        var slot = Self.slot(of: key, shift: shift)
        while true {
            let found = keys[slot]
            if found == key { return values[slot] }
            if found == Self.empty { return missing }
            slot = (slot + 1) & mask
        }
    }

    /// The slots a table built here allocated, freed with the last copy of it.
    private final class Allocation {
        let keys: UnsafeMutablePointer<UInt64>
        let values: UnsafeMutablePointer<UInt64>

        init(_ keys: UnsafeMutablePointer<UInt64>, _ values: UnsafeMutablePointer<UInt64>) {
            (self.keys, self.values) = (keys, values)
        }

        deinit {
            keys.deallocate()
            values.deallocate()
        }
    }
}
