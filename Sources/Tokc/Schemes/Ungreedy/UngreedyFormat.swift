/// tokc's ungreedy vocabulary file (`docs/ungreedy.md`): JSON, one object.
///
/// ```json
/// {"format": "tokc-ungreedy", "version": 1, "capcode": true,
///  "tokens": ["the", " of", "\u{F8F0}the", ...],
///  "special_tokens": {"<|endoftext|>": 8256}}
/// ```
///
/// Ids 0…255 are the single bytes and are not listed; `tokens[i]` is id 256 + i, a string of two bytes or more,
/// each listed once (a token is UTF-8 text: the trainer never cuts a character). With `capcode`, text is
/// marked by `Capcode` before encoding and unmarked after decoding. Special tokens, if any, take ids after the
/// tokens. Lines split the text (`LinePreTokenizer`).
public enum UngreedyFormat {
    public static let formatName = "tokc-ungreedy"


    public static func load(_ content: [UInt8], name: String, path: String) throws(TokcError) -> Tokenizer {
        try load(content, name: name, path: path, encoder: nil)
    }

    /// The same, or with the encoder built before from this file (`CompiledEncoder`): `content` is then the file
    /// without its tokens (`pipelineSource(of:)`).
    static func load(_ content: [UInt8], name: String, path: String, encoder compiled: UngreedyEncoder?) throws(TokcError) -> Tokenizer {
        try JSONNode.withDocument(content, path: path) { root throws(TokcError) in
            guard root["format"]?.string == formatName else {
                throw .malformedFile(path: path, line: 1, expected: "\"format\": \"\(formatName)\"")
            }
            guard root["version"]?.integer == 1 else {
                throw .malformedFile(path: path, line: 1, expected: "\"version\": 1, not \(root["version"]?.source ?? "none")")
            }
            guard let list = root["tokens"]?.array else {
                throw .malformedFile(path: path, line: 1, expected: "\"tokens\", a list of strings")
            }
            var tokens: [[UInt8]] = []
            tokens.reserveCapacity(list.count)
            var seen = Set<[UInt8]>()
            for (index, item) in list.enumerated() {
                guard let bytes = item.bytes, bytes.count >= 2, seen.insert(bytes).inserted else {
                    throw .invalidVocabulary(path: path, reason: "tokens[\(index)] (id \(256 + index)) is \(item.source): each token is a string of two bytes or more, listed once (ids 0-255 are the single bytes)")
                }
                tokens.append(bytes)
            }
            if compiled != nil && !tokens.isEmpty {
                throw .invalidVocabulary(path: path, reason: "a compiled ungreedy pipeline that lists tokens")
            }
            guard let encoder = compiled ?? UngreedyEncoder(multiByteTokens: tokens) else {
                throw .invalidVocabulary(path: path, reason: "the tokens cannot be assembled")
            }
            var specials: [String: TokenID] = [:]
            for (key, value) in root["special_tokens"]?.members ?? [] {
                let text = key.string(in: value.document)
                guard let id = value.integer, id >= encoder.idLimit, id <= Int64(UInt32.max), !text.isEmpty else {
                    throw .invalidVocabulary(path: path, reason: "special token \(text.debugDescription) has id \(value.source); special ids follow the tokens (from \(encoder.idLimit))")
                }
                specials[text] = TokenID(id)
            }
            return tokenizer(encoder, capcode: root["capcode"]?.bool ?? false, specialTokens: specials, name: name)
        }
    }

    /// The tokenizer an ungreedy vocabulary describes.
    public static func tokenizer(_ encoder: UngreedyEncoder, capcode: Bool, specialTokens: [String: TokenID] = [:], name: String) -> Tokenizer {
        var detokenizer = Detokenizer()
        detokenizer.capcode = capcode
        return Tokenizer(
            name: name, normalizer: capcode ? Capcode() as any Normalizer : UnicodeNormalizer.identity,
            preTokenizer: LinePreTokenizer(), encoder: encoder, specialTokens: specialTokens, detokenizer: detokenizer)
    }

    /// The file, members in a fixed order: the same vocabulary always gives the same bytes.
    public static func serialize(_ encoder: UngreedyEncoder, capcode: Bool, specialTokens: [String: TokenID] = [:]) -> [UInt8] {
        serialize(tokens: encoder.tokens[256...], capcode: capcode, specialTokens: specialTokens)
    }

    /// What the compiled cache keeps beside a compiled encoder (`CompiledEncoder`): the file of `tokenizer`'s
    /// vocabulary without its tokens, which the encoder holds (the JSON of its 8,000 tokens, their `Set` and
    /// their trie took 56M instructions of a load).
    static func pipelineSource(of tokenizer: Tokenizer) -> [UInt8] {
        serialize(
            tokens: [], capcode: tokenizer.detokenizer.capcode,
            specialTokens: Dictionary(tokenizer.specialTokens.all.map { ($0.text, $0.id) }, uniquingKeysWith: { first, _ in first }))
    }

    private static func serialize(tokens: ArraySlice<[UInt8]>, capcode: Bool, specialTokens: [String: TokenID]) -> [UInt8] {
        JSONValue.object([
            ("format", .text(formatName)),
            ("version", .integer(1)),
            ("capcode", .bool(capcode)),
            ("tokens", .array(tokens.map { .string($0) })),
            ("special_tokens", .object(specialTokens.sorted { $0.value < $1.value }.map { ($0.key, .integer(Int($0.value))) })),
        ]).serialized()
    }
}
