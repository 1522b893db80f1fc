/// WordPiece training as Hugging Face's `WordPieceTrainer` does it: BPE merges over words whose characters
/// after the first carry the continuation prefix (`h ##e ##l ##l ##o`), so a merge of `h` and `##e` makes `he`
/// and one of `##l` and `##o` makes `##lo`. The tokens learned are the vocabulary; encoding then matches them
/// greedily, longest first, as WordPiece does.
///
/// Texts go through BERT's normaliser and pre-tokenizer (optionally ICU word breaking after it), equal words are
/// counted once on every core (`PieceCounter`), and the merge loop is BPE's (`PairMerging`).
///
/// Where tokc differs from Hugging Face, on purpose:
/// - A word with a character outside the alphabet (past `alphabetLimit`), or longer than
///   `maxCharactersPerWord`, is left out of the statistics: it can only ever encode as the unknown token.
///   Hugging Face instead trains on such a word with the rare characters cut out, making pairs that occur
///   nowhere in the text.
/// - The vocabulary is in a fixed order (special tokens, the alphabet by code point, continuation characters as
///   the words in byte order first use them, then merges), so the same corpus gives the same file.
public struct WordPieceTrainer: Trainer {
    public struct Options: Sendable {
        /// Tokens in the result: special tokens, the alphabet and its continuation forms, and the merges. An
        /// alphabet bigger than this is kept whole, as Hugging Face keeps it.
        public var vocabSize: Int
        /// Pairs seen fewer times than this are not merged.
        public var minFrequency = 2
        /// The most frequent characters kept as the alphabet (Hugging Face's `limit_alphabet`; BERT's tooling
        /// uses 1,000); nil keeps every character seen.
        public var alphabetLimit: Int? = 1000
        public var continuationPrefix = "##"
        /// Special tokens, the first ids, in this order; they must include `unknownToken`.
        public var specialTokens = WordPieceFormat.bertSpecialTokens
        public var unknownToken = "[UNK]"
        /// Uncased (lowercase and strip accents), as bert-base-uncased.
        public var lowercase = true
        /// ICU dictionary word breaking after BERT's split, in this locale ("" for the root locale), with BERT's
        /// CJK-character split off; nil for BERT's split alone.
        public var icuWordLocale: String? = nil
        public var maxCharactersPerWord = 100
        /// Texts are counted on every core a batch of this many bytes at a time (for tests).
        public var batchBytes = 8 << 20

        public init(vocabSize: Int) {
            self.vocabSize = vocabSize
        }
    }

    public let options: Options
    private var counter: PieceCounter

    public init(options: Options) throws(TokcError) {
        guard options.specialTokens.contains(options.unknownToken) else {
            throw .malformedInput(source: "--special", line: 1, expected: "the unknown token \(options.unknownToken) among the special tokens")
        }
        guard Set(options.specialTokens).count == options.specialTokens.count, !options.specialTokens.contains("") else {
            throw .malformedInput(source: "--special", line: 1, expected: "special tokens that are distinct and not empty")
        }
        guard options.vocabSize > options.specialTokens.count else {
            throw .malformedInput(source: "--vocab-size", line: 1, expected: "more than the \(options.specialTokens.count) special tokens")
        }
        guard !options.continuationPrefix.isEmpty, options.maxCharactersPerWord > 0, (options.alphabetLimit ?? 1) > 0 else {
            throw .malformedInput(source: "options", line: 1, expected: "a non-empty continuation prefix and positive limits")
        }
        self.options = options
        let pipeline = WordPieceTrainer.pipeline(options)
        counter = PieceCounter(normalizer: pipeline.normalizer, preTokenizer: pipeline.preTokenizer, batchBytes: options.batchBytes)
    }

    /// The normaliser and pre-tokenizer that training and the trained tokenizer share.
    static func pipeline(_ options: Options) -> (normalizer: BertNormalizer, preTokenizer: any PreTokenizer) {
        let normalizer = BertNormalizer(handleChineseCharacters: options.icuWordLocale == nil, lowercase: options.lowercase)
        guard let locale = options.icuWordLocale else { return (normalizer, BertPreTokenizer()) }
        return (normalizer, SequencePreTokenizer([BertPreTokenizer(), ICUWordPreTokenizer(locale: locale)]))
    }

    public mutating func add(_ text: UnsafeBufferPointer<UInt8>) {
        counter.add(text)
    }

    /// Distinct words counted so far (all of them once `train` has run).
    public var distinctWords: Int { counter.counts.count }

    public mutating func train(progress: (TrainingProgress) -> Void) throws(TokcError) -> TrainedWordPiece {
        counter.countPending()
        // Words in byte order: the table's order depends on how the texts were batched, the result must not.
        let words = counter.counts.sorted().compactMap { word, count -> (scalars: [UInt32], count: Int)? in
            let scalars = UTF8Scan.scalarValues(of: word)
            return scalars.count <= options.maxCharactersPerWord ? (scalars, count) : nil
        }

        // The alphabet: every character seen, or the most frequent ones (ties to the smaller code point).
        var frequency: [UInt32: Int] = [:]
        for (scalars, count) in words {
            for scalar in scalars { frequency[scalar, default: 0] += count }
        }
        var alphabet = frequency.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map(\.key)
        if let limit = options.alphabetLimit, alphabet.count > limit { alphabet.removeLast(alphabet.count - limit) }
        alphabet.sort()

        var vocabulary = Tokens(prefix: Array(options.continuationPrefix.utf8))
        for special in options.specialTokens { _ = vocabulary.add(Array(special.utf8), continuation: false) }
        var first: [UInt32: TokenID] = [:]
        for scalar in alphabet { first[scalar] = vocabulary.add(UTF8Scan.encode(scalarValues: [scalar]), continuation: false) }

        // Each word as its first character and continuation characters; words with a character outside the
        // alphabet are left out (see the type's comment).
        var continuation: [UInt32: TokenID] = [:]
        var symbols: [[TokenID]] = []
        var counts: [Int] = []
        symbols.reserveCapacity(words.count)
        counts.reserveCapacity(words.count)
        for (scalars, count) in words {
            guard scalars.allSatisfy({ first[$0] != nil }) else { continue }
            var word: [TokenID] = [first[scalars[0]]!]
            for scalar in scalars.dropFirst() {
                if let id = continuation[scalar] {
                    word.append(id)
                } else {
                    let id = vocabulary.add(vocabulary.prefix + UTF8Scan.encode(scalarValues: [scalar]), continuation: true)
                    continuation[scalar] = id
                    word.append(id)
                }
            }
            symbols.append(word)
            counts.append(count)
        }

        _ = PairMerging.learn(
            words: symbols, counts: counts, into: &vocabulary, target: options.vocabSize,
            minFrequency: options.minFrequency, progress: progress)
        guard let encoder = WordPieceEncoder(
            tokens: vocabulary.tokens, unknownToken: Array(options.unknownToken.utf8), prefix: vocabulary.prefix,
            maxCharactersPerWord: options.maxCharactersPerWord)
        else {
            throw .invalidVocabulary(path: "trained vocabulary", reason: "the unknown token is missing or a token is repeated")
        }
        return TrainedWordPiece(encoder: encoder, options: options)
    }

    /// The tokens by id, and each one's id by text, growing as merges are made.
    private struct Tokens: MergingVocabulary {
        let prefix: [UInt8]
        var tokens: [[UInt8]] = []
        var isContinuation: [Bool] = []
        var ids: [[UInt8]: TokenID] = [:]

        init(prefix: [UInt8]) {
            self.prefix = prefix
        }

        var count: Int { tokens.count }

        /// The id of `text`, added if new.
        mutating func add(_ text: [UInt8], continuation: Bool) -> TokenID {
            if let id = ids[text] { return id }
            let id = TokenID(tokens.count)
            tokens.append(text)
            isContinuation.append(continuation)
            ids[text] = id
            return id
        }

        /// `he` from `h` + `##e`; `##lo` from `##l` + `##o`. The right token is always a continuation.
        mutating func merge(_ left: TokenID, _ right: TokenID) -> TokenID {
            let tail = isContinuation[Int(right)] ? tokens[Int(right)].dropFirst(prefix.count) : tokens[Int(right)][...]
            return add(tokens[Int(left)] + tail, continuation: isContinuation[Int(left)])
        }
    }
}

/// A trained WordPiece vocabulary and the options it was trained with.
public struct TrainedWordPiece: TrainedModel, Sendable {
    public let encoder: WordPieceEncoder
    public let options: WordPieceTrainer.Options

    /// BERT's pipeline around the vocabulary, as trained (with ICU word breaking if it was trained with it).
    public func tokenizer(name: String) throws(TokcError) -> Tokenizer {
        let tokenizer = WordPieceFormat.bertTokenizer(encoder, name: name, lowercase: options.lowercase)
        return options.icuWordLocale.map { tokenizer.withICUWordBreaking(locale: $0) } ?? tokenizer
    }

    /// `vocab.txt` or `tokenizer.json`. A vocabulary trained with ICU word breaking has no tokenizer.json form
    /// (Hugging Face has no ICU pre-tokenizer): its vocab.txt is used with `--pretokenizer icu-words`.
    public func serialize(format: String) throws(TokcError) -> [UInt8] {
        switch format {
        case "vocab.txt":
            return WordPieceFormat.serialize(encoder)
        case "tokenizer.json":
            guard options.icuWordLocale == nil else {
                throw .malformedInput(source: "--format", line: 1, expected: "vocab.txt: Hugging Face's tokenizer.json has no ICU word breaking; use the vocab.txt with --pretokenizer icu-words")
            }
            return try TokenizerJSONFormat.serialize(wordPiece: encoder, normalizer: WordPieceTrainer.pipeline(options).normalizer)
        default:
            throw .malformedInput(source: "--format", line: 1, expected: "vocab.txt or tokenizer.json")
        }
    }
}
