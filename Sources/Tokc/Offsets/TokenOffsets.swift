/// A token and the bytes of the input it stands for.
///
/// Spans refer to the text the caller passed, before any normaliser ran, as Hugging Face's `offsets` do (by
/// byte here, where Python's are by character):
/// - a token whose bytes end or start inside a character (byte-level BPE cuts an emoji into two tokens) spans
///   the whole character, so tokens that share a character share it, and every span starts and ends on a
///   character boundary;
/// - a token of normalised text spans the characters its bytes came from (`AlignedText` says which): `ﬁ`'s
///   `f` and `i` both span `ﬁ`; a prefix `▁` spans the first character; text the normaliser removed (BERT's
///   control characters, SentencePiece's runs of spaces) and the pre-tokenizer dropped (BERT's spaces) is in
///   no span;
/// - a special token found in the text spans its text; the template's tokens (`addingTemplate`) span nothing,
///   at the start (those before the text) or the end (those after).
///
/// Spans come in order: starts and ends never decrease. Tokens whose spans overlap share characters; joined,
/// such groups tile the input where nothing was removed (byte-level vocabularies without a normaliser: every
/// byte of the input is in exactly one group, and the group's tokens decode to exactly its bytes).
public struct TokenSpan: Sendable, Equatable, Hashable {
    public var id: TokenID
    /// The first byte of the span.
    public var start: Int
    /// One past the last byte.
    public var end: Int

    public init(id: TokenID, start: Int, end: Int) {
        self.id = id
        self.start = start
        self.end = end
    }

    public var range: Range<Int> { start..<end }
}

extension Tokenizer {
    /// The tokens of `text` with their spans in `text` (see `TokenSpan`). The same ids as `encode`, from the
    /// same pipeline; besides the result, it allocates per normalised segment (its alignment), never per token.
    public func encodeWithOffsets(
        _ text: UnsafeBufferPointer<UInt8>, allowedSpecial: SpecialTokenPolicy = .none, addingTemplate: Bool = false
    ) -> [TokenSpan] {
        var sink = OffsetSink(encoder: encoder, capacity: text.count / 3 + 4)
        if addingTemplate { for id in template.prefix { sink.spans.append(TokenSpan(id: id, start: 0, end: 0)) } }
        forEachSegment(of: text, allowedSpecial: allowedSpecial) { segment, atTextStart in
            encodeWithOffsets(segment: segment, of: text, atTextStart: atTextStart, into: &sink)
        } special: { range, id in
            sink.spans.append(TokenSpan(id: id, start: range.lowerBound, end: range.upperBound))
        }
        if addingTemplate {
            for id in template.suffix { sink.spans.append(TokenSpan(id: id, start: text.count, end: text.count)) }
        }
        return sink.spans
    }

    /// `encodeWithOffsets` of `bytes`.
    public func encodeWithOffsets(_ bytes: [UInt8], allowedSpecial: SpecialTokenPolicy = .none, addingTemplate: Bool = false) -> [TokenSpan] {
        bytes.withUnsafeBufferPointer { encodeWithOffsets($0, allowedSpecial: allowedSpecial, addingTemplate: addingTemplate) }
    }

    /// `encodeWithOffsets` of `text`'s UTF-8: spans are UTF-8 byte offsets (`UTF16Offsets` turns them into
    /// JavaScript's and Foundation's string indices).
    public func encodeWithOffsets(_ text: String, allowedSpecial: SpecialTokenPolicy = .none, addingTemplate: Bool = false) -> [TokenSpan] {
        encodeWithOffsets(Array(text.utf8), allowedSpecial: allowedSpecial, addingTemplate: addingTemplate)
    }

    /// One stretch without special tokens: normalised with alignments, split, encoded piece by piece; each
    /// token's span in the normalised text is carried back to the input and widened to whole characters.
    private func encodeWithOffsets(
        segment: UnsafeBufferPointer<UInt8>, of text: UnsafeBufferPointer<UInt8>, atTextStart: Bool, into sink: inout OffsetSink
    ) {
        guard !segment.isEmpty, let textBase = text.baseAddress, let segmentBase = segment.baseAddress else { return }
        let base = segmentBase - textBase
        let first = sink.spans.count
        let aligned = normalizer.normalizeWithAlignments(segment, atTextStart: atTextStart)
        func encodePieces(of normalized: UnsafeBufferPointer<UInt8>) {
            guard let normalizedBase = normalized.baseAddress else { return }
            func run<Concrete: Encoder>(_ encoder: Concrete) {
                preTokenizer.forEachPiece(in: normalized) { piece in
                    guard let pieceBase = piece.baseAddress else { return }
                    sink.startPiece(at: pieceBase - normalizedBase, count: piece.count)
                    encoder.encode(piece: piece, into: &sink)
                    sink.finishPiece()
                }
            }
            run(encoder)
        }
        if let aligned {
            aligned.bytes.withUnsafeBufferPointer(encodePieces)
        } else {
            encodePieces(of: segment)
        }
        for index in first..<sink.spans.count {
            var span = sink.spans[index].range
            if let aligned { span = aligned.inputRange(of: span) }
            span = Self.widenedToCharacters((base + span.lowerBound)..<(base + span.upperBound), in: text)
            sink.spans[index].start = span.lowerBound
            sink.spans[index].end = span.upperBound
        }
    }

    /// `span` grown to whole characters of `text`: a start or end inside a well-formed UTF-8 sequence moves to
    /// the sequence's start or end (ill-formed bytes are characters of one byte).
    static func widenedToCharacters(_ span: Range<Int>, in text: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        func characterStart(containing index: Int) -> Int? {
            guard index < text.count, text[index] & 0xC0 == 0x80 else { return nil }
            var lead = index - 1
            while lead >= 0 && lead > index - 4 && text[lead] & 0xC0 == 0x80 { lead -= 1 }
            guard lead >= 0, lead > index - 4 else { return nil }
            let length = UTF8Scan.sequenceLength(in: text, at: lead)
            return lead + length > index ? lead : nil
        }
        var start = span.lowerBound, end = span.upperBound
        if let lead = characterStart(containing: start) { start = lead }
        if let lead = characterStart(containing: end) { end = lead + UTF8Scan.sequenceLength(in: text, at: lead) }
        return start..<max(start, end)
    }
}

/// Keeps each token's span in the normalised text as the encoder appends it: a token covers its own bytes (BPE,
/// Unigram, ungreedy), or as many as the encoder says (`append(_:covering:)`: unknown tokens, WordPiece's
/// continuations). A piece's last token reaches the piece's end whatever the lengths said (an unknown token
/// that an encoder did not measure).
struct OffsetSink: TokenSink {
    let encoder: any Encoder
    var spans: [TokenSpan] = []
    /// The bytes of the token being measured, reused.
    private var scratch: [UInt8] = []
    private var position = 0
    private var pieceStart = 0
    private var pieceEnd = 0
    private var firstOfPiece = 0

    init(encoder: any Encoder, capacity: Int) {
        self.encoder = encoder
        spans.reserveCapacity(capacity)
        scratch.reserveCapacity(64)
    }

    mutating func startPiece(at start: Int, count: Int) {
        position = start
        pieceStart = start
        pieceEnd = start + count
        firstOfPiece = spans.count
    }

    mutating func finishPiece() {
        if spans.count > firstOfPiece && position < pieceEnd { spans[spans.count - 1].end = pieceEnd }
    }

    mutating func append(_ token: TokenID) {
        scratch.removeAll(keepingCapacity: true)
        _ = encoder.appendBytes(of: token, to: &scratch)
        append(token, covering: scratch.count)
    }

    mutating func append(_ token: TokenID, covering byteCount: Int) {
        let end = min(pieceEnd, position + byteCount)
        spans.append(TokenSpan(id: token, start: position, end: end))
        position = end
    }
}

/// UTF-16 offsets (JavaScript's string indices, `NSString`'s) of byte offsets in one text. A character of four
/// UTF-8 bytes is two UTF-16 units; an ill-formed byte counts as one unit, the U+FFFD a decoder puts there.
public struct UTF16Offsets: Sendable {
    /// `units[i]`: the UTF-16 units before byte `i` (for `i` inside a character, before that character).
    private let units: [Int32]

    public init(_ text: UnsafeBufferPointer<UInt8>) {
        var units = [Int32](repeating: 0, count: text.count + 1)
        var total: Int32 = 0
        var index = 0
        while index < text.count {
            let length = UTF8Scan.sequenceLength(in: text, at: index)
            for offset in 0..<max(length, 1) { units[index + offset] = total }
            total += length == 4 ? 2 : 1
            index += max(length, 1)
        }
        units[text.count] = total
        self.units = units
    }

    public init(_ bytes: [UInt8]) {
        self = bytes.withUnsafeBufferPointer { UTF16Offsets($0) }
    }

    /// The UTF-16 offset of byte offset `byte` (0 through the text's length).
    public subscript(byte: Int) -> Int { Int(units[byte]) }
}

extension Tokenizer {
    /// The bytes of one token as the vocabulary spells it (`▁world`, `##ing`, `<|endoftext|>`, one byte for a
    /// `<0xNN>` byte-fallback token), before the detokenizer joins tokens into text; nil for an unknown id.
    public func tokenBytes(of id: TokenID) -> [UInt8]? {
        var bytes: [UInt8] = []
        return appendBytes(of: id, to: &bytes) ? bytes : nil
    }
}
