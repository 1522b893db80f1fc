/// A BPE encoder as bytes, beside its compiled token table (`TokenTable.compiled`): what a vocabulary file that
/// carries its pipeline (a `tokenizer.json`) takes long to build, its merges resolved to ids and hashed, stored
/// so that a later load reads the encoder back. Resolving Qwen 3.5's 247,000 merges written as text took most
/// of its 350 ms load; hashing them again from ids still took a fifth of what was left (cache misses over
/// 8 MB), so the pair table is stored slot for slot and read where it lies in the mapped cache file.
///
/// Little-endian `UInt32` words: the kind (1: `BPEEncoder`, merges by rank, the table is all of it; 2:
/// `MergeListBPEEncoder`, 3: `WordPieceEncoder`, then its unknown id, word length limit, prefix length and the
/// prefix's bytes, a word each), then for a merge list: its whole-piece rule, the alphabet's kind (0 bytes, 1
/// characters), whether unknowns fuse, the unknown id, whether there is byte fallback, 256 ids (each byte's
/// token, or its fallback token; `noToken` where none), the pair table's slot count and a zero word, then its
/// keys and its values as little-endian `UInt64`s (`PairTable.slotBytes`). The slots start 8-byte aligned when
/// the bytes do.
enum CompiledEncoder {
    private enum Kind: UInt32 {
        case ranked = 1, mergeList = 2, wordPiece = 3
    }

    /// Whether `serialize` writes the encoder: the two BPE encoders and WordPiece.
    static func hasCompiledForm(_ encoder: any Encoder) -> Bool {
        encoder is BPEEncoder || encoder is MergeListBPEEncoder || encoder is WordPieceEncoder
    }

    /// The encoder's bytes and the token table they go with (stored beside them, `TokenTable.compiled`), or nil
    /// for an encoder with no compiled form.
    static func serialize(_ encoder: any Encoder) -> (table: TokenTable, bytes: [UInt8])? {
        switch encoder {
        case let encoder as BPEEncoder:
            return (encoder.table, bytes(of: [Kind.ranked.rawValue]))
        case let encoder as MergeListBPEEncoder:
            let wholePieces: UInt32
            switch encoder.wholePieces {
            case .never: wholePieces = 0
            case .always: wholePieces = 1
            case .lineBreakRuns: wholePieces = 2
            }
            let ids: [TokenID]
            let unknown: TokenID?
            let fuseUnknown: Bool
            let characters: Bool
            let hasFallback: Bool
            switch encoder.alphabet {
            case let .bytes(byteIDs):
                (ids, unknown, fuseUnknown, characters, hasFallback) = (byteIDs, nil, false, false, false)
            case let .characters(fallback, unknownID, fuse):
                ids = fallback ?? [TokenID](repeating: MergeListBPEEncoder.noToken, count: 256)
                (unknown, fuseUnknown, characters, hasFallback) = (unknownID, fuse, true, fallback != nil)
            }
            guard ids.count == 256 else { return nil }
            let slots = encoder.merges.slotBytes
            var words = [
                Kind.mergeList.rawValue, wholePieces, characters ? 1 : 0, fuseUnknown ? 1 : 0,
                unknown ?? MergeListBPEEncoder.noToken, hasFallback ? 1 : 0,
            ]
            words += ids
            words += [UInt32(slots.slotCount), 0]
            return (encoder.table, bytes(of: words) + slots.bytes)
        case let encoder as WordPieceEncoder:
            // The table is every token as spelled; the continuations' table is derived from it when read.
            guard let limit = UInt32(exactly: encoder.maxCharactersPerWord) else { return nil }
            let words = [Kind.wordPiece.rawValue, encoder.unknown, limit, UInt32(encoder.prefix.count)] + encoder.prefix.map(UInt32.init)
            return (encoder.tokens, bytes(of: words))
        default:
            return nil
        }
    }

    private static func bytes(of words: [UInt32]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4 * words.count)
        for word in words { withUnsafeBytes(of: word.littleEndian) { bytes += $0 } }
        return bytes
    }

    /// The encoder `serialize` wrote, over `table`, its pair table left where it lies in `file`, which holds
    /// `bytes`; nil when the bytes are not one (short, of another kind or size, misaligned). The cache file's
    /// checksum has vouched for the ids. With `derived` (`DerivedTables`), the tables it would build come from
    /// there, when they read back as ones for this encoder.
    static func encoder(from bytes: UnsafeRawBufferPointer, table: TokenTable, file: MappedFile, derived: UnsafeRawBufferPointer? = nil) -> (any Encoder)? {
        guard bytes.count % 4 == 0, bytes.count >= 4 else { return nil }
        let count = bytes.count / 4
        func word(_ index: Int) -> UInt32 { bytes.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self).littleEndian }
        switch Kind(rawValue: word(0)) {
        case .ranked?:
            guard count == 1 else { return nil }
            return derived.flatMap { DerivedTables.bpeEncoder(table: table, bytes: $0) } ?? BPEEncoder(table: table)
        case .mergeList?:
            let header = 6 + 256 + 2
            guard count >= header else { return nil }
            let slotCount = Int(word(header - 2))
            guard bytes.count == 4 * header + 16 * slotCount else { return nil }
            let wholePieces: MergeListBPEEncoder.WholePieces
            switch word(1) {
            case 0: wholePieces = .never
            case 1: wholePieces = .always
            case 2: wholePieces = .lineBreakRuns
            default: return nil
            }
            let ids = (0..<256).map { word(6 + $0) }
            let alphabet: MergeListBPEEncoder.Alphabet
            switch word(2) {
            case 0: alphabet = .bytes(ids: ids)
            case 1:
                let unknown = word(4)
                alphabet = .characters(
                    byteFallback: word(5) == 1 ? ids : nil, unknown: unknown == MergeListBPEEncoder.noToken ? nil : unknown,
                    fuseUnknown: word(3) == 1)
            default: return nil
            }
            guard let pairs = PairTable(slotsAt: UnsafeRawBufferPointer(rebasing: bytes[(4 * header)...]), slotCount: slotCount, in: file)
            else { return nil }
            guard var encoder = MergeListBPEEncoder(table: table, pairs: pairs, alphabet: alphabet) else { return nil }
            encoder.wholePieces = wholePieces
            if let derived, let read = DerivedTables.encoder(encoder, bytes: derived) { encoder = read }
            return encoder
        case .wordPiece?:
            guard count >= 4, count == 4 + Int(word(3)) else { return nil }
            let prefix = (4..<count).map { word($0) }
            guard prefix.allSatisfy({ $0 <= 0xFF }) else { return nil }
            return WordPieceEncoder(table: table, unknown: word(1), prefix: prefix.map { UInt8($0) }, maxCharactersPerWord: Int(word(2)))
        case nil:
            return nil
        }
    }
}
