/// What a BPE encoder derives from its token table and would otherwise build at load or on first use, stored
/// in the compiled cache beside the table (`CompiledTableCache.derived`): `BPEEncoder.pairRanks` (2.8M
/// instructions at each load of o200k_base), and the tables built on the first long piece, `WholeCharacters`
/// (21M) and `MergeCuts` (27M): what the first encode of a short Japanese text cost on top of the load.
///
/// The bytes: `version`, the kind (1: `BPEEncoder`, 2: `MergeListBPEEncoder`), then for kind 1 the pair ranks,
/// whether `WholeCharacters` follows, it, and `MergeCuts`; for kind 2 whether `WholeCharacters` follows, and it;
/// every table as `WordArrays`. A derived table is exact only for the code that built it: whoever changes what
/// `WholeCharacters` or `MergeCuts` compute, or their fields, must raise `version`, so that stored ones built by
/// the old code are refused and built again.
enum DerivedTables {
    static let version: UInt64 = 1

    /// The derived tables of `encoder`, built now if they were not yet; nil for an encoder that has none.
    static func bytes(of encoder: any Encoder) -> [UInt8]? {
        var writer = WordArrays.Writer()
        writer.append([version])
        switch encoder {
        case let encoder as BPEEncoder:
            writer.append([UInt64(1)])
            writer.append(encoder.pairRanks)
            writer.append([UInt64(encoder.wholeCharacters == nil ? 0 : 1)])
            encoder.wholeCharacters?.value.store(into: &writer)
            encoder.mergeCuts.value.store(into: &writer)
        case let encoder as MergeListBPEEncoder:
            writer.append([UInt64(2)])
            writer.append([UInt64(encoder.wholeCharacters == nil ? 0 : 1)])
            encoder.wholeCharacters?.value.store(into: &writer)
        default:
            return nil
        }
        return writer.bytes
    }

    /// A `BPEEncoder` over `table` with its derived tables read from `bytes`; nil when they are not ones
    /// `bytes(of:)` wrote for such an encoder (the caller then builds it from the table).
    static func bpeEncoder(table: TokenTable, bytes: UnsafeRawBufferPointer) -> BPEEncoder? {
        var reader = WordArrays.Reader(bytes)
        guard reader.u64s() == [version], reader.u64s() == [1], let byteIDs = table.singleByteIDs(),
              let pairRanks = reader.u32s(), pairRanks.count == 1 << 16, let whole = reader.u64s(), whole.count == 1
        else { return nil }
        var wholeCharacters: WholeCharacters?
        if whole[0] == 1 {
            guard let read = WholeCharacters.read(from: &reader) else { return nil }
            wholeCharacters = read
        }
        guard let mergeCuts = MergeCuts.read(from: &reader), reader.atEnd else { return nil }
        return BPEEncoder(
            table: table, byteIDs: byteIDs, pairRanks: pairRanks,
            wholeCharacters: wholeCharacters.map { read in WholeCharacters.Lazy { read } }, mergeCuts: MergeCuts.Lazy { mergeCuts })
    }

    /// `encoder` with the derived tables read from `bytes` in place of building them; nil when they are not ones
    /// `bytes(of:)` wrote for such an encoder.
    static func encoder(_ encoder: MergeListBPEEncoder, bytes: UnsafeRawBufferPointer) -> MergeListBPEEncoder? {
        var reader = WordArrays.Reader(bytes)
        guard reader.u64s() == [version], reader.u64s() == [2], let whole = reader.u64s(), whole.count == 1,
              (whole[0] == 1) == (encoder.wholeCharacters != nil)
        else { return nil }
        guard whole[0] == 1 else { return reader.atEnd ? encoder : nil }
        guard let wholeCharacters = WholeCharacters.read(from: &reader), reader.atEnd else { return nil }
        return encoder.startingFromWholeCharacters(wholeCharacters)
    }
}

extension BPEEncoder {
    /// The encoder over `table` from tables derived from it before (`DerivedTables`).
    init(table: TokenTable, byteIDs: [TokenID], pairRanks: [TokenID], wholeCharacters: WholeCharacters.Lazy?, mergeCuts: MergeCuts.Lazy) {
        self.table = table
        self.byteIDs = byteIDs
        self.pairRanks = pairRanks
        self.wholeCharacters = wholeCharacters
        self.mergeCuts = mergeCuts
    }
}

/// Arrays of `UInt8`, `UInt32` or `UInt64` laid end to end in little-endian bytes: each as its element width and
/// count (`UInt64`s), then its elements, padded to 8 bytes. What derived tables and compiled pipelines are stored as.
enum WordArrays {
    struct Writer {
        private(set) var bytes: [UInt8] = []

        mutating func append(_ words: [UInt8]) { append(words, width: 1) }
        mutating func append(_ words: [UInt32]) { append(words, width: 4) }
        mutating func append(_ words: [UInt64]) { append(words, width: 8) }

        private mutating func append<Word: FixedWidthInteger>(_ words: [Word], width: Int) {
            for field in [UInt64(width), UInt64(words.count)] { withUnsafeBytes(of: field.littleEndian) { bytes += $0 } }
            if 1 == (1 as UInt16).littleEndian {
                words.withUnsafeBytes { bytes += $0 }
            } else {
                for word in words { withUnsafeBytes(of: word.littleEndian) { bytes += $0 } }
            }
            bytes += repeatElement(0, count: (8 - bytes.count % 8) % 8)
        }
    }

    /// Reads what `Writer` wrote, each read checked against the bytes left; nil past the end or for the other
    /// width.
    struct Reader {
        private let bytes: UnsafeRawBufferPointer
        private var offset = 0

        init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        var atEnd: Bool { offset == bytes.count }

        mutating func u8s() -> [UInt8]? { words(width: 1) }
        mutating func u32s() -> [UInt32]? { words(width: 4) }
        mutating func u64s() -> [UInt64]? { words(width: 8) }

        private mutating func words<Word: FixedWidthInteger>(width: Int) -> [Word]? {
            guard MemoryLayout<Word>.size == width, offset + 16 <= bytes.count,
                  UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) == UInt64(width)
            else { return nil }
            let count = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
            let padded = (UInt64(width) * count + 7) / 8 * 8
            guard count <= UInt64(bytes.count), padded <= UInt64(bytes.count - offset - 16) else { return nil }
            let start = offset + 16
            offset = start + Int(padded)
            let words = [Word](unsafeUninitializedCapacity: Int(count)) { buffer, initialized in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[start..<(start + width * Int(count))]))
                initialized = Int(count)
            }
            return 1 == (1 as UInt16).littleEndian ? words : words.map { Word(littleEndian: $0) }
        }
    }
}
