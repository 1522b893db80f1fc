/// Hugging Face `tokenizer.json` for BPE, WordPiece and Unigram: the vocabulary, the merges or scores, the
/// normaliser, the pre-tokenizer, the decoder, the post-processor's template and the added tokens, assembled
/// into a `Tokenizer`.
///
/// Two families of BPE file are read:
/// - **byte-level** (a `ByteLevel` pre-tokenizer: GPT-2, Llama 3, DeepSeek V3): tokens are bytes written in
///   GPT-2's alphabet; pieces come from `Split` regexes or ByteLevel's own GPT-2 regex. With
///   `ignore_merges: true` (the tiktoken-derived files such as Llama 3) a piece that is a token is taken whole
///   and merges follow token ids; otherwise merges are ranked by their place in the list.
/// - **SentencePiece-style** (no ByteLevel: Llama 2, Mistral): tokens are UTF-8 text with `▁` for a space,
///   pieces start as characters, `byte_fallback` spells unknown characters as `<0xNN>` tokens, `unk_token` and
///   `fuse_unk` cover the rest; the `▁` comes from `Prepend`/`Replace` normalisers or a `Metaspace`
///   pre-tokenizer, and the decoder (`Replace`, `ByteFallback`, `Fuse`, `Strip`, or `Metaspace`) undoes it.
///
/// Unigram files (converted T5, ALBERT, XLM-R models) are pieces with scores, encoded by Hugging Face's rules
/// (`UnigramEncoder`), SentencePiece's normalisation as a `Precompiled` charsmap (`PrecompiledNormalizer`), and
/// `Metaspace`.
///
/// Components read: normalizers NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace (string or regex pattern),
/// Strip, Precompiled, BertNormalizer and Sequence; pre-tokenizers ByteLevel, Split (regex, `Isolated`),
/// Metaspace, BertPreTokenizer, Sequence; decoders ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip,
/// WordPiece, Sequence; post-processors ByteLevel, TemplateProcessing (its single-sequence template) and
/// Sequence. Anything else is an error that names the component: a vocabulary is never loaded with a part
/// skipped. Numbers are read as Hugging Face reads them (`JSONNode.serdeNumber`), so scores are its scores.
///
/// Added tokens are the tokenizer's special tokens. Hugging Face recognises them in the text always; in tokc
/// they are recognised when the caller allows special tokens (`allowedSpecial: .all`, `--allow-special`),
/// which then gives exactly Hugging Face's ids. The template's tokens (`<s>` in front) are added when the
/// caller asks (`addingTemplate: true`), as `add_special_tokens=True` does.
public enum TokenizerJSONFormat {
    public static func load(_ content: [UInt8], name: String, path: String) throws(TokcError) -> Tokenizer {
        try JSONNode.withDocument(content, path: path) { root throws(TokcError) in
            try Reader(path: path).tokenizer(root, name: name)
        }
    }

    /// The tokenizer of a BPE file whose encoder was built before and kept (`CompiledEncoder`): `content` is the
    /// file, or its `pipelineSource`, and its `model.vocab` and `model.merges` are not read.
    static func load(_ content: [UInt8], name: String, path: String, encoder: any Encoder) throws(TokcError) -> Tokenizer {
        try JSONNode.withDocument(content, path: path) { root throws(TokcError) in
            try Reader(path: path).tokenizer(root, name: name, encoder: encoder)
        }
    }

    /// The file without the two members a BPE encoder is built from, `model.vocab` (written `{}`) and
    /// `model.merges` (`[]`): the pipeline's part, a few kilobytes against megabytes, which `load(_:name:path:encoder:)`
    /// reads with the encoder built from the whole file. Everything else is written as the file has it.
    static func pipelineSource(_ content: [UInt8], path: String) throws(TokcError) -> [UInt8] {
        try JSONNode.withDocument(content, path: path) { root throws(TokcError) in
            var output: [UInt8] = []
            root.write(to: &output) { keyPath in
                switch keyPath {
                case ["model", "vocab"]: return Array("{}".utf8)
                case ["model", "merges"]: return Array("[]".utf8)
                default: return nil
                }
            }
            return output
        }
    }

    /// Writes a byte-level BPE ranked by its merge list as a Hugging Face `tokenizer.json`, in Hugging Face's
    /// layout (members in its order, the vocabulary in id order), so the same vocabulary always gives the same
    /// bytes. `tokens[i]` is the token of id `i`.
    public static func serialize(
        tokens: [[UInt8]], merges: [(left: TokenID, right: TokenID)], pattern: String,
        normalizer: UnicodeNormalizer, specialTokens: [String: TokenID]
    ) throws(TokcError) -> [UInt8] {
        let normalizerObject: JSONValue
        switch normalizer {
        case .identity: normalizerObject = .null
        case .nfc: normalizerObject = .object([("type", .text("NFC"))])
        case .nfkc: normalizerObject = .object([("type", .text("NFKC"))])
        default:
            throw .invalidVocabulary(path: "tokenizer.json", reason: "normaliser \(normalizer.rawValue) has no tokenizer.json form that tokc writes; use nfc or nfkc")
        }
        let texts = tokens.map { ByteLevel.text(of: $0) }
        let byteLevel: JSONValue = .object([
            ("type", .text("ByteLevel")), ("add_prefix_space", .bool(false)), ("trim_offsets", .bool(true)), ("use_regex", .bool(false)),
        ])
        return JSONValue.object([
            ("version", .text("1.0")),
            ("truncation", .null),
            ("padding", .null),
            ("added_tokens", addedTokens(specialTokens.sorted { $0.value < $1.value }.map { ($0.key, $0.value) })),
            ("normalizer", normalizerObject),
            ("pre_tokenizer", .object([
                ("type", .text("Sequence")),
                ("pretokenizers", .array([
                    .object([
                        ("type", .text("Split")), ("pattern", .object([("Regex", .text(pattern))])),
                        ("behavior", .text("Isolated")), ("invert", .bool(false)),
                    ]),
                    byteLevel,
                ])),
            ])),
            ("post_processor", .object([
                ("type", .text("ByteLevel")), ("add_prefix_space", .bool(false)), ("trim_offsets", .bool(false)), ("use_regex", .bool(false)),
            ])),
            ("decoder", byteLevel),
            ("model", .object([
                ("type", .text("BPE")), ("dropout", .null), ("unk_token", .null), ("continuing_subword_prefix", .null),
                ("end_of_word_suffix", .null), ("fuse_unk", .bool(false)), ("byte_fallback", .bool(false)),
                ("ignore_merges", .bool(false)),
                ("vocab", .object(texts.enumerated().map { ($1, .integer($0)) })),
                ("merges", .array(merges.map { .text(texts[Int($0.left)] + " " + texts[Int($0.right)]) })),
            ])),
        ]).serialized()
    }

    /// Writes a SentencePiece Unigram model as a Hugging Face `tokenizer.json`, in the layout transformers'
    /// converter (`SpmConverter`) gives: control pieces as added tokens; the normaliser as `Precompiled` (the
    /// model's charsmap), then, with `remove_extra_whitespaces`, `Strip` on the right and `Replace` of runs of
    /// spaces by `▁`; `Metaspace` (prepending `▁` when the model adds a dummy prefix); the pieces and scores in
    /// id order. Unlike that converter it keeps `byte_fallback` (Hugging Face's Unigram implements it), with
    /// the `Replace`/`ByteFallback`/`Fuse`/`Strip` decoder that turns `<0xNN>` pieces back into bytes.
    ///
    /// Hugging Face then gives the ids tokc gives reading this file; they are SentencePiece's ids except where
    /// the two pipelines differ (leading spaces, which SentencePiece removes and `Metaspace` keeps as `▁`;
    /// clusters `Precompiled` rewrites whole).
    public static func serialize(unigram model: SentencePieceModel) throws(TokcError) -> [UInt8] {
        guard model.modelType == .unigram else {
            throw .invalidVocabulary(path: "tokenizer.json", reason: "only Unigram .model files are written as Unigram tokenizer.json, not \(model.modelType)")
        }
        guard model.normalization.escapeWhitespaces, !model.treatWhitespaceAsSuffix else {
            throw .invalidVocabulary(path: "tokenizer.json", reason: "Metaspace needs escape_whitespaces and a prefix (not suffix) space: this model has no tokenizer.json form")
        }
        let space = JSONValue.string(SentencePieceNormalizer.space)
        var normalizers: [JSONValue] = []
        if !model.normalization.precompiledCharsMap.isEmpty {
            normalizers.append(.object([
                ("type", .text("Precompiled")), ("precompiled_charsmap", .text(Base64.encode(model.normalization.precompiledCharsMap))),
            ]))
        }
        if model.normalization.removeExtraWhitespaces {
            normalizers.append(.object([("type", .text("Strip")), ("strip_left", .bool(false)), ("strip_right", .bool(true))]))
            normalizers.append(.object([
                ("type", .text("Replace")), ("pattern", .object([("Regex", .text(" {2,}"))])), ("content", space),
            ]))
        }
        let prependScheme = JSONValue.text(model.normalization.addDummyPrefix ? "always" : "never")
        let metaspace = JSONValue.object([
            ("type", .text("Metaspace")), ("replacement", space), ("prepend_scheme", prependScheme), ("split", .bool(true)),
        ])
        let decoder: JSONValue
        if model.byteFallback {
            decoder = .object([
                ("type", .text("Sequence")),
                ("decoders", .array([
                    .object([("type", .text("Replace")), ("pattern", .object([("String", space)])), ("content", .text(" "))]),
                    .object([("type", .text("ByteFallback"))]),
                    .object([("type", .text("Fuse"))]),
                    .object([
                        ("type", .text("Strip")), ("content", .text(" ")),
                        ("start", .integer(model.normalization.addDummyPrefix ? 1 : 0)), ("stop", .integer(0)),
                    ]),
                ])),
            ])
        } else {
            decoder = metaspace
        }
        let controls = model.pieces.enumerated().filter { $0.element.type == .control }
        return JSONValue.object([
            ("version", .text("1.0")),
            ("truncation", .null),
            ("padding", .null),
            ("added_tokens", addedTokens(controls.map { (String(decoding: $0.element.text, as: UTF8.self), TokenID($0.offset)) })),
            ("normalizer", .object([("type", .text("Sequence")), ("normalizers", .array(normalizers))])),
            ("pre_tokenizer", metaspace),
            ("post_processor", .null),
            ("decoder", decoder),
            ("model", .object([
                ("type", .text("Unigram")), ("unk_id", .integer(model.unknownID)),
                ("vocab", .array(model.pieces.map { .array([.string($0.text), .number(Double($0.score))]) })),
                ("byte_fallback", .bool(model.byteFallback)),
            ])),
        ]).serialized()
    }

    /// `added_tokens` entries for special tokens, in the order given.
    private static func addedTokens(_ tokens: [(text: String, id: TokenID)]) -> JSONValue {
        .array(tokens.map { token in
            .object([
                ("id", .integer(Int(token.id))), ("content", .text(token.text)), ("single_word", .bool(false)),
                ("lstrip", .bool(false)), ("rstrip", .bool(false)), ("normalized", .bool(false)), ("special", .bool(true)),
            ])
        })
    }

    /// Writes a WordPiece vocabulary with BERT's pipeline as a Hugging Face `tokenizer.json`, in Hugging Face's
    /// layout: the `BertNormalizer` as given, `BertPreTokenizer`, the WordPiece model (vocabulary in id order),
    /// its decoder with cleanup, and the vocabulary's BERT special tokens as added tokens with `[CLS] $A [SEP]`
    /// (and the pair form) around texts.
    public static func serialize(wordPiece encoder: WordPieceEncoder, normalizer: BertNormalizer) throws(TokcError) -> [UInt8] {
        let texts = encoder.tokenTexts
        let specials = WordPieceFormat.bertSpecialTokens.compactMap { text in encoder.tokens.id(of: Array(text.utf8)).map { (text, $0) } }
        var postProcessor = JSONValue.null
        if let cls = specials.first(where: { $0.0 == "[CLS]" })?.1, let sep = specials.first(where: { $0.0 == "[SEP]" })?.1 {
            func special(_ id: String, _ typeID: Int) -> JSONValue {
                .object([("SpecialToken", .object([("id", .text(id)), ("type_id", .integer(typeID))]))])
            }
            func sequence(_ id: String, _ typeID: Int) -> JSONValue {
                .object([("Sequence", .object([("id", .text(id)), ("type_id", .integer(typeID))]))])
            }
            func entry(_ text: String, _ id: TokenID) -> (key: String, value: JSONValue) {
                (text, .object([("id", .text(text)), ("ids", .array([.integer(Int(id))])), ("tokens", .array([.text(text)]))]))
            }
            postProcessor = .object([
                ("type", .text("TemplateProcessing")),
                ("single", .array([special("[CLS]", 0), sequence("A", 0), special("[SEP]", 0)])),
                ("pair", .array([special("[CLS]", 0), sequence("A", 0), special("[SEP]", 0), sequence("B", 1), special("[SEP]", 1)])),
                ("special_tokens", .object([entry("[CLS]", cls), entry("[SEP]", sep)])),
            ])
        }
        let stripAccents: JSONValue = normalizer.stripAccents == normalizer.lowercase ? .null : .bool(normalizer.stripAccents)
        return JSONValue.object([
            ("version", .text("1.0")),
            ("truncation", .null),
            ("padding", .null),
            ("added_tokens", addedTokens(specials.sorted { $0.1 < $1.1 })),
            ("normalizer", .object([
                ("type", .text("BertNormalizer")), ("clean_text", .bool(normalizer.cleanText)),
                ("handle_chinese_chars", .bool(normalizer.handleChineseCharacters)), ("strip_accents", stripAccents),
                ("lowercase", .bool(normalizer.lowercase)),
            ])),
            ("pre_tokenizer", .object([("type", .text("BertPreTokenizer"))])),
            ("post_processor", postProcessor),
            ("decoder", .object([("type", .text("WordPiece")), ("prefix", .string(encoder.prefix)), ("cleanup", .bool(true))])),
            ("model", .object([
                ("type", .text("WordPiece")), ("unk_token", .string(texts[Int(encoder.unknown)])),
                ("continuing_subword_prefix", .string(encoder.prefix)),
                ("max_input_chars_per_word", .integer(encoder.maxCharactersPerWord)),
                ("vocab", .object(texts.enumerated().map { (String(decoding: $1, as: UTF8.self), .integer($0)) })),
            ])),
        ]).serialized()
    }
}

/// Reads the parts of a `tokenizer.json`, each into tokc's part, or an error that names it.
private struct Reader {
    let path: String

    func unsupported(_ component: String, _ detail: String) -> TokcError {
        .invalidVocabulary(path: path, reason: "\(component) is not supported by this tokc: \(detail)")
    }

    /// A component's `type`.
    private func type(of node: JSONNode) -> String { node["type"]?.string ?? "none" }

    /// Whether a node is absent or null.
    private func isAbsent(_ node: JSONNode?) -> Bool { node?.isNull ?? true }

    /// The tokenizer `root` describes; a BPE model's encoder is `prebuilt` when given (built from this file before),
    /// and its vocabulary and merges are then not read.
    func tokenizer(_ root: JSONNode, name: String, encoder prebuilt: (any Encoder)? = nil) throws(TokcError) -> Tokenizer {
        guard root.isObject else { throw .malformedFile(path: path, line: 1, expected: "a JSON object (a tokenizer.json)") }
        guard let model = root["model"], model.isObject else {
            throw .malformedFile(path: path, line: 1, expected: "a 'model' object")
        }
        switch model["type"]?.string {
        case "BPE": break
        case "WordPiece": return try wordPieceTokenizer(root, model: model, name: name, prebuilt: prebuilt as? WordPieceEncoder)
        case "Unigram": return try unigramTokenizer(root, model: model, name: name)
        case let other: throw unsupported("model type '\(other ?? "none")'", "supported: BPE, WordPiece, Unigram")
        }
        let byteLevel = Self.containsByteLevel(root["pre_tokenizer"])
        let byteFallback = model["byte_fallback"]?.bool == true
        let ignoreMerges = model["ignore_merges"]?.bool == true
        // An empty prefix or suffix is no prefix or suffix (Qwen 2.5 / 3 / 3.5 and MiniMax write `""`): Hugging
        // Face prepends or appends the empty string and strips nothing when it merges.
        for key in ["continuing_subword_prefix", "end_of_word_suffix", "dropout"] where !isAbsent(model[key]) && model[key]?.string != "" {
            throw unsupported("model.\(key)", model[key]!.source)
        }
        let (specials, normalizedAdded) = try addedTokens(root)
        let encoder: any Encoder
        if let prebuilt {
            encoder = prebuilt
        } else {
            encoder = try bpeEncoder(model, specials: specials, byteLevel: byteLevel, byteFallback: byteFallback, ignoreMerges: ignoreMerges)
        }

        var normalizers = try self.normalizers(root["normalizer"])
        if !normalizers.isEmpty, let normalizedAdded {
            throw unsupported("added_tokens.normalized", "set on '\(normalizedAdded)' with a normalizer")
        }
        let (stages, metaspace) = try preTokenizer(root["pre_tokenizer"], byteLevel: byteLevel)
        if let metaspace { normalizers.append(metaspace) }
        let detokenizer = byteLevel
            ? try byteLevelDecoder(root["decoder"])
            : try textDecoder(root["decoder"], byteFallback: byteFallback, rawByteIDs: encoder.byteFallbackIDs)
        let template = try self.template(root["post_processor"])

        var tokenizer = Tokenizer(
            name: name, normalizer: Self.chain(normalizers), preTokenizer: Self.chain(stages),
            encoder: encoder, specialTokens: specials, detokenizer: detokenizer, template: template)
        tokenizer.nonSpecialAddedTokens = Self.nonSpecialAddedTokens(root)
        return tokenizer
    }

    /// The contents of the added tokens the file marks `"special": false`.
    static func nonSpecialAddedTokens(_ root: JSONNode) -> Set<String> {
        Set((root["added_tokens"]?.array ?? []).compactMap { added in added["special"]?.bool == false ? added["content"]?.string : nil })
    }

    /// A BPE model's encoder, from its vocabulary and merges.
    private func bpeEncoder(
        _ model: JSONNode, specials: [String: TokenID], byteLevel: Bool, byteFallback: Bool, ignoreMerges: Bool
    ) throws(TokcError) -> any Encoder {
        guard let vocabulary = model["vocab"]?.members else {
            throw .malformedFile(path: path, line: 1, expected: "'model.vocab', an object of token → id")
        }

        let specialBytes = Set(specials.keys.map { Array($0.utf8) })

        // The vocabulary's tokens as bytes; byte-fallback tokens apart.
        var fallbackIDs = [TokenID](repeating: MergeListBPEEncoder.noToken, count: 256)
        // Only a text vocabulary uses an unknown token; its id is picked up on the way through the vocabulary.
        let unknownText = byteLevel ? nil : model["unk_token"]?.bytes
        var unknown: TokenID? = nil
        var tokenBytes: [UInt8] = []
        var entries: [(id: TokenID, range: Range<Int>)] = []
        entries.reserveCapacity(vocabulary.count)
        for (key, value) in vocabulary {
            let text = key.bytes(in: value.document)
            guard let id = value.integer.flatMap({ TokenID(exactly: $0) }), id != MergeListBPEEncoder.noToken else {
                throw .malformedFile(path: path, line: 1, expected: "a token id for '\(String(decoding: text, as: UTF8.self))' in model.vocab, not \(value.source)")
            }
            if text == unknownText { unknown = id }
            if specialBytes.contains(text) { continue }
            let bytes: [UInt8]
            if byteLevel {
                guard let decoded = ByteLevel.bytes(ofUTF8: text), !decoded.isEmpty else {
                    throw .invalidVocabulary(path: path, reason: "model.vocab token '\(String(decoding: text, as: UTF8.self))' (id \(id)) is not byte-level text")
                }
                bytes = decoded
            } else {
                if byteFallback, let byte = ByteFallback.byte(ofToken: text) {
                    fallbackIDs[Int(byte)] = id
                    continue
                }
                guard !text.isEmpty else { throw .invalidVocabulary(path: path, reason: "model.vocab has an empty token (id \(id))") }
                bytes = text
            }
            entries.append((id, tokenBytes.count..<tokenBytes.count + bytes.count))
            tokenBytes += bytes
        }
        let table: TokenTable
        do {
            table = try TokenTable(bytes: tokenBytes, entries: entries)
        } catch {
            throw .invalidVocabulary(path: path, reason: "model.vocab cannot be indexed: \(error)")
        }

        if byteLevel {
            if byteFallback { throw unsupported("model.byte_fallback", "true in a byte-level vocabulary") }
            if ignoreMerges {
                // A piece that is a token is taken whole, and merges follow token ids: tiktoken's rule.
                guard let byRank = BPEEncoder(table: table) else {
                    throw .invalidVocabulary(path: path, reason: "byte-level BPE needs all 256 single bytes as tokens")
                }
                return byRank
            } else {
                let merges = try merges(model["merges"], table: table, byteLevel: true)
                guard let byList = MergeListBPEEncoder(table: table, merges: merges) else {
                    throw .invalidVocabulary(path: path, reason: "byte-level BPE needs all 256 single bytes as tokens")
                }
                return byList
            }
        } else {
            if ignoreMerges { throw unsupported("model.ignore_merges", "true in a vocabulary that is not byte-level") }
            if let unknownText, unknown == nil {
                throw .invalidVocabulary(path: path, reason: "model.unk_token '\(String(decoding: unknownText, as: UTF8.self))' is not in model.vocab")
            }
            guard byteFallback || unknown != nil else {
                throw unsupported("a text BPE with neither unk_token nor byte_fallback", "Hugging Face drops the characters it has no token for")
            }
            let alphabet = MergeListBPEEncoder.Alphabet.characters(
                byteFallback: byteFallback ? fallbackIDs : nil, unknown: unknown, fuseUnknown: model["fuse_unk"]?.bool == true)
            let merges = try merges(model["merges"], table: table, byteLevel: false)
            guard let byList = MergeListBPEEncoder(table: table, merges: merges, alphabet: alphabet) else {
                throw .invalidVocabulary(path: path, reason: "the vocabulary cannot be assembled")
            }
            return byList
        }
    }

    /// The normalisers as one: none is the identity, several a sequence.
    static func chain(_ normalizers: [any Normalizer]) -> any Normalizer {
        switch normalizers.count {
        case 0: return UnicodeNormalizer.identity
        case 1: return normalizers[0]
        default: return NormalizerSequence(normalizers)
        }
    }

    /// The splitting stages as one: none hands the whole text over, several run in sequence.
    static func chain(_ stages: [any PreTokenizer]) -> any PreTokenizer {
        switch stages.count {
        case 0: return WholeTextPreTokenizer()
        case 1: return stages[0]
        default: return SequencePreTokenizer(stages)
        }
    }

    /// The added tokens (tokc's special tokens), and one of them that asks to be normalised, if any.
    private func addedTokens(_ root: JSONNode) throws(TokcError) -> (tokens: [String: TokenID], normalized: String?) {
        var specials: [String: TokenID] = [:]
        var normalizedAdded: String? = nil
        for added in root["added_tokens"]?.array ?? [] {
            guard let content = added["content"]?.string, let id = added["id"]?.integer.flatMap({ TokenID(exactly: $0) }) else {
                throw .malformedFile(path: path, line: 1, expected: "added_tokens entries with 'content' and 'id'")
            }
            for flag in ["single_word", "lstrip", "rstrip"] where added[flag]?.bool == true {
                throw unsupported("added_tokens.\(flag)", "set on '\(content)'")
            }
            if added["normalized"]?.bool == true { normalizedAdded = content }
            specials[content] = id
        }
        return (specials, normalizedAdded)
    }

    /// A WordPiece vocabulary: `model.vocab` (token → id, every id below its size used once), the unknown token,
    /// the continuation prefix and the word length limit; BERT's normaliser and pre-tokenizer, the WordPiece
    /// decoder and the `[CLS] … [SEP]` template.
    private func wordPieceTokenizer(_ root: JSONNode, model: JSONNode, name: String, prebuilt: WordPieceEncoder? = nil) throws(TokcError) -> Tokenizer {
        let encoder: WordPieceEncoder
        if let prebuilt { encoder = prebuilt } else { encoder = try wordPieceEncoder(model) }
        let (specials, normalizedAdded) = try addedTokens(root)
        let normalizers = try self.normalizers(root["normalizer"])
        if !normalizers.isEmpty, let normalizedAdded {
            throw unsupported("added_tokens.normalized", "set on '\(normalizedAdded)' with a normalizer")
        }
        let (stages, metaspace) = try preTokenizer(root["pre_tokenizer"], byteLevel: false)
        guard metaspace == nil else { throw unsupported("pre_tokenizer Metaspace", "with a WordPiece model") }
        return Tokenizer(
            name: name, normalizer: Self.chain(normalizers), preTokenizer: Self.chain(stages),
            encoder: encoder, specialTokens: specials, detokenizer: try wordPieceDecoder(root["decoder"]),
            template: try template(root["post_processor"]))
    }

    /// A WordPiece model's encoder, from its vocabulary, unknown token, prefix and word length limit.
    private func wordPieceEncoder(_ model: JSONNode) throws(TokcError) -> WordPieceEncoder {
        guard let vocabulary = model["vocab"]?.members else {
            throw .malformedFile(path: path, line: 1, expected: "'model.vocab', an object of token → id")
        }
        var tokens = [[UInt8]](repeating: [], count: vocabulary.count)
        for (key, value) in vocabulary {
            let text = key.bytes(in: value.document)
            guard let id = value.integer, id >= 0, id < vocabulary.count, tokens[Int(id)].isEmpty, !text.isEmpty else {
                throw .invalidVocabulary(path: path, reason: "model.vocab gives '\(String(decoding: text, as: UTF8.self))' the id \(value.source); WordPiece ids are 0..<\(vocabulary.count), each once, for non-empty tokens")
            }
            tokens[Int(id)] = text
        }
        guard let unknownText = model["unk_token"]?.bytes else {
            throw .malformedFile(path: path, line: 1, expected: "'model.unk_token', a string")
        }
        let prefix = model["continuing_subword_prefix"]?.bytes ?? Array("##".utf8)
        let limit = model["max_input_chars_per_word"]?.integer ?? 100
        guard limit > 0, let encoder = WordPieceEncoder(tokens: tokens, unknownToken: unknownText, prefix: prefix, maxCharactersPerWord: Int(limit)) else {
            throw .invalidVocabulary(path: path, reason: "model.unk_token '\(String(decoding: unknownText, as: UTF8.self))' is not in model.vocab")
        }
        return encoder
    }

    /// A Unigram vocabulary: `model.vocab` (`[piece, score]` by id), `unk_id`, `byte_fallback`; SentencePiece's
    /// normalisation as a `Precompiled` charsmap with `Strip` and `Replace`, `Metaspace` to mark and split
    /// words, and the `Metaspace` (or `Replace`/`ByteFallback`/`Fuse`/`Strip`) decoder. Encoded by Hugging
    /// Face's rules (`UnigramEncoder.Reading.huggingFace`).
    private func unigramTokenizer(_ root: JSONNode, model: JSONNode, name: String) throws(TokcError) -> Tokenizer {
        guard let entries = model["vocab"]?.array, !entries.isEmpty else {
            throw .malformedFile(path: path, line: 1, expected: "'model.vocab', a non-empty list of [piece, score]")
        }
        var vocabulary: [(text: [UInt8], score: Double)] = []
        vocabulary.reserveCapacity(entries.count)
        for (id, entry) in entries.enumerated() {
            guard let pair = entry.array, pair.count == 2, let text = pair[0].bytes, let score = pair[1].serdeNumber, score.isFinite else {
                throw .malformedFile(path: path, line: 1, expected: "model.vocab[\(id)] as [piece, score], not \(entry.source)")
            }
            vocabulary.append((text, score))
        }
        guard let unknownID = model["unk_id"]?.integer else {
            throw unsupported("a Unigram model without unk_id", "Hugging Face fails on any character the pieces do not cover; tokc needs the unknown piece")
        }
        guard unknownID >= 0, unknownID < vocabulary.count else {
            throw .invalidVocabulary(path: path, reason: "model.unk_id \(unknownID) is not an id of model.vocab (0..<\(vocabulary.count))")
        }
        let byteFallback = model["byte_fallback"]?.bool == true
        let encoder = UnigramEncoder(huggingFaceVocabulary: vocabulary, unknown: TokenID(unknownID), byteFallback: byteFallback)
        let (specials, normalizedAdded) = try addedTokens(root)
        var normalizers = try self.normalizers(root["normalizer"])
        if !normalizers.isEmpty, let normalizedAdded {
            throw unsupported("added_tokens.normalized", "set on '\(normalizedAdded)' with a normalizer")
        }
        let (stages, metaspace) = try preTokenizer(root["pre_tokenizer"], byteLevel: false)
        if let metaspace { normalizers.append(metaspace) }
        return Tokenizer(
            name: name, normalizer: Self.chain(normalizers), preTokenizer: Self.chain(stages), encoder: encoder,
            specialTokens: specials,
            detokenizer: try textDecoder(root["decoder"], byteFallback: byteFallback, rawByteIDs: encoder.byteFallbackIDs),
            template: try template(root["post_processor"]))
    }

    /// `WordPiece`'s decoder; a missing one joins tokens with spaces, as Hugging Face does without a decoder.
    private func wordPieceDecoder(_ node: JSONNode?) throws(TokcError) -> Detokenizer {
        guard let node, node.isObject else { return Detokenizer(wordPiece: ([], false)) }
        guard type(of: node) == "WordPiece" else {
            throw unsupported("decoder '\(type(of: node))' with a WordPiece model", "supported: WordPiece")
        }
        return .wordPiece(prefix: node["prefix"]?.bytes ?? Array("##".utf8), cleanup: node["cleanup"]?.bool ?? true)
    }

    /// The merge list as ids: `"a b"` strings or `["a", "b"]` pairs of tokens.
    private func merges(
        _ value: JSONNode?, table: TokenTable, byteLevel: Bool
    ) throws(TokcError) -> [(left: TokenID, right: TokenID, merged: TokenID)] {
        guard let list = value?.array else {
            throw .malformedFile(path: path, line: 1, expected: "'model.merges', a list")
        }
        var result: [(left: TokenID, right: TokenID, merged: TokenID)] = []
        result.reserveCapacity(list.count)
        var buffer: [UInt8] = []
        for (index, item) in list.enumerated() {
            var pair: [[UInt8]] = []
            if let text = item.bytes {
                pair = text.split(separator: 0x20, omittingEmptySubsequences: false).map(Array.init)
            } else if let parts = item.array {
                pair = parts.compactMap(\.bytes)
                if pair.count != parts.count { pair = [] }
            }
            guard pair.count == 2,
                  let ids = MergeListBPEEncoder.mergeIDs(left: pair[0], right: pair[1], byteLevel: byteLevel, table: table, buffer: &buffer)
            else {
                throw .invalidVocabulary(path: path, reason: "model.merges[\(index)] \(item.source) is not two tokens whose concatenation is a token")
            }
            result.append(ids)
        }
        return result
    }

    /// Whether a pre-tokenizer is or contains `ByteLevel`: what makes a vocabulary byte-level.
    static func containsByteLevel(_ node: JSONNode?) -> Bool {
        guard let node, node.isObject else { return false }
        if node["type"]?.string == "ByteLevel" { return true }
        return (node["pretokenizers"]?.array ?? []).contains(where: containsByteLevel)
    }

    /// A literal string in a `Replace` pattern (`{"String": …}`); regex patterns are not literal.
    private func literalPattern(_ node: JSONNode?, in component: String) throws(TokcError) -> [UInt8] {
        guard let literal = node?["String"]?.bytes, !literal.isEmpty else {
            throw unsupported("\(component) with pattern \(node?.source ?? "none")", "supported: a non-empty String pattern")
        }
        return literal
    }

    /// The normalisers in order (a `Sequence` flattened); empty for none.
    func normalizers(_ node: JSONNode?) throws(TokcError) -> [any Normalizer] {
        guard let node, node.isObject else { return [] }
        switch type(of: node) {
        // Hugging Face normalises with Unicode 9.0's tables (checked: it reorders a 9.0 combining mark, and
        // leaves a 10.0 one where it is), which ICU runs filtered to the characters 9.0 had.
        case "NFC": return [UnicodeNormalizer.nfcUnicode9]
        case "NFD": return [UnicodeNormalizer.nfdUnicode9]
        case "NFKC": return [UnicodeNormalizer.nfkcUnicode9]
        case "NFKD": return [UnicodeNormalizer.nfkdUnicode9]
        case "Lowercase": return [CharacterLowercase()]
        case "BertNormalizer":
            let lowercase = node["lowercase"]?.bool ?? true
            return [BertNormalizer(
                cleanText: node["clean_text"]?.bool ?? true, handleChineseCharacters: node["handle_chinese_chars"]?.bool ?? true,
                stripAccents: node["strip_accents"]?.bool, lowercase: lowercase)]
        case "Prepend":
            guard let prefix = node["prepend"]?.bytes else { throw unsupported("normalizer Prepend without 'prepend'", "it needs the prefix") }
            return [PrependNormalizer(prefix: prefix)]
        case "Replace":
            guard let content = node["content"]?.bytes else { throw unsupported("normalizer Replace without 'content'", "it needs the replacement") }
            if let regex = node["pattern"]?["Regex"]?.string {
                return [try RegexReplaceNormalizer(pattern: regex, replacement: content)]
            }
            let pattern = try literalPattern(node["pattern"], in: "normalizer Replace")
            return [ReplaceNormalizer(pattern: pattern, replacement: content)]
        case "Strip":
            return [StripNormalizer(left: node["strip_left"]?.bool ?? true, right: node["strip_right"]?.bool ?? true)]
        case "Precompiled":
            var blob: [UInt8] = []
            let text = node["precompiled_charsmap"]?.bytes ?? []
            guard text.withUnsafeBufferPointer({ Base64.decode($0, appendingTo: &blob) }) else {
                throw .invalidVocabulary(path: path, reason: "normalizer Precompiled: precompiled_charsmap is not base64")
            }
            guard let precompiled = PrecompiledNormalizer(charsMap: blob) else {
                throw .invalidVocabulary(path: path, reason: "normalizer Precompiled: precompiled_charsmap is not a charsmap (\(blob.count) bytes; its trie size runs past its end)")
            }
            return [precompiled]
        case "Sequence":
            var result: [any Normalizer] = []
            for part in node["normalizers"]?.array ?? [] { result += try normalizers(part) }
            return result
        case let other:
            throw unsupported("normalizer '\(other)'", "supported: NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Strip, Precompiled, BertNormalizer, Sequence")
        }
    }

    /// The splitting stages, and for `Metaspace` the normaliser that does its rewriting (tokc's pre-tokenizers
    /// only cut text; they never change it).
    func preTokenizer(_ node: JSONNode?, byteLevel: Bool) throws(TokcError) -> (stages: [any PreTokenizer], metaspace: (any Normalizer)?) {
        guard let node, node.isObject else {
            if byteLevel { throw unsupported("a missing pre_tokenizer", "byte-level BPE needs one") }
            return ([], nil)
        }
        let parts = type(of: node) == "Sequence" ? node["pretokenizers"]?.array ?? [] : [node]
        var stages: [any PreTokenizer] = []
        var metaspace: (any Normalizer)? = nil
        for (index, part) in parts.enumerated() {
            switch type(of: part) {
            case "Split":
                guard let regex = part["pattern"]?["Regex"]?.string else {
                    throw unsupported("Split with a String pattern", "supported: a Regex pattern")
                }
                // Isolated keeps matches and the text between them as pieces; Removed with invert keeps the
                // matches and drops the rest (invert makes the matches the kept parts).
                let behavior = (part["behavior"]?.string ?? "?", part["invert"]?.bool == true)
                guard behavior == ("Isolated", false) || behavior == ("Removed", true) else {
                    throw unsupported("Split behavior '\(behavior.0)'\(behavior.1 ? " inverted" : "")", "supported: Isolated, or Removed inverted")
                }
                stages.append(try RegexPreTokenizer(pattern: regex, keepsUnmatched: behavior.0 == "Isolated"))
            case "ByteLevel" where index == parts.count - 1:
                guard part["add_prefix_space"]?.bool != true else { throw unsupported("ByteLevel.add_prefix_space", "true") }
                if part["use_regex"]?.bool != false {
                    guard stages.isEmpty else { throw unsupported("ByteLevel with its own regex after Split", "supported: use_regex false there") }
                    stages.append(try RegexPreTokenizer(pattern: RegexPreTokenizer.Named.gpt2.pattern))
                } else if stages.isEmpty {
                    throw unsupported("ByteLevel without regex alone", "nothing splits the text")
                }
            case "BertPreTokenizer" where !byteLevel:
                stages.append(BertPreTokenizer())
            case "Metaspace" where parts.count == 1 && !byteLevel:
                guard let replacement = part["replacement"]?.string, replacement.unicodeScalars.count == 1 else {
                    throw unsupported("Metaspace with replacement \(part["replacement"]?.source ?? "none")", "supported: one character")
                }
                metaspace = MetaspaceNormalizer(replacement: Array(replacement.utf8), prependScheme: try prependScheme(part))
                if part["split"]?.bool != false { stages.append(MetaspacePreTokenizer(replacement: Array(replacement.utf8))) }
            case let other:
                let sequence = parts.map { type(of: $0) }.joined(separator: ", ")
                throw unsupported("pre_tokenizer '\(other)' in [\(sequence)]", "supported: ByteLevel, Split… then ByteLevel, Metaspace alone, or BertPreTokenizer")
            }
        }
        return (stages, metaspace)
    }

    /// `prepend_scheme`, or the older `add_prefix_space`.
    private func prependScheme(_ node: JSONNode) throws(TokcError) -> MetaspaceNormalizer.PrependScheme {
        if let text = node["prepend_scheme"]?.string {
            guard let scheme = MetaspaceNormalizer.PrependScheme(rawValue: text) else {
                throw unsupported("Metaspace prepend_scheme '\(text)'", "supported: always, first, never")
            }
            return scheme
        }
        return node["add_prefix_space"]?.bool == false ? .never : .always
    }

    /// Byte-level vocabularies decode their bytes as they are: the decoder must be ByteLevel (or absent).
    func byteLevelDecoder(_ node: JSONNode?) throws(TokcError) -> Detokenizer {
        try checkByteLevelOnly(node, component: "decoder")
        return .none
    }

    /// The decoder chain of a SentencePiece-style vocabulary as a `Detokenizer`.
    func textDecoder(_ node: JSONNode?, byteFallback: Bool, rawByteIDs: Set<TokenID>) throws(TokcError) -> Detokenizer {
        guard let node, node.isObject else {
            throw unsupported("a missing decoder", "a vocabulary that is not byte-level needs one to turn tokens back into text")
        }
        let steps = type(of: node) == "Sequence" ? node["decoders"]?.array ?? [] : [node]
        var detokenizer = Detokenizer(rawByteIDs: rawByteIDs)
        var fused = false
        var seenByteFallback = false
        for step in steps {
            switch type(of: step) {
            case "Replace" where detokenizer.replacement == nil && !seenByteFallback && !fused:
                let pattern = try literalPattern(step["pattern"], in: "decoder Replace")
                guard let content = step["content"]?.bytes else { throw unsupported("decoder Replace without 'content'", "it needs the replacement") }
                detokenizer.replacement = (pattern, content)
            case "Metaspace" where detokenizer.replacement == nil && !fused:
                guard let replacement = step["replacement"]?.bytes, !replacement.isEmpty else {
                    throw unsupported("decoder Metaspace without a replacement", "it needs the character")
                }
                detokenizer.replacement = (replacement, [0x20])
                detokenizer.dropsReplacementInFirstToken = try prependScheme(step) != .never
            case "ByteFallback" where byteFallback && !fused:
                seenByteFallback = true
            case "Fuse":
                fused = true
            case "Strip" where fused && step["content"]?.string == " ":
                detokenizer.stripLeadingSpaces += Int(step["start"]?.integer ?? 0)
                detokenizer.stripTrailingSpaces += Int(step["stop"]?.integer ?? 0)
            case let other:
                let chain = steps.map { type(of: $0) }.joined(separator: ", ")
                throw unsupported("decoder '\(other)' in [\(chain)]",
                                  "supported: Replace, ByteFallback (with model.byte_fallback), Fuse, then Strip of spaces; or Metaspace")
            }
        }
        if byteFallback && !seenByteFallback {
            throw unsupported("model.byte_fallback without a ByteFallback decoder", "its <0xNN> tokens would decode as their names")
        }
        return detokenizer
    }

    /// The post-processor's tokens around a single sequence: `TemplateProcessing`'s `single` template.
    /// `ByteLevel` post-processing only moves offsets, which tokc does not report.
    func template(_ node: JSONNode?) throws(TokcError) -> TokenTemplate {
        guard let node, node.isObject else { return .none }
        switch type(of: node) {
        case "ByteLevel": return .none
        case "Sequence":
            var result = TokenTemplate.none
            for part in node["processors"]?.array ?? [] {
                let template = try template(part)
                guard result.isEmpty || template.isEmpty else { throw unsupported("post_processor Sequence with two templates", "supported: one") }
                if !template.isEmpty { result = template }
            }
            return result
        case "TemplateProcessing":
            guard let single = node["single"]?.array else {
                throw unsupported("TemplateProcessing without a 'single' list", "it needs the single-sequence template")
            }
            var result = TokenTemplate.none
            var seenSequence = false
            for item in single {
                if let sequence = item["Sequence"] {
                    guard !seenSequence, sequence["id"]?.string == "A" else {
                        throw unsupported("TemplateProcessing single template item \(item.source)", "supported: one $A")
                    }
                    seenSequence = true
                } else if let name = item["SpecialToken"]?["id"]?.string {
                    let ids = node["special_tokens"]?[name]?["ids"]?.array ?? []
                    let tokenIDs = ids.compactMap { $0.integer.flatMap { TokenID(exactly: $0) } }
                    guard !ids.isEmpty, tokenIDs.count == ids.count else {
                        throw .invalidVocabulary(path: path, reason: "TemplateProcessing names '\(name)', which its special_tokens do not give ids for")
                    }
                    if seenSequence { result.suffix += tokenIDs } else { result.prefix += tokenIDs }
                } else {
                    throw unsupported("TemplateProcessing item \(item.source)", "supported: SpecialToken and Sequence")
                }
            }
            guard seenSequence else { throw unsupported("TemplateProcessing single template without $A", "the text must be in it") }
            return result
        case let other:
            throw unsupported("post_processor '\(other)'", "supported: ByteLevel, TemplateProcessing, Sequence")
        }
    }

    func checkByteLevelOnly(_ node: JSONNode?, component: String) throws(TokcError) {
        guard let node, node.isObject else { return }
        switch type(of: node) {
        case "ByteLevel": return
        case "Sequence":
            for part in (node["processors"] ?? node["decoders"])?.array ?? [] {
                try checkByteLevelOnly(part, component: component)
            }
        case let other:
            throw unsupported("\(component) '\(other)'", "supported: ByteLevel, or a Sequence of ByteLevel")
        }
    }
}

/// GPT-2's byte-level alphabet: each byte is written as one printable character (`Ġ` for a space), so
/// byte-level tokens can be JSON strings.
enum ByteLevel {
    /// Character → byte.
    static let byteOfCharacter: [Unicode.Scalar: UInt8] = {
        let printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        var map: [Unicode.Scalar: UInt8] = [:]
        for byte in printable { map[Unicode.Scalar(UInt32(byte))!] = UInt8(byte) }
        var next: UInt32 = 256
        for byte in 0...255 where !printable.contains(byte) {
            map[Unicode.Scalar(next)!] = UInt8(byte)
            next += 1
        }
        return map
    }()

    /// Byte → character.
    static let characterOfByte: [Unicode.Scalar] = {
        var result = [Unicode.Scalar](repeating: " ", count: 256)
        for (character, byte) in byteOfCharacter { result[Int(byte)] = character }
        return result
    }()

    /// The byte-level text of token bytes.
    static func text(of bytes: [UInt8]) -> String {
        var text = String.UnicodeScalarView()
        for byte in bytes { text.append(characterOfByte[Int(byte)]) }
        return String(text)
    }

    /// The bytes a byte-level token string stands for; nil if a character is outside the alphabet.
    static func bytes(of text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { bytes(ofUTF8: $0) }
    }

    /// The same from the text's UTF-8, without making a `String`: every character of the alphabet is below
    /// U+0144, so one or two bytes, and a table indexed by code point gives its byte. A vocabulary's load
    /// decodes every token and both halves of every merge (Llama 3's GGUF: 128,256 and 2 × 280,147); through a
    /// `Dictionary<Unicode.Scalar, UInt8>` that hashing was a sixth of the load (perf).
    static func bytes(ofUTF8 text: some Collection<UInt8>) -> [UInt8]? {
        var result: [UInt8] = []
        result.reserveCapacity(text.count)
        return append(utf8: text, to: &result) ? result : nil
    }

    /// Appends the bytes `text` (byte-level UTF-8) stands for; false, with `output` partly written, if a
    /// character is outside the alphabet or the UTF-8 is not of one- or two-byte characters.
    static func append(utf8 text: some Collection<UInt8>, to output: inout [UInt8]) -> Bool {
        var iterator = text.makeIterator()
        while let first = iterator.next() {
            let value: Int
            if first < 0x80 {
                value = Int(first)
            } else if first & 0xE0 == 0xC0, let second = iterator.next(), second & 0xC0 == 0x80 {
                value = Int(first & 0x1F) << 6 | Int(second & 0x3F)
            } else {
                return false
            }
            guard value < byteOfCodePoint.count, byteOfCodePoint[value] >= 0 else { return false }
            output.append(UInt8(truncatingIfNeeded: byteOfCodePoint[value]))
        }
        return true
    }

    /// Code point (below U+0144) → byte, -1 for a code point outside the alphabet (and for overlong UTF-8,
    /// which decodes to a code point below 0x80 from two bytes: those are refused by the range check above
    /// only where the table says -1, which it does for U+0000–U+0020 and U+007F).
    private static let byteOfCodePoint: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (character, byte) in byteOfCharacter { table[Int(character.value)] = Int16(byte) }
        return table
    }()
}
