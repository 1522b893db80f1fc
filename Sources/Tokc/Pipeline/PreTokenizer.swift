/// Splits normalized bytes into the pieces an `Encoder` encodes one at a time.
///
/// Contract: the pieces are non-empty, in order, and concatenate back to exactly the input, byte for byte,
/// whatever the input is (ill-formed UTF-8 included). An encoder may therefore rely on seeing every byte once.
public protocol PreTokenizer: Sendable {
    /// Calls `body` with each piece of `text`, left to right. Each piece is a slice of `text`; its offset is
    /// `piece.baseAddress! - text.baseAddress!`.
    func forEachPiece(in text: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void)
}

/// Hands the whole text over as one piece (for encoders that look across the whole text).
public struct WholeTextPreTokenizer: PreTokenizer {
    public init() {}

    public func forEachPiece(in text: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        if !text.isEmpty { body(text) }
    }
}
