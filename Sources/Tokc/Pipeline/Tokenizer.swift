/// The assembled pipeline — normalizer, pre-tokenizer, encoder — plus special tokens: the one type most users
/// touch.
///
/// ```swift
/// let tok = try Tokenizer.named("o200k_base")
/// tok.count("hello world")          // 2
/// tok.encode("hello world")         // [24912, 2375]
/// try tok.decode([24912, 2375])     // the bytes of "hello world"
/// ```
///
/// Thread safety: a `Tokenizer` is an immutable value; every part is `Sendable`. Share one across threads and
/// tasks freely; concurrent calls do not contend beyond one uncontended lock per call in the regex scratch pool.
///
/// Input is bytes. `String` overloads encode the string's UTF-8. Bytes that are not UTF-8 are encoded exactly
/// by byte-level vocabularies (each run of ill-formed bytes is one piece) and decode back to the same bytes.
public struct Tokenizer: Sendable {
    /// The vocabulary's name (`o200k_base`), or the file it came from.
    public let name: String
    public let normalizer: any Normalizer
    public let preTokenizer: any PreTokenizer
    public let encoder: any Encoder
    public let specialTokens: SpecialTokens
    /// What `decode` does after looking up each token's bytes (nothing, for byte-level vocabularies).
    public let detokenizer: Detokenizer
    /// The special tokens put around a text when the caller asks for them.
    public let template: TokenTemplate
    /// The added tokens that are not special in the file's own terms (a `tokenizer.json` entry with
    /// `"special": false`, a GGUF user-defined token): encoded like the others when allowed, but a chat
    /// template treats them as ordinary text in messages unless the template itself writes them
    /// (transformers' `sanitize_control_tokens`).
    public var nonSpecialAddedTokens: Set<String> = []

    public init(
        name: String,
        normalizer: any Normalizer = UnicodeNormalizer.identity,
        preTokenizer: any PreTokenizer,
        encoder: any Encoder,
        specialTokens: [String: TokenID] = [:],
        detokenizer: Detokenizer = .none,
        template: TokenTemplate = .none
    ) {
        self.name = name
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.encoder = encoder
        self.specialTokens = SpecialTokens(specialTokens)
        self.detokenizer = detokenizer
        self.template = template
    }

    /// One past the highest id, special tokens included (tiktoken's `n_vocab`).
    /// The split regexes of the pre-tokenizer, in the order they run (several for a Hugging Face `Sequence`
    /// of `Split`s or a llama.cpp pre-tokenizer); empty when no regex splits the text.
    public var splitPatterns: [String] {
        if let sequence = preTokenizer as? SequencePreTokenizer { return sequence.stages.compactMap { ($0 as? RegexPreTokenizer)?.pattern } }
        return (preTokenizer as? RegexPreTokenizer).map { [$0.pattern] } ?? [""]
    }

    public var vocabularySize: Int {
        max(encoder.idLimit, specialTokens.maxID.map { Int($0) + 1 } ?? 0)
    }

    // MARK: - The encode loop

    /// Encodes `text` into `sink`. The one loop behind `encode`, `count` and every other sink: the text is cut
    /// at allowed special tokens, each ordinary segment is normalised, split into pieces, and each piece is
    /// handed to the encoder. With `addingTemplate`, the template's tokens come first and last.
    public func encode<Sink: TokenSink>(
        _ text: UnsafeBufferPointer<UInt8>, allowedSpecial: SpecialTokenPolicy = .none, addingTemplate: Bool = false,
        into sink: inout Sink
    ) {
        if addingTemplate { for id in template.prefix { sink.append(id) } }
        defer { if addingTemplate { for id in template.suffix { sink.append(id) } } }
        forEachSegment(of: text, allowedSpecial: allowedSpecial) { segment, atTextStart in
            encodeOrdinary(segment, atTextStart: atTextStart, into: &sink)
        } special: { _, id in
            sink.append(id)
        }
    }

    /// Cuts `text` at the allowed special tokens: calls `ordinary` with each stretch between them (a slice of
    /// `text`, empty ones included, and whether it starts the text) and `special` with each special's range and id.
    @inline(__always)
    func forEachSegment(
        of text: UnsafeBufferPointer<UInt8>, allowedSpecial: SpecialTokenPolicy,
        ordinary: (UnsafeBufferPointer<UInt8>, Bool) -> Void, special: (Range<Int>, TokenID) -> Void
    ) {
        guard allowedSpecial != .none, !specialTokens.isEmpty else {
            ordinary(text, true)
            return
        }
        var offset = 0
        while let match = specialTokens.firstMatch(in: text, from: offset, policy: allowedSpecial) {
            ordinary(UnsafeBufferPointer(rebasing: text[offset..<match.range.lowerBound]), offset == 0)
            special(match.range, match.id)
            offset = match.range.upperBound
        }
        ordinary(UnsafeBufferPointer(rebasing: text[offset...]), offset == 0)
    }

    private func encodeOrdinary<Sink: TokenSink>(
        _ segment: UnsafeBufferPointer<UInt8>, atTextStart: Bool, into sink: inout Sink
    ) {
        // The encoder's existential is opened once per segment, not once per piece (cachegrind: 1.6% fewer
        // instructions for o200k_base on German text); byte-level BPE under a regex split, the common case, runs
        // with both concrete, so the split loop calls the encoder directly.
        func run<Concrete: Encoder>(_ encoder: Concrete) {
            forEachPiece(of: segment, atTextStart: atTextStart) { piece in
                encoder.encode(piece: piece, into: &sink)
            }
        }
        if let regex = preTokenizer as? RegexPreTokenizer, let bpe = encoder as? BPEEncoder {
            guard !segment.isEmpty else { return }
            func split(_ text: UnsafeBufferPointer<UInt8>) {
                var merging = BPEEncoder.PieceMerging(encoder: bpe, text: text, sink: sink)
                regex.split(text, into: &merging)
                sink = merging.sink
            }
            if let normalized = normalizer.normalize(segment, atTextStart: atTextStart) {
                normalized.withUnsafeBufferPointer { split($0) }
            } else {
                split(segment)
            }
            return
        }
        // BERT: normaliser, split and WordPiece fused into one pass (`encodeBert`), the same tokens.
        if let wordPiece = encoder as? WordPieceEncoder, wordPiece.maxCharactersPerWord <= 1 << 16, preTokenizer is BertPreTokenizer,
           let bert = normalizer as? BertNormalizer, let map = BertCharacterMap.forNormalizer(bert) {
            wordPiece.encodeBert(segment, map: map, into: &sink)
            return
        }
        run(encoder)
    }

    /// The pieces of a segment without special tokens: normalised, then split.
    private func forEachPiece(
        of segment: UnsafeBufferPointer<UInt8>, atTextStart: Bool, _ body: (UnsafeBufferPointer<UInt8>) -> Void
    ) {
        guard !segment.isEmpty else { return }
        if let normalized = normalizer.normalize(segment, atTextStart: atTextStart) {
            normalized.withUnsafeBufferPointer { preTokenizer.forEachPiece(in: $0, body) }
        } else {
            preTokenizer.forEachPiece(in: segment, body)
        }
    }

    // MARK: - Conveniences

    /// The ids of `bytes`.
    public func encode(_ bytes: [UInt8], allowedSpecial: SpecialTokenPolicy = .none, addingTemplate: Bool = false) -> [TokenID] {
        var sink = BufferSink(reservingCapacity: bytes.count / 4)
        bytes.withUnsafeBufferPointer { encode($0, allowedSpecial: allowedSpecial, addingTemplate: addingTemplate, into: &sink) }
        return sink.finish()
    }

    /// The ids of `text`'s UTF-8.
    public func encode(_ text: String, allowedSpecial: SpecialTokenPolicy = .none, addingTemplate: Bool = false) -> [TokenID] {
        var sink = BufferSink(reservingCapacity: text.utf8.count / 4)
        withUTF8(of: text) { encode($0, allowedSpecial: allowedSpecial, addingTemplate: addingTemplate, into: &sink) }
        return sink.finish()
    }

    /// The number of tokens in `bytes`; stores no ids.
    public func count(_ bytes: UnsafeBufferPointer<UInt8>, allowedSpecial: SpecialTokenPolicy = .none, addingTemplate: Bool = false) -> Int {
        var sink = CountSink()
        encode(bytes, allowedSpecial: allowedSpecial, addingTemplate: addingTemplate, into: &sink)
        return sink.count
    }

    /// The number of tokens in `bytes`; stores no ids.
    public func count(_ bytes: [UInt8], allowedSpecial: SpecialTokenPolicy = .none, addingTemplate: Bool = false) -> Int {
        var sink = CountSink()
        bytes.withUnsafeBufferPointer { encode($0, allowedSpecial: allowedSpecial, addingTemplate: addingTemplate, into: &sink) }
        return sink.count
    }

    /// The number of tokens in `text`'s UTF-8; stores no ids.
    public func count(_ text: String, allowedSpecial: SpecialTokenPolicy = .none, addingTemplate: Bool = false) -> Int {
        var sink = CountSink()
        withUTF8(of: text) { encode($0, allowedSpecial: allowedSpecial, addingTemplate: addingTemplate, into: &sink) }
        return sink.count
    }

    /// The pieces the normalised text is cut into by the pre-tokenizer: words, for BERT's pipeline. Special
    /// tokens are not looked for.
    public func pieceCount(_ bytes: [UInt8]) -> Int {
        var count = 0
        bytes.withUnsafeBufferPointer { forEachPiece(of: $0, atTextStart: true) { _ in count += 1 } }
        return count
    }

    /// A count that also says where a token budget runs out: tiktoken's `count_till_limit`, counting on past
    /// the limit so the caller learns both the total and the cut.
    public struct BudgetedCount: Sendable, Equatable {
        public let tokens: Int
        public let budget: Int
        /// The bytes the first `min(tokens, budget)` tokens cover: cut the input here and it fits the budget.
        /// Byte-level tokens can end inside a character, so the cut can too. For vocabularies with a normaliser
        /// the offset is into the normalised text; the shipped byte-level vocabularies have none.
        public let bytesWithinBudget: Int

        public init(tokens: Int, budget: Int, bytesWithinBudget: Int) {
            self.tokens = tokens
            self.budget = budget
            self.bytesWithinBudget = bytesWithinBudget
        }

        public var fits: Bool { tokens <= budget }
    }

    /// Counts `text`'s tokens and the bytes the first `budget` of them cover.
    public func count(
        _ text: UnsafeBufferPointer<UInt8>, budget: Int, allowedSpecial: SpecialTokenPolicy = .none
    ) -> BudgetedCount {
        var sink = BudgetSink(tokenizer: self, budget: budget)
        encode(text, allowedSpecial: allowedSpecial, into: &sink)
        return BudgetedCount(tokens: sink.count, budget: budget, bytesWithinBudget: sink.bytesWithinBudget)
    }

    /// `count(_:budget:)` of `text`'s UTF-8.
    public func count(_ text: String, budget: Int, allowedSpecial: SpecialTokenPolicy = .none) -> BudgetedCount {
        withUTF8(of: text) { count($0, budget: budget, allowedSpecial: allowedSpecial) }
    }

    /// Counts every token, and sums the byte lengths of those within the budget through one reused scratch
    /// buffer, so it allocates nothing per token.
    private struct BudgetSink: TokenSink {
        let tokenizer: Tokenizer
        let budget: Int
        var count = 0
        var bytesWithinBudget = 0
        var scratch: [UInt8] = []

        init(tokenizer: Tokenizer, budget: Int) {
            self.tokenizer = tokenizer
            self.budget = budget
            scratch.reserveCapacity(64)
        }

        mutating func append(_ token: TokenID) {
            count &+= 1
            guard count <= budget else { return }
            scratch.removeAll(keepingCapacity: true)
            _ = tokenizer.appendBytes(of: token, to: &scratch)
            bytesWithinBudget &+= scratch.count
        }
    }

    /// Appends the bytes of `id`, a vocabulary token or a special one; false for an id neither has.
    func appendBytes(of id: TokenID, to output: inout [UInt8]) -> Bool {
        if encoder.appendBytes(of: id, to: &output) { return true }
        guard let special = specialTokens.bytes(of: id) else { return false }
        output += special
        return true
    }

    /// The bytes of `ids`, special tokens included, rewritten by the detokenizer (for SentencePiece-style
    /// vocabularies, `▁` back to spaces). Throws `unknownTokenID` for an id neither the vocabulary nor the
    /// specials have.
    public func decode(_ ids: some Sequence<TokenID>) throws(TokcError) -> [UInt8] {
        try decode(ids, replacingIllFormedByteRuns: false)
    }

    /// `decode` as text; ill-formed UTF-8 (a token boundary inside a character) becomes U+FFFD. A run of
    /// byte-fallback tokens that is not UTF-8 becomes one U+FFFD per token, as Hugging Face's `ByteFallback`
    /// decoder gives it (SentencePiece's own decoding has its own rule, which `decode` follows already).
    public func decodeText(_ ids: some Sequence<TokenID>) throws(TokcError) -> String {
        String(decoding: try decode(ids, replacingIllFormedByteRuns: true), as: UTF8.self)
    }

    private func decode(_ ids: some Sequence<TokenID>, replacingIllFormedByteRuns: Bool) throws(TokcError) -> [UInt8] {
        if let sentencePiece = detokenizer.sentencePiece { return try sentencePiece.decode(ids) }
        var output: [UInt8] = []
        let rewrites = !detokenizer.isNone
        let checksByteRuns = replacingIllFormedByteRuns && !detokenizer.rawByteIDs.isEmpty
        var byteRun = (start: 0, tokens: 0)
        func closeByteRun() {
            defer { byteRun.tokens = 0 }
            guard byteRun.tokens > 0 else { return }
            let wellFormed = output.withUnsafeBufferPointer { all in
                let run = UnsafeBufferPointer(rebasing: all[byteRun.start...])
                return UTF8Scan.wellFormedEnd(in: run, from: 0) == run.count
            }
            guard !wellFormed else { return }
            output.replaceSubrange(byteRun.start..., with: Array(repeating: UTF8Scan.replacementCharacter, count: byteRun.tokens).joined())
        }
        for (position, id) in ids.enumerated() {
            if checksByteRuns {
                if detokenizer.rawByteIDs.contains(id) {
                    if byteRun.tokens == 0 { byteRun.start = output.count }
                    byteRun.tokens += 1
                } else {
                    closeByteRun()
                }
            }
            let start = output.count
            guard appendBytes(of: id, to: &output) else {
                throw .unknownTokenID(id: id, position: position, vocabularySize: vocabularySize)
            }
            if rewrites { detokenizer.rewriteToken(id, position: position, in: &output, from: start) }
        }
        if checksByteRuns { closeByteRun() }
        if rewrites { detokenizer.finish(&output) }
        return output
    }

    private func withUTF8<Result>(of text: String, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        if let result = text.utf8.withContiguousStorageIfAvailable(body) { return result }
        return Array(text.utf8).withUnsafeBufferPointer(body)
    }
}
