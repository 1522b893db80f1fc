/// A SentencePiece tokenizer's pipeline as kept in the compiled cache beside its encoder (`CompiledEncoder`):
/// what a `.model` file (or a GGUF's `llama` metadata) gives besides the encoder, so that a load neither parses
/// the protobuf again (mistral-v3's 32,768 pieces: 34M instructions, callgrind) nor works out the normaliser's
/// tables from its rules again (16M; 18M for unigram-multi-8k's nmt_nfkc rules).
///
/// `WordArrays`: `[magic, version]`; the numbers (the normaliser's three switches and whether whitespace is a
/// suffix, the decoding's two); the unknown piece's surface; the normaliser's name and rules (the
/// `precompiled_charsmap` blob); the user-defined pieces as the normaliser orders them, and every piece's text
/// (`PackedTexts`: one buffer and the ends) and type; then the normaliser's tables
/// (`SentencePieceNormalizer`). A stored table is exact only for the code that worked it out: whoever changes
/// what those tables hold or how they are derived must raise `version`, so that stored ones are refused and
/// built again from the source.
enum CompiledSentencePiece {
    /// "TOKCSPP1" as a little-endian word: what the bytes start with.
    static let magic: UInt64 = 0x3150_5053_434B_4F54
    static let version: UInt64 = 1

    /// The compiled pipeline of a tokenizer assembled from a SentencePiece model; nil for any other.
    static func bytes(of tokenizer: Tokenizer) -> [UInt8]? {
        guard let normalizer = tokenizer.normalizer as? SentencePieceNormalizer, let decoding = tokenizer.detokenizer.sentencePiece
        else { return nil }
        let spec = normalizer.spec
        var writer = WordArrays.Writer()
        writer.append([magic, version])
        let switches: [UInt64] = [
            spec.addDummyPrefix ? 1 : 0, spec.removeExtraWhitespaces ? 1 : 0, spec.escapeWhitespaces ? 1 : 0,
            normalizer.treatWhitespaceAsSuffix ? 1 : 0, decoding.stripsLeadingSpace ? 1 : 0, decoding.removesExtraWhitespaces ? 1 : 0,
        ]
        writer.append(switches)
        writer.append(decoding.unknownSurface)
        writer.append(Array(spec.name.utf8))
        writer.append(spec.precompiledCharsMap)
        let userDefined = PackedTexts(normalizer.userDefined)
        writer.append(userDefined.bytes)
        writer.append(userDefined.ends)
        writer.append(decoding.pieces.bytes)
        writer.append(decoding.pieces.ends)
        writer.append(decoding.types.map { UInt8($0.rawValue) })
        func flags(_ values: [Bool]) -> [UInt8] { values.map { $0 ? 1 : 0 } }
        writer.append(flags(normalizer.passesThrough))
        writer.append(flags(normalizer.passesThroughAtEnd))
        let continuing = normalizer.continuingCharacters
        let words: [UInt64] = [
            normalizer.passesBeforeASCII.low, normalizer.passesBeforeASCII.high, continuing.ascii.0, continuing.ascii.1,
            normalizer.spaceIsPlain ? 1 : 0,
        ]
        writer.append(words)
        writer.append(normalizer.twoBytePassage.map(\.rawValue))
        writer.append(normalizer.threeBytePassage.map(\.rawValue))
        writer.append(flags(continuing.two))
        writer.append(flags(continuing.three))
        return writer.bytes
    }

    /// The parts `bytes(of:)` stored, each array checked for its size and values; nil when the bytes are not
    /// such a pipeline of this `version` (the caller then builds it again from the source).
    static func parts(from bytes: UnsafeRawBufferPointer) -> SentencePieceFormat.Parts? {
        var reader = WordArrays.Reader(bytes)
        // Bytes 0 and 1 are Bools as they lie in memory: copied whole once checked (a map took 2.8M instructions).
        func flags(count: Int) -> [Bool]? {
            guard let values = reader.u8s(), values.count == count, values.reduce(0, |) <= 1 else { return nil }
            return [Bool](unsafeUninitializedCapacity: count) { buffer, initialized in
                values.withUnsafeBytes { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: $0) }
                initialized = count
            }
        }
        func passages(count: Int) -> [SentencePieceNormalizer.Passage]? {
            guard let values = reader.u8s(), values.count == count else { return nil }
            var result: [SentencePieceNormalizer.Passage] = []
            result.reserveCapacity(count)
            for value in values {
                guard let passage = SentencePieceNormalizer.Passage(rawValue: value) else { return nil }
                result.append(passage)
            }
            return result
        }
        guard reader.u64s() == [magic, version], let numbers = reader.u64s(), numbers.count == 6, numbers.allSatisfy({ $0 <= 1 }),
              let unknownSurface = reader.u8s(), let name = reader.u8s(), let charsMapBlob = reader.u8s(),
              let userBytes = reader.u8s(), let userEnds = reader.u32s(), let userDefined = PackedTexts(bytes: userBytes, ends: userEnds),
              let pieceBytes = reader.u8s(), let pieceEnds = reader.u32s(), let pieces = PackedTexts(bytes: pieceBytes, ends: pieceEnds),
              let typeValues = reader.u8s(), typeValues.count == pieces.count
        else { return nil }
        var types: [SentencePieceModel.PieceType] = []
        types.reserveCapacity(typeValues.count)
        for value in typeValues {
            guard let type = SentencePieceModel.PieceType(rawValue: Int(value)) else { return nil }
            types.append(type)
        }
        var charsMap: PrecompiledCharsMap? = nil
        if !charsMapBlob.isEmpty {
            guard let map = PrecompiledCharsMap(charsMapBlob) else { return nil }
            charsMap = map
        }
        guard let passesThrough = flags(count: 1 << 16), let passesThroughAtEnd = flags(count: 256),
              let words = reader.u64s(), words.count == 5, words[4] <= 1,
              let twoBytePassage = passages(count: 1 << 11), let threeBytePassage = passages(count: 1 << 16),
              let continuingTwo = flags(count: 1 << 11), let continuingThree = flags(count: 1 << 16), reader.atEnd
        else { return nil }
        var spec = SentencePieceModel.Normalization()
        spec.name = String(decoding: name, as: UTF8.self)
        spec.precompiledCharsMap = charsMapBlob
        (spec.addDummyPrefix, spec.removeExtraWhitespaces, spec.escapeWhitespaces) = (numbers[0] == 1, numbers[1] == 1, numbers[2] == 1)
        let normalizer = SentencePieceNormalizer(
            charsMap: charsMap, spec: spec, treatWhitespaceAsSuffix: numbers[3] == 1,
            userDefined: (0..<userDefined.count).map { Array(userDefined[$0]) },
            passesThrough: passesThrough, passesThroughAtEnd: passesThroughAtEnd, passesBeforeASCII: (words[0], words[1]),
            twoBytePassage: twoBytePassage, threeBytePassage: threeBytePassage,
            continuingCharacters: ((words[2], words[3]), continuingTwo, continuingThree), spaceIsPlain: words[4] == 1)
        let decoding = SentencePieceDecoding(
            pieces: pieces, types: types, unknownSurface: unknownSurface, stripsLeadingSpace: numbers[4] == 1,
            removesExtraWhitespaces: numbers[5] == 1)
        return SentencePieceFormat.Parts(normalizer: normalizer, decoding: decoding)
    }
}

extension SentencePieceNormalizer {
    /// The normaliser from its fields as stored (`CompiledSentencePiece`).
    init(
        charsMap: PrecompiledCharsMap?, spec: SentencePieceModel.Normalization, treatWhitespaceAsSuffix: Bool, userDefined: [[UInt8]],
        passesThrough: [Bool], passesThroughAtEnd: [Bool], passesBeforeASCII: (low: UInt64, high: UInt64),
        twoBytePassage: [Passage], threeBytePassage: [Passage],
        continuingCharacters: (ascii: (UInt64, UInt64), two: [Bool], three: [Bool]), spaceIsPlain: Bool
    ) {
        (self.charsMap, self.spec, self.treatWhitespaceAsSuffix, self.userDefined) = (charsMap, spec, treatWhitespaceAsSuffix, userDefined)
        (self.passesThrough, self.passesThroughAtEnd, self.passesBeforeASCII) = (passesThrough, passesThroughAtEnd, passesBeforeASCII)
        (self.twoBytePassage, self.threeBytePassage) = (twoBytePassage, threeBytePassage)
        (self.continuingCharacters, self.spaceIsPlain) = (continuingCharacters, spaceIsPlain)
        spaceCuts = BuiltOnFirstUse {
            TextCutsBox(Self.spaceCuts(
                spec: spec, treatWhitespaceAsSuffix: treatWhitespaceAsSuffix, spaceIsPlain: spaceIsPlain, userDefined: userDefined,
                charsMap: charsMap, passesThrough: passesThrough, passesThroughAtEnd: passesThroughAtEnd))
        }
    }
}

extension SentencePieceDecoding {
    /// The decoding from its fields as stored (`CompiledSentencePiece`).
    init(pieces: PackedTexts, types: [SentencePieceModel.PieceType], unknownSurface: [UInt8], stripsLeadingSpace: Bool, removesExtraWhitespaces: Bool) {
        (self.pieces, self.types, self.unknownSurface) = (pieces, types, unknownSurface)
        (self.stripsLeadingSpace, self.removesExtraWhitespaces) = (stripsLeadingSpace, removesExtraWhitespaces)
    }
}
