/// A SentencePiece `.model` file (`ModelProto`): the pieces with their scores and types, the parts of
/// `trainer_spec` that decide how text is encoded, and `normalizer_spec`. Fields tokc does not use are skipped on
/// reading; a file tokc writes holds what is here.
public struct SentencePieceModel: Sendable, Equatable {
    public enum PieceType: Int, Sendable {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    public struct Piece: Sendable, Equatable {
        public var text: [UInt8]
        public var score: Float
        public var type: PieceType
    }

    public enum ModelType: Int, Sendable {
        case unigram = 1, bpe = 2, word = 3, character = 4
    }

    /// `normalizer_spec`: how text is rewritten before it is encoded.
    public struct Normalization: Sendable, Equatable {
        public var name = ""
        /// The rewriting rules (`PrecompiledCharsMap`); empty for none (`identity`).
        public var precompiledCharsMap: [UInt8] = []
        public var addDummyPrefix = true
        public var removeExtraWhitespaces = true
        public var escapeWhitespaces = true

        public init() {}

        /// sentencepiece's `nmt_nfkc` rules, as the shipped `unigram-multi-8k` carries them (sentencepiece's
        /// builder made them; tokc has no builder of its own).
        public static func nmtNFKC(registry: VocabularyRegistry = .standard) throws(TokcError) -> Normalization {
            guard let located = try registry.vocabularies().first(where: { $0.entry.name == "unigram-multi-8k" }) else {
                throw .unknownVocabulary(name: "unigram-multi-8k (its nmt_nfkc rules)", known: try registry.vocabularies().map(\.entry.name))
            }
            return try SentencePieceModel.parse(try FileIO.readAll(located.filePath), path: located.filePath).normalization
        }
    }

    public var pieces: [Piece] = []
    public var modelType = ModelType.unigram
    public var vocabularySize = 8000
    public var byteFallback = false
    public var treatWhitespaceAsSuffix = false
    public var unknownID = 0
    public var beginningID = 1
    public var endID = 2
    public var paddingID = -1
    /// What an unknown piece decodes to (` ⁇ `).
    public var unknownSurface = Array(" \u{2047} ".utf8)
    public var normalization = Normalization()

    public init() {}

    // Field numbers of sentencepiece_model.proto.
    private enum ModelField { static let pieces = 1, trainerSpec = 2, normalizerSpec = 3 }
    private enum PieceField { static let text = 1, score = 2, type = 3 }
    private enum TrainerField {
        static let modelType = 3, vocabSize = 4, treatWhitespaceAsSuffix = 24, byteFallback = 35
        static let unknownID = 40, beginningID = 41, endID = 42, paddingID = 43, unknownSurface = 44
    }
    private enum NormalizerField {
        static let name = 1, charsMap = 2, addDummyPrefix = 3, removeExtraWhitespaces = 4, escapeWhitespaces = 5
    }

    /// Reads a `.model` file. A truncated or corrupt file is an error naming the byte where reading failed.
    public static func parse(_ content: [UInt8], path: String) throws(TokcError) -> SentencePieceModel {
        var model = SentencePieceModel()
        let result: Result<Void, ProtobufReader.Failure> = content.withUnsafeBufferPointer { bytes in
            let reader = ProtobufReader(bytes: bytes)
            return Result { () throws(ProtobufReader.Failure) in
                var sawTrainerSpec = false
                try reader.forEachField(in: 0..<bytes.count) { (field) throws(ProtobufReader.Failure) in
                    switch (field.number, field.wireType) {
                    case (ModelField.pieces, .lengthDelimited):
                        model.pieces.append(try piece(reader, field))
                    case (ModelField.trainerSpec, .lengthDelimited):
                        sawTrainerSpec = true
                        try readTrainerSpec(reader, field, into: &model)
                    case (ModelField.normalizerSpec, .lengthDelimited):
                        try readNormalizerSpec(reader, field, into: &model.normalization)
                    case (ModelField.pieces...ModelField.normalizerSpec, _):
                        throw ProtobufReader.Failure(offset: field.payload.lowerBound, reason: "field \(field.number) as a message")
                    default:
                        break  // self-test data, denormalizer spec, fields of later versions
                    }
                }
                guard sawTrainerSpec, !model.pieces.isEmpty else {
                    throw ProtobufReader.Failure(offset: bytes.count, reason: "pieces and a trainer_spec (this is not a SentencePiece model)")
                }
            }
        }
        if case let .failure(failure) = result {
            throw .invalidVocabulary(path: path, reason: "byte \(failure.offset): expected \(failure.reason)")
        }
        try model.validate(path: path)
        return model
    }

    private static func piece(_ reader: ProtobufReader, _ message: ProtobufReader.Field) throws(ProtobufReader.Failure) -> Piece {
        var piece = Piece(text: [], score: 0, type: .normal)
        try reader.forEachField(in: message.payload) { (field) throws(ProtobufReader.Failure) in
            switch field.number {
            case PieceField.text:
                guard let text = reader.bytes(field) else { throw .init(offset: field.payload.lowerBound, reason: "a piece's text as bytes") }
                piece.text = text
            case PieceField.score:
                guard let score = reader.float(field) else { throw .init(offset: field.payload.lowerBound, reason: "a piece's score as a 32-bit float") }
                piece.score = score
            case PieceField.type:
                guard field.wireType == .varint, let type = PieceType(rawValue: Int(truncatingIfNeeded: field.varint)) else {
                    throw .init(offset: field.payload.lowerBound, reason: "a piece type from 1 to 6")
                }
                piece.type = type
            default:
                break
            }
        }
        return piece
    }

    private static func readTrainerSpec(_ reader: ProtobufReader, _ message: ProtobufReader.Field, into model: inout SentencePieceModel) throws(ProtobufReader.Failure) {
        try reader.forEachField(in: message.payload) { (field) throws(ProtobufReader.Failure) in
            let integer = Int(Int32(truncatingIfNeeded: Int64(bitPattern: field.varint)))
            switch (field.number, field.wireType) {
            case (TrainerField.modelType, .varint):
                guard let type = ModelType(rawValue: integer) else { throw .init(offset: field.payload.lowerBound, reason: "a model type from 1 to 4") }
                model.modelType = type
            case (TrainerField.vocabSize, .varint): model.vocabularySize = integer
            case (TrainerField.treatWhitespaceAsSuffix, .varint): model.treatWhitespaceAsSuffix = field.varint != 0
            case (TrainerField.byteFallback, .varint): model.byteFallback = field.varint != 0
            case (TrainerField.unknownID, .varint): model.unknownID = integer
            case (TrainerField.beginningID, .varint): model.beginningID = integer
            case (TrainerField.endID, .varint): model.endID = integer
            case (TrainerField.paddingID, .varint): model.paddingID = integer
            case (TrainerField.unknownSurface, .lengthDelimited): model.unknownSurface = reader.bytes(field) ?? model.unknownSurface
            default: break
            }
        }
    }

    private static func readNormalizerSpec(_ reader: ProtobufReader, _ message: ProtobufReader.Field, into spec: inout Normalization) throws(ProtobufReader.Failure) {
        try reader.forEachField(in: message.payload) { (field) throws(ProtobufReader.Failure) in
            switch (field.number, field.wireType) {
            case (NormalizerField.name, .lengthDelimited): spec.name = String(decoding: reader.bytes(field) ?? [], as: UTF8.self)
            case (NormalizerField.charsMap, .lengthDelimited): spec.precompiledCharsMap = reader.bytes(field) ?? []
            case (NormalizerField.addDummyPrefix, .varint): spec.addDummyPrefix = field.varint != 0
            case (NormalizerField.removeExtraWhitespaces, .varint): spec.removeExtraWhitespaces = field.varint != 0
            case (NormalizerField.escapeWhitespaces, .varint): spec.escapeWhitespaces = field.varint != 0
            default: break
            }
        }
    }

    /// What SentencePiece checks when it loads a model: pieces non-empty and distinct, one unknown piece, byte
    /// pieces only with byte fallback and each `<0xNN>`.
    private func validate(path: String) throws(TokcError) {
        // The ids seen so far, by open addressing on their texts with TokenTable's hash: a `[[UInt8]: Int]`
        // hashed every text with SipHash, 18M instructions of a 32,000-piece model's load (callgrind).
        var capacity = 16
        while capacity < pieces.count * 2 { capacity <<= 1 }
        var seen = [Int](repeating: -1, count: capacity)
        var unknowns = 0
        for (id, piece) in pieces.enumerated() {
            guard !piece.text.isEmpty else { throw .invalidVocabulary(path: path, reason: "piece \(id) is empty") }
            let hash = piece.text.withUnsafeBufferPointer { TokenTable.keyAndHash($0.baseAddress!, $0.count).hash }
            var slot = Int(truncatingIfNeeded: hash) & (capacity - 1)
            while seen[slot] >= 0 {
                let first = seen[slot]
                if pieces[first].text == piece.text {
                    throw .invalidVocabulary(path: path, reason: "piece \(id) '\(String(decoding: piece.text, as: UTF8.self))' repeats piece \(first)")
                }
                slot = (slot + 1) & (capacity - 1)
            }
            seen[slot] = id
            if piece.type == .unknown { unknowns += 1 }
            if piece.type == .byte {
                guard byteFallback else { throw .invalidVocabulary(path: path, reason: "piece \(id) is a byte piece, but byte_fallback is off") }
                guard ByteFallback.byte(ofToken: piece.text) != nil else { throw .invalidVocabulary(path: path, reason: "piece \(id) '\(String(decoding: piece.text, as: UTF8.self))' is not a byte piece <0xNN>") }
            }
        }
        guard unknowns == 1, pieces.indices.contains(unknownID), pieces[unknownID].type == .unknown else {
            throw .invalidVocabulary(path: path, reason: "the model needs exactly one unknown piece, at unk_id \(unknownID)")
        }
    }

    /// The `.model` bytes of this model.
    public func serialized() -> [UInt8] {
        var writer = ProtobufWriter()
        for piece in pieces {
            writer.message(ModelField.pieces) { message in
                message.bytes(PieceField.text, piece.text)
                message.float(PieceField.score, piece.score)
                if piece.type != .normal { message.integer(PieceField.type, piece.type.rawValue) }
            }
        }
        writer.message(ModelField.trainerSpec) { spec in
            spec.integer(TrainerField.modelType, modelType.rawValue)
            spec.integer(TrainerField.vocabSize, vocabularySize)
            spec.bool(TrainerField.treatWhitespaceAsSuffix, treatWhitespaceAsSuffix)
            spec.bool(TrainerField.byteFallback, byteFallback)
            spec.integer(TrainerField.unknownID, unknownID)
            spec.integer(TrainerField.beginningID, beginningID)
            spec.integer(TrainerField.endID, endID)
            spec.integer(TrainerField.paddingID, paddingID)
            spec.bytes(TrainerField.unknownSurface, unknownSurface)
        }
        writer.message(ModelField.normalizerSpec) { spec in
            spec.bytes(NormalizerField.name, Array(normalization.name.utf8))
            if !normalization.precompiledCharsMap.isEmpty { spec.bytes(NormalizerField.charsMap, normalization.precompiledCharsMap) }
            spec.bool(NormalizerField.addDummyPrefix, normalization.addDummyPrefix)
            spec.bool(NormalizerField.removeExtraWhitespaces, normalization.removeExtraWhitespaces)
            spec.bool(NormalizerField.escapeWhitespaces, normalization.escapeWhitespaces)
        }
        return writer.bytes
    }
}
