/// A per-thread memo of short merges: the tokens of the last pieces (up to 16 bytes) that were not a token
/// whole, so a word that recurs is merged once per thread, not at every occurrence.
///
/// Why: on German and French prose most of the encoder's time is the linear merge of words the vocabulary
/// lacks whole (callgrind, o200k_base, de held-out text: `BytePairMerge.linear` and its rank lookups are 95M of
/// the encoder's instructions), and prose repeats its words. tiktoken merges every occurrence again; Hugging
/// Face's BPE keeps a cache of the same kind.
///
/// 32,768 direct-mapped entries of 64 bytes (2 MiB per thread that encodes): the piece's bytes in two words,
/// its length and token count, the tokens (up to 10; a piece with more is not kept), and the serial of the
/// table it was merged with (`TokenTable.serial`), so vocabularies that share a thread never answer for each
/// other. A merge is a function of the table and the bytes alone, so a hit gives exactly the merge's tokens.
/// Callgrind, o200k_base, whole encode/count run on the held-out text (instructions): de 300M → 277M with
/// 1,024 entries → 254M with 4,096; fr 285M → 260M → 242M; last-level misses +2%. Later, with the rest of the
/// encoder faster (tokc-throughput --repeat 1, pieces+encode+count): de 217.7M with 4,096 entries → 198.7M with
/// 16,384 → 194.1M with 32,768; fr 194.9M → 182.1M → 180.0M; ja 334.5M → 331.3M → 331.7M. Wall clock, A/B
/// alternating on this 2-vCPU machine: 16,384 over 4,096 de encode +7%, count +17%; 32,768 over 16,384 de
/// +10%, fr +4-10%, ja +1%. German's vocabulary of compounds outgrows a smaller table even in 300 KB; the
/// fewer merges save more table misses than a 2 MiB memo costs in cache.
enum MergeMemo {
    static let maxPieceLength = 16
    static let maxTokens = 10
    static let entryCount = 32768

    struct Entry {
        var low: UInt64
        var high: UInt64
        /// The table's serial; 0: empty.
        var owner: UInt32
        /// `length << 8 | tokenCount`.
        var shape: UInt32
        var tokens: (TokenID, TokenID, TokenID, TokenID, TokenID, TokenID, TokenID, TokenID, TokenID, TokenID)
    }

    /// The hot pieces: the last pieces (up to 16 bytes) that were a token whole, with their id. A whole-piece
    /// lookup in the vocabulary's table is a read at random in megabytes (o200k_base's slots are 8 MB, its
    /// token bytes 1.5 MB more for a piece over 8 bytes), so nearly every one missed the caches: with the split
    /// made cheap, 38% of the time of counting English (perf, o200k_base, 12 MB of en) was that lookup and
    /// its `memcmp`. Prose repeats a few thousand pieces (` the`, `,`, ` of`), which 8,192 entries of 32 bytes
    /// (256 KiB, beside the memo in the same allocation) keep close.
    struct Hot {
        var low: UInt64
        var high: UInt64
        /// The table's serial; 0: empty.
        var owner: UInt32
        var length: UInt32
        var id: TokenID
    }

    static let hotCount = 8192

    /// This thread's hot pieces (after its memo's entries).
    @inline(__always)
    static func hotPieces(after memo: UnsafeMutablePointer<Entry>) -> UnsafeMutablePointer<Hot> {
        UnsafeMutableRawPointer(memo + entryCount).assumingMemoryBound(to: Hot.self)
    }

    typealias Key = (low: UInt64, high: UInt64, index: Int)

    /// The piece's bytes as two words, zero-padded (`TokenTable.pack`), and its entry index.
    @inline(__always)
    static func key(_ piece: UnsafeBufferPointer<UInt8>) -> Key {
        let start = piece.baseAddress!
        let count = piece.count
        let low = TokenTable.pack(start, min(count, 8))
        let high = count > 8 ? TokenTable.pack(start + 8, count - 8) : 0
        return key(low: low, high: high, count: count)
    }

    /// `key` for a piece (1...16 bytes) with 16 bytes readable from its start: two loads, masked to its length
    /// (`pack` branches on the length, which is unpredictable from piece to piece).
    @inline(__always)
    static func wideKey(_ start: UnsafePointer<UInt8>, _ count: Int) -> Key {
        let raw = UnsafeRawPointer(start)
        // Masking shifts, 0...56 bits: the second word keeps no byte for a piece of 8 bytes or fewer.
        let lowMask = UInt64.max &>> (64 &- 8 &* min(count, 8))
        let highMask = count > 8 ? UInt64.max &>> (128 &- 8 &* count) : 0
        let low = raw.loadUnaligned(as: UInt64.self) & lowMask
        let high = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self) & highMask
        return key(low: low, high: high, count: count)
    }

    @inline(__always)
    private static func key(low: UInt64, high: UInt64, count: Int) -> Key {
        let hash = (low &* 0x9E37_79B9_7F4A_7C15 ^ high &* 0xC2B2_AE3D_27D4_EB4F ^ UInt64(count)) &* 0xBF58_476D_1CE4_E5B9
        return (low, high, Int(truncatingIfNeeded: hash >> UInt64(64 - entryCount.trailingZeroBitCount)))
    }

    /// Appends the merged tokens of `piece` (2...16 bytes) to `sink`, from the memo or by merging. (A piece that
    /// is a token whole is looked up before; a stretch of a cut piece, `MergeCuts`, is not.)
    @inline(__always)
    static func encode<Sink: TokenSink>(
        _ piece: UnsafeBufferPointer<UInt8>, memo: UnsafeMutablePointer<Entry>, encoder: BPEEncoder, into sink: inout Sink
    ) {
        encode(piece, key: key(piece), memo: memo, encoder: encoder, into: &sink)
    }

    /// A piece of at most 16 bytes, whether a token whole or not: from the hot pieces, the table, the memo, or
    /// merged.
    @inline(__always)
    static func encodeShort<Sink: TokenSink>(
        _ piece: UnsafeBufferPointer<UInt8>, memo: UnsafeMutablePointer<Entry>, encoder: BPEEncoder, into sink: inout Sink
    ) {
        encodeShort(piece, key: key(piece), memo: memo, encoder: encoder, into: &sink)
    }

    @inline(__always)
    static func encodeShort<Sink: TokenSink>(
        _ piece: UnsafeBufferPointer<UInt8>, key: Key, memo: UnsafeMutablePointer<Entry>, encoder: BPEEncoder,
        into sink: inout Sink
    ) {
        let (low, high, index) = key
        let hot = hotPieces(after: memo) + (index & (hotCount - 1))
        let serial = encoder.table.serial
        if hot.pointee.owner == serial && hot.pointee.low == low && hot.pointee.high == high
            && hot.pointee.length == UInt32(piece.count) {
            sink.append(hot.pointee.id)
            return
        }
        if let id = encoder.table.id(low: low, high: high, start: piece.baseAddress!, count: piece.count) {
            hot.pointee = Hot(low: low, high: high, owner: serial, length: UInt32(piece.count), id: id)
            sink.append(id)
            return
        }
        encode(piece, key: (low, high, index), memo: memo, encoder: encoder, into: &sink)
    }

    @inline(__always)
    private static func encode<Sink: TokenSink>(
        _ piece: UnsafeBufferPointer<UInt8>, key: (low: UInt64, high: UInt64, index: Int),
        memo: UnsafeMutablePointer<Entry>, encoder: BPEEncoder, into sink: inout Sink
    ) {
        let (low, high, index) = key
        let shapeMask: UInt32 = 0xFF00
        let entry = memo + index
        let serial = encoder.table.serial
        if entry.pointee.owner == serial && entry.pointee.low == low && entry.pointee.high == high
            && entry.pointee.shape & shapeMask == UInt32(piece.count) << 8 {
            let count = Int(entry.pointee.shape & 0xFF)
            withUnsafeBytes(of: entry.pointee.tokens) { tokens in
                for position in 0..<count { sink.append(tokens.load(fromByteOffset: position * 4, as: TokenID.self)) }
            }
            return
        }
        var merged = FixedSink()
        BytePairMerge.linear(piece, encoder: encoder, into: &merged)
        withUnsafeBytes(of: merged.tokens) { tokens in
            for position in 0..<merged.count { sink.append(tokens.load(fromByteOffset: position * 4, as: TokenID.self)) }
        }
        guard merged.count <= maxTokens else { return }
        entry.pointee.owner = serial
        entry.pointee.low = low
        entry.pointee.high = high
        entry.pointee.shape = UInt32(piece.count) << 8 | UInt32(merged.count)
        withUnsafeMutableBytes(of: &entry.pointee.tokens) { tokens in
            withUnsafeBytes(of: merged.tokens) { source in
                tokens.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[0..<(maxTokens * 4)]))
            }
        }
    }

    /// Up to 16 tokens, the most a piece of 16 bytes merges to, without an allocation.
    private struct FixedSink: TokenSink {
        var tokens: (
            TokenID, TokenID, TokenID, TokenID, TokenID, TokenID, TokenID, TokenID,
            TokenID, TokenID, TokenID, TokenID, TokenID, TokenID, TokenID, TokenID
        ) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0

        @inline(__always)
        mutating func append(_ token: TokenID) {
            withUnsafeMutableBytes(of: &tokens) { $0.storeBytes(of: token, toByteOffset: count * 4, as: TokenID.self) }
            count += 1
        }
    }
}
