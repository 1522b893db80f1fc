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
}
