/// The tokenizer schemes this build of tokc can run. The only file that names every scheme: loading a
/// vocabulary switches on it once, and `--scheme` parses straight into it. Later schemes (WordPiece, Unigram,
/// ungreedy) join here when their encoders reproduce their reference ids.
public enum Scheme: String, CaseIterable, Sendable {
    /// Byte-level BPE, as tiktoken and GPT-style tokenizers define it.
    case bpe

    /// Builds the encoder a manifest entry describes from the bytes of its file.
    static func makeEncoder(
        scheme: Scheme, format: String, content: [UInt8], path: String
    ) throws(TokcError) -> any Encoder {
        switch scheme {
        case .bpe:
            guard format == "tiktoken" else {
                throw .invalidVocabulary(path: path, reason: "format '\(format)' is not readable for scheme bpe; known: tiktoken, tokenizer.json")
            }
            return try TiktokenFormat.parse(content, path: path)
        }
    }
}
