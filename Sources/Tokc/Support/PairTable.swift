/// A read-only map from a pair of token ids to a packed `UInt64`, by open addressing with linear probing and a
/// multiplicative hash: what a BPE merge looks up once per adjacent pair. Swift's `Dictionary` hashes with
/// SipHash; on a merge-list vocabulary's Japanese text that hashing was a quarter of the encode (perf:
/// `Hasher` and `_RawDictionaryStorage.find` 28% of samples, qwen3.5 on Corpus/split/ja.heldout.txt).
struct PairTable: Sendable {
    /// `left << 32 | right`; `empty` marks a free slot (no pair has both ids `UInt32.max`: that id is `noToken`).
    private let keys: [UInt64]
    private let values: [UInt64]
    private let mask: Int
    private let shift: UInt64

    static let empty = UInt64.max

    /// The entries in order; the first listing of a key wins, as a merge list's first listing does.
    init(_ entries: some Collection<(key: UInt64, value: UInt64)>) {
        // At most half full: short probe runs.
        var capacity = 16
        while capacity < entries.count * 2 { capacity <<= 1 }
        var keys = [UInt64](repeating: Self.empty, count: capacity)
        var values = [UInt64](repeating: 0, count: capacity)
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
        self.keys = keys
        self.values = values
        self.mask = mask
        self.shift = shift
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
        return keys.withUnsafeBufferPointer { keys in
            var slot = Self.slot(of: key, shift: shift)
            while true {
                let found = keys[slot]
                if found == key { return values.withUnsafeBufferPointer { $0[slot] } }
                if found == Self.empty { return missing }
                slot = (slot + 1) & mask
            }
        }
    }
}
