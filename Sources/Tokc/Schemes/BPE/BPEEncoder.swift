/// Byte-level BPE as tiktoken defines it: a piece's bytes start as single-byte tokens, and the adjacent pair
/// whose concatenation has the lowest rank merges first (the leftmost pair on a tie), until no adjacent pair
/// is a token. The rank is the token id; there is no separate merge list.
///
/// Whole-piece lookup comes first: most pieces of ordinary text are single tokens, and one hash lookup
/// settles them (tiktoken does the same); a piece of up to 16 bytes asks the thread's hot pieces
/// (`MergeMemo.Hot`) before the table, whose slots are too big to stay in cache. A piece that is not merges
/// from the memo (up to 16 bytes) or, when longer, is first cut where no token can span (`MergeCuts`: a run of kana and kanji becomes stretches of a
/// character or two, whose merges are mostly in the memo), and only the stretches still long are merged anew.
public struct BPEEncoder: Encoder {
    let table: TokenTable
    /// The id of each single byte, so a merge starts without a lookup per byte.
    let byteIDs: [TokenID]
    /// The rank of every two-byte token, indexed by `first << 8 | second` (`.max` when not a token): a merge's
    /// first pass asks about every adjacent byte pair, and this answers with one load (256 KiB).
    let pairRanks: [TokenID]
    /// Which three-byte characters a long merge may start from whole (`WholeCharacters`); nil when every
    /// merge starts from bytes.
    let wholeCharacters: WholeCharacters.Lazy?
    /// Where a long piece may be cut into stretches that merge apart (`MergeCuts`).
    let mergeCuts: MergeCuts.Lazy

    /// Pieces up to this many bytes merge by scanning all pairs per merge (O(n²), flat); longer ones use a
    /// heap (O(n log n)). Measured with callgrind, instructions in `count` over 2 × 300 kB of ja / en prose
    /// (o200k_base): limit 128: 270M / 94.9M; 64: 217M / 94.9M; 32: 180M / 94.9M; 16: 174M / 94.9M;
    /// 8: 173M / 96.5M. Japanese pieces are long (a run of kana and kanji up to punctuation), English short.
    static let linearMergeLimit = 16

    /// Wraps a table that must hold all 256 single bytes (the loaders check; byte-level BPE cannot
    /// encode arbitrary input otherwise). Returns nil, naming nothing, if one is missing.
    init?(table: TokenTable, startingFromWholeCharacters: Bool = true) {
        guard let byteIDs = table.singleByteIDs() else { return nil }
        var pairRanks = [TokenID](repeating: .max, count: 1 << 16)
        table.forEachToken { id, bytes in
            if bytes.count == 2 { pairRanks[Int(bytes[0]) << 8 | Int(bytes[1])] = id }
        }
        self.table = table
        self.byteIDs = byteIDs
        self.pairRanks = pairRanks
        self.wholeCharacters = startingFromWholeCharacters ? WholeCharacters.Lazy(table: table, pairRanks: pairRanks) : nil
        self.mergeCuts = MergeCuts.Lazy { MergeCuts(table: table) }
    }

    public var idLimit: Int { table.idLimit }

    /// Number of tokens in the vocabulary.
    public var tokenCount: Int { table.count }

    public func encode<Sink: TokenSink>(piece: UnsafeBufferPointer<UInt8>, into sink: inout Sink) {
        var longPieces: LongPieceTables? = nil
        encode(piece: piece, memo: ScratchSpace.mergeMemo, longPieces: &longPieces, into: &sink)
    }

    /// What a long piece needs beyond the memo, fetched at the first long piece of a text and kept for the
    /// rest (each `Lazy.value` is an atomic load through an unspecialised generic: reading `mergeCuts.value` a
    /// long piece was 9% of the instructions on Japanese).
    struct LongPieceTables {
        let cuts: MergeCuts
        let whole: WholeCharacters?
    }

    /// `encode(piece:into:)` with the thread's memo (`ScratchSpace.mergeMemo`) found by the caller, once for
    /// all the pieces of a text rather than once a piece, and the long pieces' tables kept in `longPieces` from
    /// the first long piece on.
    @inline(__always)
    func encode<Sink: TokenSink>(
        piece: UnsafeBufferPointer<UInt8>, memo: UnsafeMutablePointer<MergeMemo.Entry>, longPieces: inout LongPieceTables?, into sink: inout Sink
    ) {
        guard let start = piece.baseAddress, piece.count > 0 else { return }
        if piece.count <= MergeMemo.maxPieceLength {
            MergeMemo.encodeShort(piece, memo: memo, encoder: self, into: &sink)
        } else if let id = table.id(of: start, count: piece.count) {
            sink.append(id)
        } else {
            if longPieces == nil { longPieces = LongPieceTables(cuts: mergeCuts.value, whole: wholeCharacters?.value) }
            encodeLong(piece, tables: longPieces.unsafelyUnwrapped, memo: memo, into: &sink)
        }
    }

    /// The encoder as the consumer of a split's pieces (`RegexPreTokenizer.split`), with what the pieces of
    /// one text share: the thread's memo, found once; the long pieces' tables, fetched at the first long piece;
    /// and the end of the text, so that a short piece's bytes can be read as two whole words.
    struct PieceMerging<Sink: TokenSink>: PieceConsumer {
        let encoder: BPEEncoder
        let memo: UnsafeMutablePointer<MergeMemo.Entry>
        let hotPieces: UnsafeMutablePointer<MergeMemo.Hot>
        let serial: UInt32
        /// Sixteen bytes before the end of the text: a piece starting at or before it can be read 16 bytes wide.
        let wideReadLimit: UnsafePointer<UInt8>
        var longPieces: LongPieceTables? = nil
        var sink: Sink

        init(encoder: BPEEncoder, text: UnsafeBufferPointer<UInt8>, sink: Sink) {
            self.encoder = encoder
            memo = ScratchSpace.mergeMemo
            hotPieces = MergeMemo.hotPieces(after: memo)
            serial = encoder.table.serial
            // A text under 16 bytes has no such place: the limit lies before its start.
            let start = text.baseAddress ?? UnsafePointer(bitPattern: 16)!
            wideReadLimit = text.count >= 16 ? start + (text.count - 16) : start - 1
            self.sink = sink
        }

        /// The common case kept small, so the split's loop around it keeps its values in registers: a piece of
        /// up to 16 bytes that is one of the thread's hot pieces. Everything else is out of line.
        @inline(__always)
        mutating func consume(_ piece: UnsafeBufferPointer<UInt8>) {
            let start = piece.baseAddress.unsafelyUnwrapped
            let count = piece.count
            guard count <= MergeMemo.maxPieceLength && start <= wideReadLimit else {
                consumeOther(piece)
                return
            }
            let key = MergeMemo.wideKey(start, count)
            let hot = hotPieces + (key.index & (MergeMemo.hotCount - 1))
            if hot.pointee.owner == serial && hot.pointee.low == key.low && hot.pointee.high == key.high
                && hot.pointee.length == UInt32(truncatingIfNeeded: count) {
                sink.append(hot.pointee.id)
                return
            }
            consumeShort(piece, key: key)
        }

        /// The pieces `scanner` finds from `start`, until it cannot tell or a piece is longer than 16 bytes,
        /// in a function of its own with every value its loop needs in a local (the sink too), so that they stay
        /// in registers: English prose is nearly all such pieces, ~90% of them hot. A piece that is not hot
        /// goes out of line (`consumeShort`) and the loop goes on.
        @inline(never)
        mutating func consumeASCIIRun(_ text: UnsafeBufferPointer<UInt8>, from start: Int, scanner: ASCIIPieceScanner) -> Int {
            let base = text.baseAddress.unsafelyUnwrapped
            let lastWideStart = text.count &- MergeMemo.maxPieceLength
            let hotPieces = self.hotPieces
            let serial = self.serial
            var sink = self.sink
            var position = start
            while position <= lastWideStart {
                let end = scanner.matchEnd(in: text, from: position)
                let count = end &- position
                guard end != 0 && count <= MergeMemo.maxPieceLength else { break }
                let key = MergeMemo.wideKey(base + position, count)
                let hot = hotPieces + (key.index & (MergeMemo.hotCount - 1))
                if hot.pointee.owner == serial && hot.pointee.low == key.low && hot.pointee.high == key.high
                    && hot.pointee.length == UInt32(truncatingIfNeeded: count) {
                    sink.append(hot.pointee.id)
                } else {
                    self.sink = sink
                    consumeShort(UnsafeBufferPointer(start: base + position, count: count), key: key)
                    sink = self.sink
                }
                position = end
            }
            self.sink = sink
            return position
        }

        @inline(never)
        private mutating func consumeShort(_ piece: UnsafeBufferPointer<UInt8>, key: MergeMemo.Key) {
            MergeMemo.encodeShort(piece, key: key, memo: memo, encoder: encoder, into: &sink)
        }

        @inline(never)
        private mutating func consumeOther(_ piece: UnsafeBufferPointer<UInt8>) {
            encoder.encode(piece: piece, memo: memo, longPieces: &longPieces, into: &sink)
        }
    }

    /// A long piece that is not a token whole: cut where `MergeCuts` allows, each stretch merged (from the memo
    /// or by `long`); uncut, merged whole. A stretch is never looked up whole: that is tiktoken's step for a
    /// piece, not a merge, and a stretch that is a token need not merge to it (glm-4's " 系统" merges to " \xE7",
    /// "\xB3\xBB", "统").
    private func encodeLong<Sink: TokenSink>(
        _ piece: UnsafeBufferPointer<UInt8>, tables: LongPieceTables, memo: UnsafeMutablePointer<MergeMemo.Entry>,
        into sink: inout Sink
    ) {
        let cuts = tables.cuts
        var end = cuts.nextCut(in: piece, after: 0)
        guard end < piece.count else {
            BytePairMerge.long(piece, encoder: self, whole: tables.whole, into: &sink)
            return
        }
        var start = 0
        while start < piece.count {
            let stretch = UnsafeBufferPointer(rebasing: piece[start..<end])
            if stretch.count <= MergeMemo.maxPieceLength {
                MergeMemo.encode(stretch, memo: memo, encoder: self, into: &sink)
            } else {
                BytePairMerge.long(stretch, encoder: self, whole: tables.whole, into: &sink)
            }
            start = end
            end = end < piece.count ? cuts.nextCut(in: piece, after: end) : end
        }
    }

    public func appendBytes(of id: TokenID, to output: inout [UInt8]) -> Bool {
        guard let bytes = table.bytes(of: id) else { return false }
        output.append(contentsOf: bytes)
        return true
    }

    /// The id of the token that is exactly `bytes`, if any.
    public func tokenID(of bytes: [UInt8]) -> TokenID? {
        bytes.withUnsafeBufferPointer { buffer in
            guard let start = buffer.baseAddress, !buffer.isEmpty else { return nil }
            return table.id(of: start, count: buffer.count)
        }
    }
}
