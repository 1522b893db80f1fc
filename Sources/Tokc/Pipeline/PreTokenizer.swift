/// Splits normalized bytes into the pieces an `Encoder` encodes one at a time.
///
/// Contract: the pieces are non-empty, in order, and concatenate back to exactly the input, byte for byte,
/// whatever the input is (ill-formed UTF-8 included). An encoder may therefore rely on seeing every byte once.
public protocol PreTokenizer: Sendable {
    /// Calls `body` with each piece of `text`, left to right. Each piece is a slice of `text`; its offset is
    /// `piece.baseAddress! - text.baseAddress!`.
    func forEachPiece(in text: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void)

    /// True when a line break followed by a letter or digit always ends a piece, and the pieces before it do
    /// not depend on what follows: text cut there splits, part by part, into the same pieces as whole.
    var isLineLocal: Bool { get }

    /// Where a text may be cut so that its parts split, part by part, into the pieces of the whole (a piece of
    /// text that no branch matches may be cut in two there, as long as a later stage splits it there anyway:
    /// `SequencePreTokenizer` takes the places every stage allows). By default the line starts where
    /// `isLineLocal`, else none.
    var cuts: TextCuts { get }
}

extension PreTokenizer {
    public var isLineLocal: Bool { false }
    public var cuts: TextCuts { isLineLocal ? .lineStartsOnly : .none }
}

/// Hands the whole text over as one piece (for encoders that look across the whole text).
public struct WholeTextPreTokenizer: PreTokenizer {
    public init() {}

    public func forEachPiece(in text: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        if !text.isEmpty { body(text) }
    }
}

/// The splitting half of Hugging Face's `Metaspace` with `split: true`: a piece starts at each replacement
/// character (`▁`), which stays at the front of the piece that follows it. The rewriting half (spaces to `▁`,
/// the prefix) is `MetaspaceNormalizer`, which runs first.
public struct MetaspacePreTokenizer: PreTokenizer {
    public let replacement: [UInt8]

    public init(replacement: [UInt8] = MetaspaceNormalizer.lowLine) {
        precondition(!replacement.isEmpty, "the replacement is one character (the loader checks)")
        self.replacement = replacement
    }

    public func forEachPiece(in text: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        var start = 0
        var index = 1
        while index + replacement.count <= text.count {
            if ReplaceNormalizer.occurs(replacement, in: text, at: index) {
                body(UnsafeBufferPointer(rebasing: text[start..<index]))
                start = index
                index += replacement.count
            } else {
                index += 1
            }
        }
        if start < text.count { body(UnsafeBufferPointer(rebasing: text[start...])) }
    }
}

/// Runs pre-tokenizers one after another, each on the pieces of the one before (Hugging Face's `Sequence` of
/// `Split`s): the pieces of the last are the pieces.
public struct SequencePreTokenizer: PreTokenizer {
    public let stages: [any PreTokenizer]

    public init(_ stages: [any PreTokenizer]) {
        self.stages = stages
    }

    public var isLineLocal: Bool { stages.allSatisfy(\.isLineLocal) }

    public var cuts: TextCuts {
        stages.dropFirst().reduce(stages.first?.cuts ?? .none) { $0.intersection($1.cuts) }
    }

    public func forEachPiece(in text: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        split(text, stage: 0, body)
    }

    private func split(_ text: UnsafeBufferPointer<UInt8>, stage: Int, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        guard stage < stages.count else {
            body(text)
            return
        }
        stages[stage].forEachPiece(in: text) { piece in split(piece, stage: stage + 1, body) }
    }
}
