import Foundation

/// Byte-level BPE training, as Hugging Face's `BpeTrainer` does it: texts are normalised and split by the
/// pre-tokenizer, equal pieces are counted once (`PieceCounter`, on every core), and the most frequent adjacent
/// pair of tokens is merged again and again (`PairMerging`).
public struct BPETrainer: Trainer {
    public struct Options: Sendable {
        /// Tokens in the result: 256 bytes, the merges, and the special tokens.
        public var vocabSize: Int
        /// Pairs seen fewer times than this are not merged.
        public var minFrequency = 2
        public var pattern = RegexPreTokenizer.Named.o200k.pattern
        public var normalizer = UnicodeNormalizer.identity
        /// Special tokens, given ids after the learned ones, in this order.
        public var specialTokens: [String] = []
        /// Texts are counted, on every core, a batch of this many bytes at a time. It changes neither the
        /// result nor, much, the memory (the batch is a copy of the texts); it exists for tests.
        public var batchBytes = 8 << 20

        public init(vocabSize: Int) {
            self.vocabSize = vocabSize
        }
    }

    public let options: Options
    private var counter: PieceCounter

    public init(options: Options) throws(TokcError) {
        guard options.vocabSize >= 256 + options.specialTokens.count else {
            throw .malformedInput(source: "--vocab-size", line: 1, expected: "at least \(256 + options.specialTokens.count) (256 bytes and the special tokens)")
        }
        self.options = options
        counter = PieceCounter(
            normalizer: options.normalizer, preTokenizer: try RegexPreTokenizer(pattern: options.pattern), batchBytes: options.batchBytes)
    }

    public mutating func add(_ text: UnsafeBufferPointer<UInt8>) {
        counter.add(text)
    }

    /// Distinct pieces counted so far (all of them once `train` has run).
    public var distinctPieces: Int { counter.counts.count }

    public mutating func train(progress: (TrainingProgress) -> Void) throws(TokcError) -> TrainedBPE {
        counter.countPending()
        // Words in byte order: the table's order depends on how the texts were batched, the result must not.
        let sortedPieces = counter.counts.sorted()
        var vocabulary = ByteTokens()
        let merges = PairMerging.learn(
            words: sortedPieces.map { $0.piece.map { TokenID($0) } }, counts: sortedPieces.map(\.count), into: &vocabulary,
            target: options.vocabSize - options.specialTokens.count, minFrequency: options.minFrequency, progress: progress)
        return TrainedBPE(tokens: vocabulary.tokens, merges: merges, options: options)
    }

    /// The 256 bytes, then one new token per merge.
    private struct ByteTokens: MergingVocabulary {
        var tokens: [[UInt8]] = (0...255).map { [UInt8($0)] }
        var count: Int { tokens.count }

        mutating func merge(_ left: TokenID, _ right: TokenID) -> TokenID {
            tokens.append(tokens[Int(left)] + tokens[Int(right)])
            return TokenID(tokens.count - 1)
        }
    }
}

/// A trained byte-level BPE: tokens by id (the 256 bytes, then one per merge), the merges in order, and the
/// options it was trained with (pattern, normaliser, special tokens).
public struct TrainedBPE: TrainedModel, Sendable {
    public let tokens: [[UInt8]]
    public let merges: [(left: TokenID, right: TokenID)]
    public let options: BPETrainer.Options

    /// Special tokens get the ids after the learned tokens, in the order given.
    public var specialTokens: [String: TokenID] {
        Dictionary(uniqueKeysWithValues: options.specialTokens.enumerated().map { ($1, TokenID(tokens.count + $0)) })
    }

    public func tokenizer(name: String) throws(TokcError) -> Tokenizer {
        let table = try table()
        let listed = merges.enumerated().map { (left: $1.left, right: $1.right, merged: TokenID(256 + $0)) }
        guard let encoder = MergeListBPEEncoder(table: table, merges: listed) else {
            throw .invalidVocabulary(path: name, reason: "a trained vocabulary lacks a single byte")
        }
        return Tokenizer(
            name: name, normalizer: options.normalizer, preTokenizer: try RegexPreTokenizer(pattern: options.pattern),
            encoder: encoder, specialTokens: specialTokens)
    }

    private func table() throws(TokcError) -> TokenTable {
        do {
            return try TokenTable(tokens: tokens.enumerated().map { (TokenID($0.offset), $0.element) })
        } catch {
            throw .invalidVocabulary(path: "trained vocabulary", reason: "\(error)")
        }
    }

    /// The same vocabulary under tiktoken's rule: a pair merges when its concatenation is a token, lowest id
    /// first, rather than when the merge list has that very pair. This is what a `.tiktoken` file of it gives.
    /// The two rules agree on most text but not all (`Tokens bc < ab < abc` from `ab + c`: on "abc" the list
    /// gives a + bc, tiktoken abc); `tokc train --format tiktoken` counts the held-out lines where they differ.
    public func tiktokenRuleTokenizer(name: String) throws(TokcError) -> Tokenizer {
        Tokenizer(
            name: name, normalizer: options.normalizer, preTokenizer: try RegexPreTokenizer(pattern: options.pattern),
            encoder: try rankEncoder(), specialTokens: specialTokens)
    }

    /// The tokens ranked by id, as tiktoken reads them.
    private func rankEncoder() throws(TokcError) -> BPEEncoder {
        guard let encoder = BPEEncoder(table: try table()) else {
            throw .invalidVocabulary(path: "trained vocabulary", reason: "a trained vocabulary lacks a single byte")
        }
        return encoder
    }

    /// `tokenizer.json` (the merge list: the exact tokenizer) or `tiktoken` (`base64 rank` lines, id order;
    /// the pattern and the special tokens are not part of that format and go to tiktoken's `Encoding` in code).
    public func serialize(format: String) throws(TokcError) -> [UInt8] {
        switch format {
        case "tokenizer.json":
            return try TokenizerJSONFormat.serialize(
                tokens: tokens, merges: merges, pattern: options.pattern, normalizer: options.normalizer,
                specialTokens: specialTokens)
        case "tiktoken":
            guard options.normalizer == .identity else {
                throw .malformedInput(source: "--format", line: 1, expected: "tokenizer.json: tiktoken has no normaliser, so a vocabulary trained with --normalize needs one")
            }
            return TiktokenFormat.serialize(try rankEncoder())
        default:
            throw .malformedInput(source: "--format", line: 1, expected: "tokenizer.json or tiktoken")
        }
    }
}
