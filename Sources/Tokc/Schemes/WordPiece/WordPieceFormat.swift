/// BERT's `vocab.txt`: one token per line, the line number (from 0) is the id, continuations spelled with their
/// prefix (`##ing`). The file holds only the tokens; the pipeline around them is BERT's, which `bertTokenizer`
/// assembles: `BertNormalizer`, `BertPreTokenizer`, `[CLS] … [SEP]` around a text when asked, and the BERT
/// special tokens that the file lists recognised when special tokens are allowed.
public enum WordPieceFormat {
    /// The special tokens BERT's tokenizers recognise, where a vocabulary has them.
    public static let bertSpecialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

    /// Reads `vocab.txt`. Errors name the line: an empty line (other than a final newline), a token that is not
    /// UTF-8, a token listed twice; and the file, when the unknown token is missing.
    public static func parse(_ content: [UInt8], path: String, unknownToken: String = "[UNK]") throws(TokcError) -> WordPieceEncoder {
        var lines = content.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line in
            Array(line.last == UInt8(ascii: "\r") ? line.dropLast() : line)
        }
        if lines.last?.isEmpty == true { lines.removeLast() }
        var seen: [[UInt8]: Int] = [:]
        seen.reserveCapacity(lines.count)
        for (index, line) in lines.enumerated() {
            guard !line.isEmpty else { throw .malformedFile(path: path, line: index + 1, expected: "a token (an empty line has none)") }
            guard String(validating: line, as: UTF8.self) != nil else { throw .malformedFile(path: path, line: index + 1, expected: "a token in UTF-8") }
            if let first = seen.updateValue(index, forKey: line) {
                throw .malformedFile(path: path, line: index + 1, expected: "a token not already on line \(first + 1)")
            }
        }
        guard let encoder = WordPieceEncoder(tokens: lines, unknownToken: Array(unknownToken.utf8)) else {
            throw .invalidVocabulary(path: path, reason: "the unknown token \(unknownToken) is not in the vocabulary")
        }
        return encoder
    }

    /// `vocab.txt` of an encoder: every token in id order, one per line.
    public static func serialize(_ encoder: WordPieceEncoder) -> [UInt8] {
        var output: [UInt8] = []
        for token in encoder.tokenTexts {
            output += token
            output.append(UInt8(ascii: "\n"))
        }
        return output
    }

    /// The BERT pipeline around a WordPiece vocabulary: `lowercase` for uncased vocabularies (which also strips
    /// accents, as BERT's uncased models do).
    public static func bertTokenizer(_ encoder: WordPieceEncoder, name: String, lowercase: Bool = true) -> Tokenizer {
        var specials: [String: TokenID] = [:]
        for text in bertSpecialTokens {
            if let id = encoder.tokens.id(of: Array(text.utf8)) { specials[text] = id }
        }
        var template = TokenTemplate.none
        if let cls = specials["[CLS]"], let sep = specials["[SEP]"] { template = TokenTemplate(prefix: [cls], suffix: [sep]) }
        return Tokenizer(
            name: name, normalizer: BertNormalizer(lowercase: lowercase), preTokenizer: BertPreTokenizer(), encoder: encoder,
            specialTokens: specials, detokenizer: .wordPiece(prefix: encoder.prefix), template: template)
    }
}
