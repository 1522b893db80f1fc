import Foundation

/// `manifest.json` of a vocabulary folder: which vocabularies it holds, how each is assembled (scheme, split
/// pattern, normaliser, special tokens), where it came from, and the sha256 its file must have.
public struct VocabularyManifest: Codable, Sendable, Equatable {
    public var formatVersion: Int
    /// The vocabulary each scheme uses when none is named (`"bpe": "o200k_base"`).
    public var defaults: [String: String]
    public var vocabularies: [Entry]

    public struct Entry: Codable, Sendable, Equatable {
        public var name: String
        /// A `Scheme` raw value.
        public var scheme: String
        /// The file format: `tiktoken`, `tokenizer.json`, `sentencepiece`, `gguf`, `tekken`, `vocab.txt`,
        /// `tokc-ungreedy`.
        public var format: String
        /// The file name, relative to the manifest's folder.
        public var file: String
        /// `gzip` when the file is stored compressed (the sha256 is of the bytes after decompressing); absent
        /// for a file stored as it is.
        public var compression: String?
        /// The model family, for humans (`Qwen`, `Mistral`, `OpenAI`).
        public var family: String?
        /// One past the highest id, specials included (tiktoken's `n_vocab`); checked at load.
        public var vocabSize: Int
        /// The pre-tokenizer regex, exactly as the reference implementation writes it.
        public var pattern: String
        /// The name of a built-in pattern equal to `pattern`, for humans (`o200k`).
        public var patternName: String?
        /// A `UnicodeNormalizer` raw value; absent means identity.
        public var normalizer: String?
        public var specialTokens: [String: TokenID]
        /// Which models use the vocabulary, for humans.
        public var usedBy: String?
        public var source: String
        public var licence: String
        /// Lowercase hex sha256 of the file; a load that finds other bytes fails.
        public var sha256: String

        enum CodingKeys: String, CodingKey {
            case name, scheme, format, file, compression, family, pattern, normalizer, source, licence, sha256
            case vocabSize = "vocab_size"
            case patternName = "pattern_name"
            case specialTokens = "special_tokens"
            case usedBy = "used_by"
        }
    }

    enum CodingKeys: String, CodingKey {
        case defaults, vocabularies
        case formatVersion = "format_version"
    }

    /// Parses a manifest; `path` names the file in errors.
    public static func parse(_ content: [UInt8], path: String) throws(TokcError) -> VocabularyManifest {
        // Every load reads the manifest (170 KB, with the special tokens of GGUF and Tekken vocabularies):
        // tokc's own reader takes a fraction of JSONDecoder's 4 ms. A manifest it cannot map goes to
        // JSONDecoder, whose error names the field.
        if let manifest = read(content) { return manifest }
        return try decoded(content, path: path)
    }

    /// The manifest through Foundation's JSONDecoder: what `parse` falls back on, for its error messages.
    static func decoded(_ content: [UInt8], path: String) throws(TokcError) -> VocabularyManifest {
        let data = Data(content)
        do {
            return try JSONDecoder().decode(VocabularyManifest.self, from: data)
        } catch let error as DecodingError {
            if case .dataCorrupted = error { throw JSONErrors.syntaxError(in: data, path: path) }
            throw .malformedFile(path: path, line: 1, expected: JSONErrors.describe(error))
        } catch {
            throw .malformedFile(path: path, line: 1, expected: "a JSON manifest (\(error))")
        }
    }

    /// The manifest read by tokc's JSON reader, or nil for anything but a well-formed manifest.
    static func read(_ content: [UInt8]) -> VocabularyManifest? {
        try? JSONNode.withDocument(content, path: "manifest.json") { root throws(TokcError) -> VocabularyManifest in
            // Any error here only sends the manifest to JSONDecoder, whose message names the field.
            let unmapped = TokcError.malformedFile(path: "", line: 0, expected: "")
            func text(_ node: JSONNode?) throws(TokcError) -> String {
                guard let value = node?.string else { throw unmapped }
                return value
            }
            func optionalText(_ node: JSONNode?) throws(TokcError) -> String? {
                guard let node, !node.isNull else { return nil }
                return try text(node)
            }
            func integer(_ node: JSONNode?) throws(TokcError) -> Int {
                guard let value = node?.integer, let exact = Int(exactly: value) else { throw unmapped }
                return exact
            }
            guard let members = root["defaults"]?.members, let list = root["vocabularies"]?.array else { throw unmapped }
            var defaults: [String: String] = [:]
            for (key, value) in members { defaults[key.string(in: root.document)] = try text(value) }
            var entries: [Entry] = []
            entries.reserveCapacity(list.count)
            for item in list {
                var specials: [String: TokenID] = [:]
                guard let specialMembers = item["special_tokens"]?.members else { throw unmapped }
                for (key, value) in specialMembers {
                    guard let id = value.integer.flatMap({ TokenID(exactly: $0) }) else { throw unmapped }
                    specials[key.string(in: root.document)] = id
                }
                entries.append(Entry(
                    name: try text(item["name"]), scheme: try text(item["scheme"]), format: try text(item["format"]),
                    file: try text(item["file"]), compression: try optionalText(item["compression"]),
                    family: try optionalText(item["family"]), vocabSize: try integer(item["vocab_size"]),
                    pattern: try text(item["pattern"]), patternName: try optionalText(item["pattern_name"]),
                    normalizer: try optionalText(item["normalizer"]), specialTokens: specials,
                    usedBy: try optionalText(item["used_by"]), source: try text(item["source"]),
                    licence: try text(item["licence"]), sha256: try text(item["sha256"])))
            }
            return VocabularyManifest(formatVersion: try integer(root["format_version"]), defaults: defaults, vocabularies: entries)
        }
    }
}
