/// The tokenizer schemes this build of tokc can run. The only file that names every scheme: loading a
/// vocabulary switches on it once, and `--scheme` parses straight into it.
public enum Scheme: String, CaseIterable, Sendable {
    /// Byte-level BPE, as tiktoken and GPT-style tokenizers define it (and SentencePiece-style BPE read from a
    /// tokenizer.json).
    case bpe
    /// WordPiece, as BERT defines it: greedy longest match with `##` continuations.
    case wordpiece
    /// SentencePiece's Unigram: the best-scoring segmentation by Viterbi.
    case unigram
    /// tokc's ungreedy scheme: the fewest tokens over every branch, TokenMonster-style vocabularies.
    case ungreedy

    /// The file formats a manifest entry of the scheme can name.
    public var formats: [String] {
        switch self {
        case .bpe: return ["tiktoken", "tokenizer.json", "sentencepiece", "gguf", "tekken"]
        case .wordpiece: return ["vocab.txt", "tokenizer.json", "gguf"]
        case .unigram: return ["sentencepiece", "gguf"]
        case .ungreedy: return [UngreedyFormat.formatName]
        }
    }

    /// A vocabulary of this scheme trained on `files` with `tokc train`'s default options: BPE on o200k's
    /// pattern, WordPiece uncased with BERT's specials, Unigram with nmt_nfkc and byte fallback, ungreedy with
    /// capcode (what `tokc compare --train` runs).
    public func train(
        vocabSize: Int, files: [String], name: String, progress: (TrainingProgress) -> Void = { _ in }
    ) throws(TokcError) -> Tokenizer {
        func run<T: Trainer>(_ trainer: inout T) throws(TokcError) -> Tokenizer {
            for file in files { try trainer.add(file: file) }
            return try trainer.train(progress: progress).tokenizer(name: name)
        }
        switch self {
        case .bpe:
            var trainer = try BPETrainer(options: .init(vocabSize: vocabSize))
            return try run(&trainer)
        case .wordpiece:
            var trainer = try WordPieceTrainer(options: .init(vocabSize: vocabSize))
            return try run(&trainer)
        case .unigram:
            var trainer = try UnigramTrainer(options: .init(vocabSize: vocabSize, normalization: try .nmtNFKC()))
            return try run(&trainer)
        case .ungreedy:
            var trainer = try UngreedyTrainer(options: .init(vocabSize: vocabSize))
            return try run(&trainer)
        }
    }

    /// The scheme whose encoder this is.
    public static func of(_ encoder: any Encoder) -> Scheme {
        switch encoder {
        case is WordPieceEncoder: return .wordpiece
        case is UnigramEncoder: return .unigram
        case is UngreedyEncoder: return .ungreedy
        default: return .bpe
        }
    }

    /// Builds the tokenizer a manifest entry in a format other than tokenizer.json describes, from the bytes of
    /// its file (a SentencePiece `.model` holds its own normaliser). `normalizer` is the entry's: a `UnicodeNormalizer` for BPE, `bert-uncased` (the default) or
    /// `bert-cased` for WordPiece. A `.tiktoken` vocabulary's, SentencePiece model's or ungreedy vocabulary's
    /// encoder may come already built (`compiled`, from `CompiledTableCache`); a `.tiktoken` file's `content` is
    /// then not read, a SentencePiece model's is its compiled pipeline (`CompiledSentencePiece`), an ungreedy
    /// vocabulary's the file without its tokens (`UngreedyFormat.pipelineSource`).
    static func makeTokenizer(
        scheme: Scheme, format: String, normalizer: String?, pattern: String, specialTokens: [String: TokenID],
        name: String, content: [UInt8], path: String, compiled: (any Encoder)? = nil
    ) throws(TokcError) -> Tokenizer {
        guard scheme.formats.contains(format), VocabularyFileFormat(rawValue: format)?.carriesItsPipeline != true else {
            throw .invalidVocabulary(path: path, reason: "format '\(format)' is not readable for scheme \(scheme.rawValue); known: \(scheme.formats.joined(separator: ", "))")
        }
        if format == "sentencepiece" {
            let tokenizer: Tokenizer
            if let compiled {
                tokenizer = try SentencePieceFormat.load(compiled: content, name: name, path: path, encoder: compiled)
            } else {
                tokenizer = try SentencePieceFormat.load(content, name: name, path: path)
            }
            guard Scheme.of(tokenizer.encoder) == scheme else {
                throw .invalidVocabulary(path: path, reason: "the manifest says scheme \(scheme.rawValue), the file holds \(Scheme.of(tokenizer.encoder).rawValue)")
            }
            return tokenizer
        }
        switch scheme {
        case .ungreedy:
            return try UngreedyFormat.load(content, name: name, path: path, encoder: compiled as? UngreedyEncoder)
        case .unigram:
            throw .invalidVocabulary(path: path, reason: "a unigram vocabulary is a SentencePiece model (format sentencepiece)")
        case .bpe:
            guard let unicode = UnicodeNormalizer(rawValue: normalizer ?? "identity") else {
                throw .invalidVocabulary(path: path, reason: "unknown normalizer '\(normalizer ?? "")'; known: \(UnicodeNormalizer.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let encoder: BPEEncoder
            if let compiled = compiled as? BPEEncoder { encoder = compiled } else { encoder = try TiktokenFormat.parse(content, path: path) }
            for (text, id) in specialTokens.sorted(by: { $0.value < $1.value }) {
                var probe: [UInt8] = []
                if encoder.appendBytes(of: id, to: &probe) {
                    throw .invalidVocabulary(path: path, reason: "special token \(text) has id \(id), which the vocabulary already uses")
                }
            }
            return Tokenizer(
                name: name, normalizer: unicode, preTokenizer: try RegexPreTokenizer(pattern: pattern),
                encoder: encoder, specialTokens: specialTokens)
        case .wordpiece:
            guard ["bert-uncased", "bert-cased"].contains(normalizer ?? "bert-uncased") else {
                throw .invalidVocabulary(path: path, reason: "unknown normalizer '\(normalizer ?? "")' for a WordPiece vocab.txt; known: bert-uncased, bert-cased")
            }
            guard pattern.isEmpty else {
                throw .invalidVocabulary(path: path, reason: "a WordPiece vocab.txt is split as BERT splits, not by a pattern; the manifest's pattern must be empty")
            }
            let tokenizer = WordPieceFormat.bertTokenizer(
                try WordPieceFormat.parse(content, path: path), name: name, lowercase: normalizer != "bert-cased")
            for (text, id) in specialTokens where tokenizer.specialTokens.id(of: text) != id {
                throw .invalidVocabulary(path: path, reason: "special token \(text) is not id \(id) in the vocabulary (BERT's special tokens are the vocabulary's own)")
            }
            return tokenizer
        }
    }
}
