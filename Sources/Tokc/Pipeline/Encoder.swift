/// A scheme's model: maps one pre-tokenized piece of normalized bytes to token ids, and ids back to bytes.
///
/// Called `Encoder`, not "model", because in tokc a model is the LLM a price belongs to (`tokc cost --model`).
///
/// Contract, shared by every scheme (BPE, WordPiece, Unigram, ungreedy):
/// - `encode(piece:into:)` is a pure function of the piece: the same bytes give the same ids, whatever came
///   before. Schemes that need context across pieces (a WordPiece `##` continuation, a SentencePiece `▁`)
///   get it from their pre-tokenizer, which decides what a piece is. An ungreedy encoder whose look-ahead must
///   span the whole text is handed the whole text as one piece by a pass-through pre-tokenizer.
/// - It never fails: every piece encodes. Schemes with an unknown token emit it; byte-level schemes cover all
///   256 bytes, so any input, valid UTF-8 or not, encodes losslessly.
/// - It appends to the sink and allocates nothing per token.
/// - Implementations are immutable tables, `Sendable` by construction: one encoder serves every thread.
public protocol Encoder: Sendable {
    /// Encodes one piece, appending its ids to `sink` in order.
    func encode<Sink: TokenSink>(piece: UnsafeBufferPointer<UInt8>, into sink: inout Sink)

    /// Appends the bytes of token `id` to `output`. Returns false, appending nothing, for an id the
    /// vocabulary does not have.
    func appendBytes(of id: TokenID, to output: inout [UInt8]) -> Bool

    /// One past the highest id this encoder can emit.
    var idLimit: Int { get }

    /// The id emitted for what the vocabulary cannot spell (`[UNK]`, `<unk>`); nil for schemes that spell
    /// everything from bytes.
    var unknownID: TokenID? { get }

    /// The ids that stand for one raw byte in place of a character the vocabulary lacks (SentencePiece's
    /// `<0xNN>` byte fallback); empty for vocabularies without byte fallback.
    var byteFallbackIDs: Set<TokenID> { get }

    /// The first offset from `index` on (above 0, below `piece.count`) where `piece` may be cut into two that
    /// encode, one after the other, to exactly the ids of the whole; nil when there is none or the encoder
    /// cannot tell. What lets a one-piece text (SentencePiece's) be shared among threads.
    func cut(in piece: UnsafeBufferPointer<UInt8>, from index: Int) -> Int?

    /// Whether `cut` can ever find a place: checked before a text is normalised whole for cutting.
    var cutsPieces: Bool { get }
}

extension Encoder {
    public var unknownID: TokenID? { nil }
    public var byteFallbackIDs: Set<TokenID> { [] }
    public func cut(in piece: UnsafeBufferPointer<UInt8>, from index: Int) -> Int? { nil }
    public var cutsPieces: Bool { false }
}
