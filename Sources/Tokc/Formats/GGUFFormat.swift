/// The tokenizer a GGUF file's metadata describes (`tokenizer.ggml.*`), assembled to give llama.cpp's ids: its
/// `src/llama-vocab.cpp` is the specification, since llama.cpp is what runs the model.
///
/// - `gpt2`: byte-level BPE ranked by `tokenizer.ggml.merges`, split by the regexes of `tokenizer.ggml.pre`
///   (`GGUFPreTokenizer`); tokens are GPT-2's byte-to-character spelling.
/// - `llama`: SentencePiece-style BPE over `tokenizer.ggml.scores` (the highest-scoring pair first), spaces as
///   `▁`, a `▁` in front of every stretch of text (`add_space_prefix`, on unless the file says otherwise),
///   `<0xNN>` byte fallback.
/// - `bert`: WordPiece over BERT's clean-up and split; llama.cpp stores word-initial tokens with a `▁` in front and
///   continuations bare, which tokc reads back as BERT's bare and `##` tokens.
/// - `t5`: Unigram with the file's `precompiled_charsmap`, as SentencePiece's Unigram.
/// - `gemma4`: BPE ranked by its merges over raw UTF-8 with spaces as `▁`, lines apart, `<0xNN>` byte fallback.
///
/// Control, user-defined and unknown tokens are special tokens: matched in text only where the caller allows
/// (llama.cpp's `parse_special`; it always matches user-defined ones, which callers get with
/// `allowedSpecial: .only(userDefined)`). `add_bos`/`add_eos` (`add_sep` for BERT) become the template.
/// A `model` or `pre` value tokc does not know is an error naming the values it knows.
public enum GGUFFormat {
    /// The `tokenizer.ggml.model` values tokc assembles.
    static let knownModels = ["gpt2", "llama", "bert", "t5", "gemma4"]

    /// llama.cpp's token types (`tokenizer.ggml.token_type`).
    enum TokenType: Int64 {
        case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6

        var isSpecial: Bool { self == .control || self == .userDefined || self == .unknown }
    }

    /// Token texts llama.cpp treats as ending generation, which it makes control tokens whatever the file says.
    static let endOfGeneration: Set<String> = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
        "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>",
        "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[",
    ]

    /// Texts llama.cpp looks for when the file names no id for a role (end of turn, the fill-in-the-middle parts,
    /// end of message), in the order of the id keys in `Vocabulary.tokenTypes`; the one it finds becomes control.
    static let roleTexts: [Set<String>] = [
        ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]",
         "<｜end▁of▁sentence｜>", "<end_of_utterance>"],
        ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"],
        ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"],
        ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"],
        ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"],
        ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"],
        ["<|file_sep|>"],
        ["<|eom_id|>"],
    ]

    public static func load(_ metadata: GGUFMetadata, name: String, path: String) throws(TokcError) -> Tokenizer {
        try tokenizer(try Vocabulary(metadata, path: path), name: name)
    }

    /// The tokenizer, and for the models whose encoder has a compiled form (`gpt2`, `gemma4`) what it is besides
    /// that encoder (`pipelineSource`), to be stored with it.
    static func loadCompilable(_ metadata: GGUFMetadata, name: String, path: String) throws(TokcError) -> (tokenizer: Tokenizer, pipeline: [UInt8]?) {
        let vocabulary = try Vocabulary(metadata, path: path)
        let tokenizer = try tokenizer(vocabulary, name: name)
        return (tokenizer, pipelineSource(of: tokenizer, model: vocabulary.model, pre: vocabulary.pre))
    }

    private static func tokenizer(_ vocabulary: Vocabulary, name: String) throws(TokcError) -> Tokenizer {
        var tokenizer = try modelTokenizer(vocabulary, name: name)
        tokenizer.nonSpecialAddedTokens = vocabulary.userDefinedTokens
        return tokenizer
    }

    private static func modelTokenizer(_ vocabulary: Vocabulary, name: String) throws(TokcError) -> Tokenizer {
        switch vocabulary.model {
        case "gpt2": return try byteLevelBPE(vocabulary, name: name)
        case "llama": return try sentencePiece(vocabulary, modelType: .bpe, name: name)
        case "t5": return try sentencePiece(vocabulary, modelType: .unigram, name: name)
        case "bert": return try wordPiece(vocabulary, name: name)
        case "gemma4": return try gemma4(vocabulary, name: name)
        default:
            throw .invalidVocabulary(path: vocabulary.path, reason: "a GGUF tokenizer.ggml.model '\(vocabulary.model)', which tokc does not know (it knows \(knownModels.joined(separator: ", ")))")
        }
    }

    /// The user-defined tokens of a GGUF tokenizer loaded by `load`: the ones llama.cpp matches in text even
    /// when it parses no special tokens.
    public static func userDefinedTokens(_ metadata: GGUFMetadata, path: String) throws(TokcError) -> Set<String> {
        try Vocabulary(metadata, path: path).userDefinedTokens
    }

    // MARK: - The metadata tokc reads

    struct Vocabulary {
        let path: String
        let model: String
        let pre: String?
        let tokens: [[UInt8]]
        let types: [TokenType]
        let scores: [Double]
        let merges: [[UInt8]]
        let metadata: GGUFMetadata

        init(_ metadata: GGUFMetadata, path: String) throws(TokcError) {
            self.path = path
            self.metadata = metadata
            func invalid(_ reason: String) -> TokcError { Self.invalid(reason, path: path) }
            guard case let .string(model)? = metadata["tokenizer.ggml.model"] else {
                throw invalid("file without tokenizer.ggml.model: it holds no tokenizer")
            }
            self.model = String(decoding: model, as: UTF8.self)
            if case let .string(pre)? = metadata["tokenizer.ggml.pre"] { self.pre = String(decoding: pre, as: UTF8.self) } else { pre = nil }
            guard case let .strings(tokens)? = metadata["tokenizer.ggml.tokens"], !tokens.isEmpty else {
                throw invalid("tokenizer.ggml.tokens: expected a non-empty array of strings")
            }
            self.tokens = tokens
            switch metadata["tokenizer.ggml.token_type"] {
            case nil:
                types = Array(repeating: .normal, count: tokens.count)
            case let .signedArray(values)? where values.count >= tokens.count:
                types = values.prefix(tokens.count).map { TokenType(rawValue: $0) ?? .undefined }
            default:
                throw invalid("tokenizer.ggml.token_type: expected an array of \(tokens.count) integers")
            }
            switch metadata["tokenizer.ggml.scores"] {
            case nil:
                scores = Array(repeating: 0, count: tokens.count)
            case let .floatArray(values)? where values.count >= tokens.count:
                scores = Array(values.prefix(tokens.count))
            case let .signedArray(values)? where values.count >= tokens.count:
                scores = values.prefix(tokens.count).map(Double.init)
            default:
                throw invalid("tokenizer.ggml.scores: expected an array of \(tokens.count) numbers")
            }
            switch metadata["tokenizer.ggml.merges"] {
            case nil: merges = []
            case let .strings(values)?: merges = values
            default: throw invalid("tokenizer.ggml.merges: expected an array of strings")
            }
            tokenTypes = adjustedTypes()
        }

        func flag(_ key: String) -> Bool? {
            if case let .bool(value)? = metadata["tokenizer.ggml." + key] { return value }
            return nil
        }

        /// A special id the file sets, if it is in range (llama.cpp ignores one that is not).
        func id(_ key: String) -> TokenID? {
            switch metadata["tokenizer.ggml." + key] {
            case let .unsigned(value)? where value < UInt64(tokens.count): return TokenID(value)
            case let .signed(value)? where value >= 0 && value < Int64(tokens.count): return TokenID(value)
            default: return nil
            }
        }

        func text(_ id: Int) -> String { String(decoding: tokens[id], as: UTF8.self) }

        /// Control, user-defined and unknown tokens by their text (llama.cpp's special-token cache), after the
        /// changes llama.cpp makes to the file's types (`tokenTypes`).
        var specialTokens: [String: TokenID] {
            var result: [String: TokenID] = [:]
            for (id, type) in tokenTypes.enumerated() where type.isSpecial {
                if !tokens[id].isEmpty { result[text(id)] = TokenID(id) }
            }
            return result
        }

        /// The user-defined tokens: those llama.cpp matches in text even when it parses no special tokens.
        var userDefinedTokens: Set<String> {
            Set(tokenTypes.indices.filter { tokenTypes[$0] == .userDefined }.map(text))
        }

        /// The token types as llama.cpp uses them: the file's, with tokens whose text marks an end of turn, a
        /// fill-in-the-middle part or an end of generation made control tokens (when the file does not name the
        /// id), gpt-oss's `<|channel|>` `<|message|>` `<|start|>` `<|constrain|>` user-defined, and Gemma 4's `</s>`
        /// ordinary.
        private(set) var tokenTypes: [TokenType] = []

        private func adjustedTypes() -> [TokenType] {
            var result = types
            let idKeys = ["eot_token_id", "fim_pre_token_id", "fim_suf_token_id", "fim_mid_token_id", "fim_pad_token_id",
                          "fim_rep_token_id", "fim_sep_token_id", "eom_token_id"]
            var controlLooking = GGUFFormat.endOfGeneration
            for (key, texts) in zip(idKeys, GGUFFormat.roleTexts) where id(key) == nil { controlLooking.formUnion(texts) }
            let hasToolResponse = tokens.contains { $0.elementsEqual("<|tool_response>".utf8) }
            // Every text looked for starts with `<`, `[`, `_` or `▁` (E2): the other tokens are skipped unread.
            for id in tokens.indices {
                guard let first = tokens[id].first, first == 0x3C || first == 0x5B || first == 0x5F || first == 0xE2 else { continue }
                let token = text(id)
                if controlLooking.contains(token) && result[id] != .control { result[id] = .control }
                if ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"].contains(token) { result[id] = .userDefined }
                if hasToolResponse && token == "</s>" { result[id] = .normal }
            }
            return result
        }

        /// `add_bos`/`add_eos` with llama.cpp's defaults for the model.
        func template(addsBOSByDefault: Bool, addsEOSByDefault: Bool, bos: TokenID?, eos: TokenID?) -> TokenTemplate {
            let prefix = (flag("add_bos_token") ?? addsBOSByDefault) ? bos.map { [$0] } ?? [] : []
            let suffix = (flag("add_eos_token") ?? addsEOSByDefault) ? eos.map { [$0] } ?? [] : []
            return TokenTemplate(prefix: prefix, suffix: suffix)
        }

        func invalid(_ reason: String) -> TokcError { Self.invalid(reason, path: path) }

        static func invalid(_ reason: String, path: String) -> TokcError { .invalidVocabulary(path: path, reason: "GGUF " + reason) }
    }

    // MARK: - Assembly per model

    private static func byteLevelBPE(_ vocabulary: Vocabulary, name: String) throws(TokcError) -> Tokenizer {
        guard let pre = GGUFPreTokenizer.named(vocabulary.pre) else {
            throw vocabulary.invalid("tokenizer.ggml.pre '\(vocabulary.pre ?? "")', which tokc does not know (it knows \(GGUFPreTokenizer.knownNames.joined(separator: ", ")))")
        }
        // Every token in GPT-2's spelling, decoded to its bytes: llama.cpp looks merged pieces up among all of
        // them. User-defined tokens are stored as plain text (a space is a space) and mostly fail to decode;
        // they are special tokens, matched in text, as are control ones.
        var entries: [(id: TokenID, bytes: [UInt8])] = []
        entries.reserveCapacity(vocabulary.tokens.count)
        for id in vocabulary.tokens.indices {
            if let bytes = ByteLevel.bytes(ofUTF8: vocabulary.tokens[id]), !bytes.isEmpty { entries.append((TokenID(id), bytes)) }
        }
        let table = try tokenTable(entries, vocabulary)
        let merges = try resolvedMerges(vocabulary, table: table, byteLevel: true)
        // A byte without a token (bytes UTF-8 never uses; some control characters in Falcon's) is dropped, as
        // llama.cpp drops it.
        let byteIDs = table.singleByteIDs(missing: MergeListBPEEncoder.noToken)
        guard var encoder = MergeListBPEEncoder(table: table, merges: merges, alphabet: .bytes(ids: byteIDs)) else {
            throw vocabulary.invalid("byte-level BPE cannot be assembled")
        }
        if pre.ignoresMerges { encoder.wholePieces = .always }
        let bos = vocabulary.id("bos_token_id") ?? 11, eos = vocabulary.id("eos_token_id") ?? 11
        return try byteLevelBPE(
            pre: pre, encoder: encoder, specialTokens: vocabulary.specialTokens,
            template: vocabulary.template(addsBOSByDefault: pre.addsBOS, addsEOSByDefault: false, bos: bos, eos: eos), name: name)
    }

    private static func byteLevelBPE(
        pre: GGUFPreTokenizer, encoder: any Encoder, specialTokens: [String: TokenID], template: TokenTemplate, name: String
    ) throws(TokcError) -> Tokenizer {
        Tokenizer(
            name: name, normalizer: UnicodeNormalizer.identity, preTokenizer: try pre.stages(), encoder: encoder,
            specialTokens: specialTokens, template: template)
    }

    /// `llama` (BPE by score) and `t5` (Unigram): the metadata as a SentencePiece model, which tokc encodes as
    /// SentencePiece does.
    private static func sentencePiece(
        _ vocabulary: Vocabulary, modelType: SentencePieceModel.ModelType, name: String
    ) throws(TokcError) -> Tokenizer {
        let model = try sentencePieceModel(vocabulary, modelType: modelType)
        let bos = vocabulary.id("bos_token_id") ?? (modelType == .bpe ? 1 : nil)
        let eos = vocabulary.id("eos_token_id") ?? (modelType == .bpe ? 2 : 1)
        return try sentencePiece(
            model, encoder: nil, specialTokens: vocabulary.specialTokens,
            template: vocabulary.template(addsBOSByDefault: modelType == .bpe, addsEOSByDefault: modelType == .unigram, bos: bos, eos: eos),
            name: name, path: vocabulary.path)
    }

    private static func sentencePiece(
        _ model: SentencePieceModel, encoder: (any Encoder)?, specialTokens: [String: TokenID], template: TokenTemplate,
        name: String, path: String
    ) throws(TokcError) -> Tokenizer {
        let base = try SentencePieceFormat.tokenizer(model, name: name, path: path, encoder: encoder)
        return sentencePiece(base, specialTokens: specialTokens, template: template, name: name)
    }

    /// The same from the parts stored in the compiled cache (`CompiledSentencePiece`) and the encoder.
    private static func sentencePiece(
        _ parts: SentencePieceFormat.Parts, encoder: any Encoder, specialTokens: [String: TokenID], template: TokenTemplate, name: String
    ) -> Tokenizer {
        sentencePiece(SentencePieceFormat.tokenizer(parts, encoder: encoder, name: name), specialTokens: specialTokens, template: template, name: name)
    }

    /// `base`, a SentencePiece model's tokenizer, with the GGUF's special tokens and template.
    private static func sentencePiece(_ base: Tokenizer, specialTokens: [String: TokenID], template: TokenTemplate, name: String) -> Tokenizer {
        Tokenizer(
            name: name, normalizer: base.normalizer, preTokenizer: base.preTokenizer, encoder: base.encoder,
            specialTokens: specialTokens, detokenizer: base.detokenizer, template: template)
    }

    private static func sentencePieceModel(
        _ vocabulary: Vocabulary, modelType: SentencePieceModel.ModelType
    ) throws(TokcError) -> SentencePieceModel {
        var model = SentencePieceModel()
        model.modelType = modelType
        model.vocabularySize = vocabulary.tokens.count
        model.pieces = vocabulary.tokens.indices.map { id in
            let type: SentencePieceModel.PieceType = switch vocabulary.types[id] {
            case .unknown: .unknown
            case .control: .control
            case .userDefined: .userDefined
            case .unused: .unused
            case .byte: .byte
            case .normal, .undefined: .normal
            }
            return SentencePieceModel.Piece(text: vocabulary.tokens[id], score: Float(vocabulary.scores[id]), type: type)
        }
        model.byteFallback = vocabulary.types.contains(.byte)
        model.unknownID = Int(vocabulary.id("unknown_token_id") ?? (modelType == .bpe ? 0 : 2))
        if modelType == .unigram {
            var charsMap: [UInt8] = []
            switch vocabulary.metadata["tokenizer.ggml.precompiled_charsmap"] {
            case nil: break
            case let .unsignedArray(values)?: charsMap = values.map { UInt8(truncatingIfNeeded: $0) }
            case let .signedArray(values)?: charsMap = values.map { UInt8(truncatingIfNeeded: $0) }
            default: throw vocabulary.invalid("tokenizer.ggml.precompiled_charsmap: expected an array of bytes")
            }
            model.normalization.precompiledCharsMap = charsMap
            model.normalization.addDummyPrefix = vocabulary.flag("add_space_prefix") ?? false
            model.normalization.removeExtraWhitespaces = vocabulary.flag("remove_extra_whitespaces") ?? false
        } else {
            // llama.cpp rewrites nothing for `llama` but spaces, and puts one in front unless told not to.
            model.normalization.addDummyPrefix = vocabulary.flag("add_space_prefix") ?? true
            model.normalization.removeExtraWhitespaces = false
        }
        model.normalization.escapeWhitespaces = true
        return model
    }

    /// `bert`: llama.cpp's vocabulary marks a word's first token with `▁` and leaves continuations bare; BERT's
    /// spelling is the reverse (bare first, `##` continuation), which tokc's WordPiece reads.
    private static func wordPiece(_ vocabulary: Vocabulary, name: String) throws(TokcError) -> Tokenizer {
        let phantomSpace = MetaspaceNormalizer.lowLine
        let prefix = Array("##".utf8)
        var tokens: [[UInt8]] = []
        tokens.reserveCapacity(vocabulary.tokens.count)
        for (id, token) in vocabulary.tokens.enumerated() {
            if vocabulary.types[id].isSpecial {
                tokens.append(token)
            } else if token.starts(with: phantomSpace) {
                tokens.append(Array(token.dropFirst(phantomSpace.count)))
            } else {
                tokens.append(prefix + token)
            }
        }
        guard let unknown = vocabulary.id("unknown_token_id") ?? (vocabulary.tokens.count > 100 ? 100 : nil),
              let encoder = WordPieceEncoder(tokens: tokens, unknownToken: tokens[Int(unknown)], prefix: prefix, maxCharactersPerWord: 1 << 30)
        else {
            throw vocabulary.invalid("WordPiece vocabulary cannot be assembled (its tokens repeat once spelled as BERT's, or it has no unknown token)")
        }
        // llama.cpp's defaults: lowercase, and strip accents where it lowercases.
        let lowercase = vocabulary.flag("normalizer.lowercase") ?? true
        let stripAccents = vocabulary.flag("normalizer.strip_accents") ?? lowercase
        let cls = vocabulary.id("cls_token_id") ?? vocabulary.id("bos_token_id") ?? 101
        let sep = vocabulary.id("seperator_token_id") ?? 102
        let addsSeparator = vocabulary.flag("add_sep_token") ?? true
        return Tokenizer(
            name: name, normalizer: LlamaBertNormalizer(lowercase: lowercase, stripAccents: stripAccents), preTokenizer: BertPreTokenizer(), encoder: encoder,
            specialTokens: vocabulary.specialTokens, detokenizer: .wordPiece(prefix: prefix),
            template: TokenTemplate(prefix: [cls], suffix: addsSeparator ? [sep] : []))
    }

    /// `gemma4`: BPE by its merges over raw UTF-8, spaces spelled `▁`, split into lines and runs of line breaks.
    private static func gemma4(_ vocabulary: Vocabulary, name: String) throws(TokcError) -> Tokenizer {
        var entries: [(id: TokenID, bytes: [UInt8])] = []
        var fallback = [TokenID](repeating: MergeListBPEEncoder.noToken, count: 256)
        for (id, type) in vocabulary.types.enumerated() {
            switch type {
            case .byte:
                if let byte = ByteFallback.byte(ofToken: vocabulary.tokens[id]) { fallback[Int(byte)] = TokenID(id) }
            default:
                if !vocabulary.tokens[id].isEmpty { entries.append((TokenID(id), vocabulary.tokens[id])) }
            }
        }
        let table = try tokenTable(entries, vocabulary)
        let merges = try resolvedMerges(vocabulary, table: table, byteLevel: false)
        let alphabet = MergeListBPEEncoder.Alphabet.characters(byteFallback: fallback, unknown: nil, fuseUnknown: false)
        guard var encoder = MergeListBPEEncoder(table: table, merges: merges, alphabet: alphabet) else {
            throw vocabulary.invalid("gemma4 BPE cannot be assembled")
        }
        encoder.wholePieces = .lineBreakRuns
        let bos = vocabulary.id("bos_token_id"), eos = vocabulary.id("eos_token_id")
        // llama.cpp always adds BOS for Gemma 4, whatever the file says.
        let template = TokenTemplate(prefix: bos.map { [$0] } ?? [], suffix: (vocabulary.flag("add_eos_token") ?? false) ? eos.map { [$0] } ?? [] : [])
        return try gemma4(encoder: encoder, specialTokens: vocabulary.specialTokens, template: template, name: name)
    }

    private static func gemma4(
        encoder: any Encoder, specialTokens: [String: TokenID], template: TokenTemplate, name: String
    ) throws(TokcError) -> Tokenizer {
        var detokenizer = Detokenizer(rawByteIDs: encoder.byteFallbackIDs)
        detokenizer.replacement = (MetaspaceNormalizer.lowLine, [0x20])
        return Tokenizer(
            name: name, normalizer: MetaspaceNormalizer(prependScheme: .never), preTokenizer: try GGUFPreTokenizer.gemma4.stages(),
            encoder: encoder, specialTokens: specialTokens, detokenizer: detokenizer, template: template)
    }

    // MARK: - Compiled form

    /// What a `gpt2`, `gemma4` or `llama` tokenizer is besides its encoder (`CompiledEncoder`), as a small JSON
    /// object: the model, the `pre` value, the special tokens after llama.cpp's type changes and the template;
    /// for `llama`, after a NUL byte, the SentencePiece pipeline it runs as (`CompiledSentencePiece`: its
    /// normaliser, and its pieces for decoding; its merges, which take long, are in the encoder). Stored beside
    /// the compiled encoder, it stands for the token, type and merge arrays on a later load
    /// (`load(pipelineSource:encoder:name:path:)`). Nil for the other models, which have no compiled form.
    static func pipelineSource(of tokenizer: Tokenizer, model: String, pre: String?) -> [UInt8]? {
        guard model == "gpt2" || model == "gemma4" || model == "llama" else { return nil }
        var sentencePiece: [UInt8] = []
        if model == "llama" {
            guard let compiled = CompiledSentencePiece.bytes(of: tokenizer) else { return nil }
            sentencePiece = [0] + compiled
        }
        func ids(_ list: [TokenID]) -> JSONValue { .array(list.map { .integer(Int($0)) }) }
        return JSONValue.object([
            ("model", .text(model)),
            ("pre", pre.map(JSONValue.text) ?? .null),
            ("special_tokens", .array(tokenizer.specialTokens.all.map { .array([.text($0.text), .integer(Int($0.id))]) })),
            ("non_special", .array(tokenizer.nonSpecialAddedTokens.sorted().map(JSONValue.text))),
            ("prefix", ids(tokenizer.template.prefix)),
            ("suffix", ids(tokenizer.template.suffix)),
        ]).serialized() + sentencePiece
    }

    /// The tokenizer `pipelineSource` describes, over the encoder compiled with it.
    static func load(pipelineSource: [UInt8], encoder: any Encoder, name: String, path: String) throws(TokcError) -> Tokenizer {
        // The JSON, and after a NUL byte (which JSON text never holds) the compiled SentencePiece pipeline.
        let end = pipelineSource.firstIndex(of: 0) ?? pipelineSource.count
        let sentencePiece = pipelineSource[min(end + 1, pipelineSource.count)...]
        return try JSONNode.withDocument(Array(pipelineSource[..<end]), path: path) { root throws(TokcError) in
            func invalid() -> TokcError { .invalidVocabulary(path: path, reason: "a compiled GGUF pipeline that is not one tokc writes") }
            func ids(_ key: String) throws(TokcError) -> [TokenID] {
                guard let list = root[key]?.array else { throw invalid() }
                var result: [TokenID] = []
                for item in list {
                    guard let id = item.integer.flatMap({ TokenID(exactly: $0) }) else { throw invalid() }
                    result.append(id)
                }
                return result
            }
            guard let model = root["model"]?.string, let listed = root["special_tokens"]?.array else { throw invalid() }
            var specialTokens: [String: TokenID] = [:]
            for item in listed {
                guard let pair = item.array, pair.count == 2, let text = pair[0].string,
                      let id = pair[1].integer.flatMap({ TokenID(exactly: $0) }) else { throw invalid() }
                specialTokens[text] = id
            }
            let template = TokenTemplate(prefix: try ids("prefix"), suffix: try ids("suffix"))
            // A pipeline written before tokc kept the user-defined tokens is rebuilt (invalid here).
            guard let nonSpecialList = root["non_special"]?.array else { throw invalid() }
            var nonSpecial: Set<String> = []
            for item in nonSpecialList {
                guard let text = item.string else { throw invalid() }
                nonSpecial.insert(text)
            }
            var tokenizer = try assembled(model: model, root: root, compiledSentencePiece: sentencePiece, encoder: encoder,
                                          specialTokens: specialTokens, template: template, name: name, path: path, invalid: invalid)
            tokenizer.nonSpecialAddedTokens = nonSpecial
            return tokenizer
        }
    }

    private static func assembled(
        model: String, root: JSONNode, compiledSentencePiece: ArraySlice<UInt8>, encoder: any Encoder, specialTokens: [String: TokenID],
        template: TokenTemplate, name: String, path: String, invalid: () -> TokcError
    ) throws(TokcError) -> Tokenizer {
            switch model {
            case "gpt2":
                guard let pre = GGUFPreTokenizer.named(root["pre"]?.string) else { throw invalid() }
                return try byteLevelBPE(pre: pre, encoder: encoder, specialTokens: specialTokens, template: template, name: name)
            case "gemma4":
                return try gemma4(encoder: encoder, specialTokens: specialTokens, template: template, name: name)
            case "llama":
                guard let parts = compiledSentencePiece.withUnsafeBytes({ CompiledSentencePiece.parts(from: $0) }) else { throw invalid() }
                return sentencePiece(parts, encoder: encoder, specialTokens: specialTokens, template: template, name: name)
            default:
                throw invalid()
            }
    }

    // MARK: - Shared parts

    private static func tokenTable(_ entries: [(id: TokenID, bytes: [UInt8])], _ vocabulary: Vocabulary) throws(TokcError) -> TokenTable {
        do {
            return try TokenTable(tokens: entries)
        } catch {
            throw vocabulary.invalid("tokenizer.ggml.tokens cannot be indexed: \(error)")
        }
    }

    /// `tokenizer.ggml.merges` as token ids: each `left right` (split at the first space after the first byte,
    /// as llama.cpp splits it) whose halves and concatenation are tokens. A merge whose result is no token
    /// could only make a piece llama.cpp then spells byte by byte; such merges are left out.
    private static func resolvedMerges(
        _ vocabulary: Vocabulary, table: TokenTable, byteLevel: Bool
    ) throws(TokcError) -> [(left: TokenID, right: TokenID, merged: TokenID)] {
        var result: [(left: TokenID, right: TokenID, merged: TokenID)] = []
        result.reserveCapacity(vocabulary.merges.count)
        var buffer: [UInt8] = []
        for (index, merge) in vocabulary.merges.enumerated() {
            guard merge.count > 1, let space = merge[1...].firstIndex(of: 0x20) else {
                throw vocabulary.invalid("tokenizer.ggml.merges[\(index)] '\(String(decoding: merge, as: UTF8.self))': expected two tokens and a space between")
            }
            if let ids = MergeListBPEEncoder.mergeIDs(
                left: merge[..<space], right: merge[(space + 1)...], byteLevel: byteLevel, table: table, buffer: &buffer) {
                result.append(ids)
            }
        }
        return result
    }
}
