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
/// the bytes do. For a trie encoder, 4: `UnigramEncoder`, 5: `UngreedyEncoder`, the kind and a zero word, then
/// `WordArrays`: the Unigram encoder's fields and its trie (`ByteTrie.store`); the ungreedy encoder's trie (its
/// tokens are the table, ids 0 up). Their table is the trie's entries, for Unigram, where it stands for the
/// vocabulary in the cache's checks; building those tries took most of their loads (55M and 26M instructions).
enum CompiledEncoder {
    private enum Kind: UInt32 {
        case ranked = 1, mergeList = 2, wordPiece = 3, unigram = 4, ungreedy = 5
    }

    /// Whether `serialize` writes the encoder: the two BPE encoders, WordPiece, Unigram and ungreedy.
    static func hasCompiledForm(_ encoder: any Encoder) -> Bool {
        encoder is BPEEncoder || encoder is MergeListBPEEncoder || encoder is WordPieceEncoder || encoder is UnigramEncoder
            || encoder is UngreedyEncoder
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
        case let encoder as UnigramEncoder:
            guard let table = try? TokenTable(tokens: encoder.trie.entries().map { (id: $0.id, bytes: $0.bytes) }) else { return nil }
            var writer = WordArrays.Writer()
            encoder.store(into: &writer)
            return (table, bytes(of: [Kind.unigram.rawValue, 0]) + writer.bytes)
        case let encoder as UngreedyEncoder:
            guard let table = try? TokenTable(tokens: encoder.tokens.enumerated().map { (id: TokenID($0.offset), bytes: $0.element) }) else { return nil }
            var writer = WordArrays.Writer()
            encoder.trie.store(into: &writer)
            return (table, bytes(of: [Kind.ungreedy.rawValue, 0]) + writer.bytes)
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
        case .unigram?:
            guard count >= 2 else { return nil }
            var reader = WordArrays.Reader(UnsafeRawBufferPointer(rebasing: bytes[8...]))
            guard let encoder = UnigramEncoder.read(from: &reader), reader.atEnd else { return nil }
            return encoder
        case .ungreedy?:
            guard count >= 2 else { return nil }
            var reader = WordArrays.Reader(UnsafeRawBufferPointer(rebasing: bytes[8...]))
            var tokens: [[UInt8]] = []
            tokens.reserveCapacity(table.idLimit)
            for id in 0..<table.idLimit {
                guard let token = table.bytes(of: TokenID(id)), (id < 256) == (token.count == 1) else { return nil }
                tokens.append(Array(token))
            }
            guard let trie = ByteTrie.read(from: &reader, idLimit: tokens.count), reader.atEnd else { return nil }
            return UngreedyEncoder(tokens: tokens, trie: trie)
        case nil:
            return nil
        }
    }
}

extension UnigramEncoder {
    /// Stores what `read(from:)` reads: the numbers, the byte pieces, the unknown surface, the edge scores, the
    /// texts (one buffer and their ends) and the trie.
    func store(into writer: inout WordArrays.Writer) {
        let numbers: [UInt64] = [
            reading == .sentencePiece ? 0 : 1, UInt64(unknown), UInt64(longestEdge), cutsAtSpaces ? 1 : 0,
            unknownScore.bitPattern, highestScore.bitPattern,
        ]
        writer.append(numbers)
        writer.append(byteIDs ?? [])
        writer.append(unknownSurface)
        writer.append(edgeScores.map(\.bitPattern))
        var ends: [UInt32] = []
        ends.reserveCapacity(texts.count)
        var total = 0
        for text in texts {
            total += text.count
            ends.append(UInt32(truncatingIfNeeded: total))
        }
        writer.append(Array(texts.joined()))
        writer.append(ends)
        trie.store(into: &writer)
    }

    /// What `store` wrote, checked: every id it holds names a text; nil otherwise.
    static func read(from reader: inout WordArrays.Reader) -> UnigramEncoder? {
        guard let numbers = reader.u64s(), numbers.count == 6, numbers[0] <= 1, numbers[2] <= UInt64(Int32.max), let byteIDs = reader.u32s(),
              byteIDs.isEmpty || byteIDs.count == 256, let unknownSurface = reader.u8s(), let scores = reader.u64s(),
              let blob = reader.u8s(), let ends = reader.u32s(), ends.count == scores.count,
              numbers[1] < UInt64(ends.count), byteIDs.allSatisfy({ $0 == noByte || Int($0) < ends.count })
        else { return nil }
        var texts: [[UInt8]] = []
        texts.reserveCapacity(ends.count)
        var start = 0
        for end in ends {
            guard Int(end) >= start, Int(end) <= blob.count else { return nil }
            texts.append(Array(blob[start..<Int(end)]))
            start = Int(end)
        }
        guard let trie = ByteTrie.read(from: &reader, idLimit: texts.count) else { return nil }
        return UnigramEncoder(
            trie: trie, longestEdge: Int(numbers[2]), texts: texts, edgeScores: scores.map(Double.init(bitPattern:)),
            reading: numbers[0] == 0 ? .sentencePiece : .huggingFace, unknown: TokenID(numbers[1]),
            unknownScore: Double(bitPattern: numbers[4]), highestScore: Double(bitPattern: numbers[5]),
            byteIDs: byteIDs.isEmpty ? nil : byteIDs, unknownSurface: unknownSurface, cutsAtSpaces: numbers[3] == 1)
    }
}
