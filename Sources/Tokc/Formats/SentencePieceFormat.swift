/// A SentencePiece `.model` file assembled into a `Tokenizer` that gives SentencePiece's ids: its normaliser
/// (`SentencePieceNormalizer`), the whole text as one piece, and the model's encoder: Unigram (`UnigramEncoder`)
/// or BPE (`MergeListBPEEncoder`, every pair whose concatenation is a piece merging, the highest-scoring first).
/// Decoding is SentencePiece's (`SentencePieceDecoding`).
///
/// Control pieces (`<s>`, `</s>`) and the unknown piece are special tokens: never matched in text unless special
/// tokens are allowed (SentencePiece never matches them).
public enum SentencePieceFormat {
    public static func load(_ content: [UInt8], name: String, path: String) throws(TokcError) -> Tokenizer {
        try tokenizer(try SentencePieceModel.parse(content, path: path), name: name, path: path)
    }

    /// The same from the model's compiled pipeline (`CompiledSentencePiece`) and its encoder, both built before
    /// from this file and kept in the compiled cache.
    static func load(compiled content: [UInt8], name: String, path: String, encoder: any Encoder) throws(TokcError) -> Tokenizer {
        guard let parts = content.withUnsafeBytes({ CompiledSentencePiece.parts(from: $0) }) else {
            throw .invalidVocabulary(path: path, reason: "a compiled SentencePiece pipeline that is not one this tokc writes")
        }
        return tokenizer(parts, encoder: encoder, name: name)
    }

    /// What a SentencePiece tokenizer is besides its encoder: the normaliser, the decoding and the control
    /// pieces (with the unknown piece) as special tokens. From a model, or read back from the compiled cache.
    struct Parts {
        var normalizer: SentencePieceNormalizer
        var decoding: SentencePieceDecoding
        var specialTokens: [String: TokenID]

        init(normalizer: SentencePieceNormalizer, decoding: SentencePieceDecoding) {
            (self.normalizer, self.decoding) = (normalizer, decoding)
            specialTokens = [:]
            for id in 0..<decoding.pieces.count where decoding.types[id] == .control || decoding.types[id] == .unknown {
                specialTokens[String(decoding: decoding.pieces[id], as: UTF8.self)] = TokenID(id)
            }
        }

        init(model: SentencePieceModel, path: String) throws(TokcError) {
            self.init(normalizer: try SentencePieceNormalizer(model: model, path: path), decoding: SentencePieceDecoding(model: model))
        }
    }

    /// The tokenizer of `model`; a BPE model's encoder is `prebuilt` when given (built from the same model).
    static func tokenizer(_ model: SentencePieceModel, name: String, path: String, encoder prebuilt: (any Encoder)? = nil) throws(TokcError) -> Tokenizer {
        let encoder: any Encoder
        switch model.modelType {
        case .unigram:
            if let prebuilt { encoder = prebuilt } else { encoder = UnigramEncoder(model: model) }
        case .bpe:
            if let prebuilt { encoder = prebuilt } else { encoder = try bpeEncoder(model, path: path) }
        case .word, .character:
            throw .invalidVocabulary(path: path, reason: "model_type \(model.modelType) is not supported by this tokc: supported are unigram and bpe")
        }
        return tokenizer(try Parts(model: model, path: path), encoder: encoder, name: name)
    }

    static func tokenizer(_ parts: Parts, encoder: any Encoder, name: String) -> Tokenizer {
        var detokenizer = Detokenizer()
        detokenizer.sentencePiece = parts.decoding
        return Tokenizer(
            name: name, normalizer: parts.normalizer, preTokenizer: WholeTextPreTokenizer(), encoder: encoder,
            specialTokens: parts.specialTokens, detokenizer: detokenizer)
    }

    /// SentencePiece BPE as merges: a pair merges when its concatenation is a piece, the piece with the highest
    /// score first (then the lower id), leftmost on a tie; every split of a piece into two pieces is a merge
    /// of that rank.
    private static func bpeEncoder(_ model: SentencePieceModel, path: String) throws(TokcError) -> MergeListBPEEncoder {
        var mergeable: [(id: TokenID, bytes: [UInt8])] = []
        var fallback = [TokenID](repeating: MergeListBPEEncoder.noToken, count: 256)
        for (id, piece) in model.pieces.enumerated() {
            switch piece.type {
            case .normal, .userDefined:
                mergeable.append((TokenID(id), piece.text))
            case .byte:
                if let byte = ByteFallback.byte(ofToken: piece.text) { fallback[Int(byte)] = TokenID(id) }
            default:
                break
            }
        }
        let table: TokenTable
        do {
            table = try TokenTable(tokens: mergeable)
        } catch {
            throw .invalidVocabulary(path: path, reason: "the pieces cannot be indexed: \(error)")
        }
        let ranked = mergeable.map(\.id).sorted { a, b in
            let (sa, sb) = (model.pieces[Int(a)].score, model.pieces[Int(b)].score)
            return sa != sb ? sa > sb : a < b
        }
        var merges: [(left: TokenID, right: TokenID, merged: TokenID)] = []
        merges.reserveCapacity(mergeable.count * 2)
        for id in ranked {
            model.pieces[Int(id)].text.withUnsafeBufferPointer { text in
                // The halves are looked up in place (no array per split: a third of a .model's load, perf).
                for split in 1..<max(1, text.count) where text[split] & 0xC0 != 0x80 {
                    if let left = table.id(of: text.baseAddress!, count: split),
                       let right = table.id(of: text.baseAddress! + split, count: text.count - split) {
                        merges.append((left, right, id))
                    }
                }
            }
        }
        let alphabet = MergeListBPEEncoder.Alphabet.characters(
            byteFallback: model.byteFallback ? fallback : nil, unknown: TokenID(model.unknownID), fuseUnknown: !model.byteFallback)
        guard let encoder = MergeListBPEEncoder(table: table, merges: merges, alphabet: alphabet) else {
            throw .invalidVocabulary(path: path, reason: "the BPE model cannot be assembled")
        }
        return encoder
    }
}

/// SentencePiece's decoding of ids, exactly: control pieces vanish, the unknown piece is its surface (` ⁇ `),
/// runs of byte pieces become their bytes with each ill-formed byte as U+FFFD, `▁` becomes a space, and the
/// first piece of the text loses one leading `▁` (the one the normaliser put in front), unless the text has
/// something in it already.
public struct SentencePieceDecoding: Sendable {
    let pieces: PackedTexts
    let types: [SentencePieceModel.PieceType]
    let unknownSurface: [UInt8]
    /// The first piece's leading `▁` is taken (`add_dummy_prefix` or `remove_extra_whitespaces`).
    let stripsLeadingSpace: Bool
    let removesExtraWhitespaces: Bool

    init(model: SentencePieceModel) {
        pieces = PackedTexts(model.pieces.lazy.map(\.text))
        types = model.pieces.map(\.type)
        unknownSurface = model.unknownSurface
        stripsLeadingSpace = model.normalization.addDummyPrefix || model.normalization.removeExtraWhitespaces
        removesExtraWhitespaces = model.normalization.removeExtraWhitespaces
    }

    func decode(_ ids: some Sequence<TokenID>) throws(TokcError) -> [UInt8] {
        var text: [UInt8] = []
        var bytes: [UInt8] = []
        var expectsLeadingSpace = true
        var consumedLeadingSpace = false
        func flushBytes() {
            bytes.withUnsafeBufferPointer { run in
                var index = 0
                while index < run.count {
                    let length = UTF8Scan.sequenceLength(in: run, at: index)
                    if length == 0 {
                        text += UTF8Scan.replacementCharacter
                        index += 1
                    } else {
                        text += run[index..<(index + length)]
                        index += length
                    }
                }
            }
            bytes.removeAll(keepingCapacity: true)
        }
        for (position, id) in ids.enumerated() {
            guard Int(id) < pieces.count else { throw .unknownTokenID(id: id, position: position, vocabularySize: pieces.count) }
            let piece = pieces[Int(id)]
            switch types[Int(id)] {
            case .byte:
                bytes.append(ByteFallback.byte(ofToken: piece) ?? 0)
                continue
            case .control:
                flushBytes()
                if consumedLeadingSpace || !text.isEmpty { expectsLeadingSpace = false }
                consumedLeadingSpace = false
            case .unknown:
                flushBytes()
                if consumedLeadingSpace || !text.isEmpty { expectsLeadingSpace = false }
                consumedLeadingSpace = false
                text += unknownSurface
            case .normal, .userDefined, .unused:
                flushBytes()
                if consumedLeadingSpace || !text.isEmpty { expectsLeadingSpace = false }
                var body = piece[...]
                consumedLeadingSpace = false
                if expectsLeadingSpace && stripsLeadingSpace && body.starts(with: SentencePieceNormalizer.space) {
                    body = body.dropFirst(SentencePieceNormalizer.space.count)
                    consumedLeadingSpace = !removesExtraWhitespaces
                }
                text += body.withUnsafeBufferPointer { ReplaceNormalizer.replacing(SentencePieceNormalizer.space, with: [0x20], in: $0) } ?? Array(body)
            }
        }
        flushBytes()
        return text
    }
}

/// Byte strings by index in one buffer: a model's 32,000 piece texts without an array each. Text `i` is
/// `bytes[ends[i - 1]..<ends[i]]` (from 0 for the first).
struct PackedTexts: Sendable {
    let bytes: [UInt8]
    let ends: [UInt32]

    init(_ texts: some Sequence<[UInt8]>) {
        var bytes: [UInt8] = []
        var ends: [UInt32] = []
        for text in texts {
            bytes += text
            ends.append(UInt32(truncatingIfNeeded: bytes.count))
        }
        (self.bytes, self.ends) = (bytes, ends)
    }

    /// Nil unless the ends rise (or stay) within `bytes`.
    init?(bytes: [UInt8], ends: [UInt32]) {
        var previous: UInt32 = 0
        for end in ends {
            guard end >= previous else { return nil }
            previous = end
        }
        guard Int(previous) <= bytes.count else { return nil }
        (self.bytes, self.ends) = (bytes, ends)
    }

    var count: Int { ends.count }

    subscript(index: Int) -> ArraySlice<UInt8> {
        bytes[(index == 0 ? 0 : Int(ends[index - 1]))..<Int(ends[index])]
    }
}
