/// Mistral's Tekken file (`tekken_240718.json` and later: Mistral NeMo, Ministral, Pixtral, Mistral Small 3 …):
/// a tiktoken-style byte-level BPE in JSON, read as mistral-common's `Tekkenizer` reads it.
///
/// - `config.pattern` is the split regex; `config.default_vocab_size` the number of ids, of which the first
///   `config.default_num_special_tokens` are special tokens: token rank `r` has id `r + default_num_special_tokens`,
///   and only the ranks that fit below `default_vocab_size` are used (the file lists more: 150,000 against
///   130,072 used in `tekken_240718.json`).
/// - The special tokens are the file's `special_tokens` list where it has one (rank = id, `token_str`); files
///   without it (versions up to v7) get mistral-common's built-in list: twenty names, then `<SPECIAL_20>` …
/// - Special-token text in the input is ordinary text unless the caller allows it, as mistral-common encodes it.
///
/// Ranks keep their order after the offset, so the BPE merges by id as tiktoken merges by rank.
public enum TekkenFormat {
    /// mistral-common's special tokens for Tekken files that carry none, ids 0…19.
    static let builtInSpecialTokens = [
        "<unk>", "<s>", "</s>", "[INST]", "[/INST]", "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]", "[TOOL_RESULTS]",
        "[/TOOL_RESULTS]", "[TOOL_CALLS]", "[IMG]", "<pad>", "[IMG_BREAK]", "[IMG_END]", "[PREFIX]", "[MIDDLE]",
        "[SUFFIX]", "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]", "[TOOL_CONTENT]",
    ]

    public static func load(_ content: [UInt8], name: String, path: String) throws(TokcError) -> Tokenizer {
        try JSONNode.withDocument(content, path: path) { root throws(TokcError) in
            try tokenizer(root, name: name, path: path)
        }
    }

    private static func tokenizer(_ root: JSONNode, name: String, path: String) throws(TokcError) -> Tokenizer {
        func invalid(_ reason: String) -> TokcError { .invalidVocabulary(path: path, reason: "Tekken " + reason) }
        guard let config = root["config"], config.isObject else { throw invalid("file without a 'config' object") }
        guard let pattern = config["pattern"]?.string, !pattern.isEmpty else { throw invalid("config without a 'pattern' string") }
        guard let vocabularySize = config["default_vocab_size"]?.integer, vocabularySize > 0,
              let specialCount = config["default_num_special_tokens"]?.integer, specialCount >= 0, specialCount < vocabularySize
        else {
            throw invalid("config needs 'default_vocab_size' and 'default_num_special_tokens', integers with 0 ≤ special < size")
        }
        guard let entries = root["vocab"]?.array else { throw invalid("file without a 'vocab' array") }
        let usedRanks = Int(vocabularySize - specialCount)
        guard entries.count >= usedRanks else {
            throw invalid("vocab has \(entries.count) entries; config.default_vocab_size - default_num_special_tokens needs \(usedRanks)")
        }

        var tokenBytes: [UInt8] = []
        tokenBytes.reserveCapacity(usedRanks * 8)
        var tableEntries: [(id: TokenID, range: Range<Int>)] = []
        tableEntries.reserveCapacity(usedRanks)
        for (index, entry) in entries.prefix(usedRanks).enumerated() {
            guard let rank = entry["rank"]?.integer, rank == index else {
                throw invalid("vocab entry \(index): expected 'rank' \(index) (ranks are listed in order from 0)")
            }
            let start = tokenBytes.count
            guard let base64 = entry["token_bytes"]?.bytes,
                  base64.withUnsafeBufferPointer({ Base64.decode($0, appendingTo: &tokenBytes) }), tokenBytes.count > start
            else {
                throw invalid("vocab entry \(index): expected 'token_bytes', non-empty padded base64")
            }
            tableEntries.append((TokenID(rank + specialCount), start..<tokenBytes.count))
        }
        let table: TokenTable
        do {
            table = try TokenTable(bytes: tokenBytes, entries: tableEntries)
        } catch {
            throw invalid("vocab: \(error)")
        }
        guard let encoder = BPEEncoder(table: table) else {
            throw invalid("vocab lacks one of the 256 single bytes byte-level BPE needs")
        }

        var specials: [String: TokenID] = [:]
        if let list = root["special_tokens"]?.array {
            for (index, entry) in list.enumerated() {
                guard let rank = entry["rank"]?.integer, (0..<specialCount).contains(rank), let text = entry["token_str"]?.string else {
                    throw invalid("special_tokens entry \(index): expected 'rank' below \(specialCount) and 'token_str'")
                }
                specials[text] = TokenID(rank)
            }
        } else {
            for id in 0..<Int(specialCount) {
                specials[id < builtInSpecialTokens.count ? builtInSpecialTokens[id] : "<SPECIAL_\(id)>"] = TokenID(id)
            }
        }
        return tokenizer(encoder: encoder, pattern: try RegexPreTokenizer(pattern: pattern), specialTokens: specials, name: name)
    }

    /// A Tekken tokenizer from its parts: no normaliser, the file's split, its ranks as `encoder`, its special
    /// tokens (from the file, or from a manifest that repeats them, with a compiled table).
    static func tokenizer(encoder: BPEEncoder, pattern: RegexPreTokenizer, specialTokens: [String: TokenID], name: String) -> Tokenizer {
        Tokenizer(name: name, normalizer: UnicodeNormalizer.identity, preTokenizer: pattern, encoder: encoder, specialTokens: specialTokens)
    }
}
