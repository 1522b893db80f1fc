import TokcJinja

extension ChatTemplate {
    /// A template file: a Hugging Face `tokenizer_config.json` (its `chat_template`, a string or the list of
    /// named templates, whose "default" is taken, and its `bos_token`, `eos_token`, `unk_token`, `pad_token`),
    /// tokc's own `Vocabularies/templates/<name>.json` (the same keys), or a bare Jinja template.
    public static func load(file path: String) throws(TokcError) -> ChatTemplate {
        let bytes = try FileIO.readAll(path)
        let trimmed = bytes.drop { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 || $0 == 0xEF || $0 == 0xBB || $0 == 0xBF }
        if trimmed.first == UInt8(ascii: "{"), case .dictionary(let config)? = try? JinjaValue.parseJSON(Array(trimmed), what: path) {
            return try fromConfig(config, path: path)
        }
        guard let source = String(validating: bytes, as: UTF8.self) else {
            throw .malformedFile(path: path, line: 1, expected: "a Jinja chat template (UTF-8 text) or a tokenizer_config.json")
        }
        return try ChatTemplate(source: source)
    }

    static func fromConfig(_ config: JinjaDictionary, path: String) throws(TokcError) -> ChatTemplate {
        var source: String?
        switch config["chat_template"] {
        case .string(let text)?: source = text
        case .array(let named)?:
            for item in named {
                if case .dictionary(let entry) = item, case .string("default")? = entry["name"], case .string(let text)? = entry["template"] {
                    source = text
                }
            }
        default: break
        }
        guard let source else {
            throw .malformedFile(path: path, line: 1, expected: "a \"chat_template\" string (or a list with a \"default\" template)")
        }
        var specials: [String: String] = [:]
        for key in ["bos_token", "eos_token", "unk_token", "pad_token"] {
            switch config[key] {
            case .string(let text)?: specials[key] = text
            case .dictionary(let token)?:
                if case .string(let text)? = token["content"] { specials[key] = text }
            default: break
            }
        }
        var nonSpecial: Set<String> = []
        if case .array(let list)? = config["non_special_tokens"] {
            for item in list { if case .string(let text) = item { nonSpecial.insert(text) } }
        }
        return try ChatTemplate(source: source, specialTokenVariables: specials, nonSpecialTokens: nonSpecial)
    }

    /// A GGUF file's own template (`tokenizer.chat_template`), with the special tokens its ids name.
    public static func gguf(_ metadata: GGUFMetadata, path: String) throws(TokcError) -> ChatTemplate? {
        guard case .string(let template)? = metadata["tokenizer.chat_template"] else { return nil }
        var specials: [String: String] = [:]
        if case .strings(let tokens)? = metadata["tokenizer.ggml.tokens"] {
            for (variable, key) in [("bos_token", "tokenizer.ggml.bos_token_id"), ("eos_token", "tokenizer.ggml.eos_token_id"),
                                    ("unk_token", "tokenizer.ggml.unknown_token_id"), ("pad_token", "tokenizer.ggml.padding_token_id")] {
                var id: Int?
                switch metadata[key] {
                case .unsigned(let value)?: id = Int(exactly: value)
                case .signed(let value)?: id = Int(exactly: value)
                default: break
                }
                if let id, tokens.indices.contains(id) { specials[variable] = String(decoding: tokens[id], as: UTF8.self) }
            }
        }
        guard let source = String(validating: template, as: UTF8.self) else {
            throw .invalidVocabulary(path: path, reason: "GGUF tokenizer.chat_template is not UTF-8")
        }
        return try ChatTemplate(source: source, specialTokenVariables: specials)
    }
}

extension VocabularyRegistry {
    /// The chat template that goes with a vocabulary: a shipped vocabulary's `templates/<name>.json` beside its
    /// manifest, or a GGUF file's own. Nil when there is none (pass a template file then).
    public func chatTemplate(for nameOrPath: String) throws(TokcError) -> ChatTemplate? {
        if let located = try vocabularies().first(where: { $0.entry.name == nameOrPath }) {
            let path = located.folder + "/templates/" + located.entry.name + ".json"
            return FileIO.isFile(path) ? try ChatTemplate.load(file: path) : nil
        }
        guard FileIO.isFile(nameOrPath),
              VocabularyFileFormat.isGGUF(head: try FileIO.readPrefix(nameOrPath, count: GGUFMetadata.magic.count)) else { return nil }
        return try ChatTemplate.gguf(try GGUFMetadata.read(path: nameOrPath), path: nameOrPath)
    }
}
