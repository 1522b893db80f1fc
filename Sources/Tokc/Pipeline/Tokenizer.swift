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

    public init(
        name: String,
        normalizer: any Normalizer = UnicodeNormalizer.identity,
        preTokenizer: any PreTokenizer,
        encoder: any Encoder,
        specialTokens: [String: TokenID] = [:]
    ) {
        self.name = name
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.encoder = encoder
        self.specialTokens = SpecialTokens(specialTokens)
    }

    /// One past the highest id, special tokens included (tiktoken's `n_vocab`).
    public var vocabularySize: Int {
        max(encoder.idLimit, specialTokens.maxID.map { Int($0) + 1 } ?? 0)
    }

    // MARK: - The encode loop

    /// Encodes `text` into `sink`. The one loop behind `encode`, `count` and every other sink: the text is cut
    /// at allowed special tokens, each ordinary segment is normalised, split into pieces, and each piece is
    /// handed to the encoder.
    public func encode<Sink: TokenSink>(
        _ text: UnsafeBufferPointer<UInt8>, allowedSpecial: SpecialTokenPolicy = .none, into sink: inout Sink
    ) {
        guard allowedSpecial != .none, !specialTokens.isEmpty else {
            encodeOrdinary(text, into: &sink)
            return
        }
        var offset = 0
        while let match = specialTokens.firstMatch(in: text, from: offset, policy: allowedSpecial) {
            encodeOrdinary(UnsafeBufferPointer(rebasing: text[offset..<match.range.lowerBound]), into: &sink)
            sink.append(match.id)
            offset = match.range.upperBound
        }
        encodeOrdinary(UnsafeBufferPointer(rebasing: text[offset...]), into: &sink)
    }

    private func encodeOrdinary<Sink: TokenSink>(_ segment: UnsafeBufferPointer<UInt8>, into sink: inout Sink) {
        guard !segment.isEmpty else { return }
        if let normalized = normalizer.normalize(segment) {
            normalized.withUnsafeBufferPointer { split($0, into: &sink) }
        } else {
            split(segment, into: &sink)
        }
    }

    private func split<Sink: TokenSink>(_ text: UnsafeBufferPointer<UInt8>, into sink: inout Sink) {
        preTokenizer.forEachPiece(in: text) { piece in
            encoder.encode(piece: piece, into: &sink)
        }
    }

    // MARK: - Conveniences

    /// The ids of `bytes`.
    public func encode(_ bytes: [UInt8], allowedSpecial: SpecialTokenPolicy = .none) -> [TokenID] {
        var sink = IDSink(reservingCapacity: bytes.count / 4)
        bytes.withUnsafeBufferPointer { encode($0, allowedSpecial: allowedSpecial, into: &sink) }
        return sink.ids
    }

    /// The ids of `text`'s UTF-8.
    public func encode(_ text: String, allowedSpecial: SpecialTokenPolicy = .none) -> [TokenID] {
        var sink = IDSink(reservingCapacity: text.utf8.count / 4)
        withUTF8(of: text) { encode($0, allowedSpecial: allowedSpecial, into: &sink) }
        return sink.ids
    }

    /// The number of tokens in `bytes`; stores no ids.
    public func count(_ bytes: [UInt8], allowedSpecial: SpecialTokenPolicy = .none) -> Int {
        var sink = CountSink()
        bytes.withUnsafeBufferPointer { encode($0, allowedSpecial: allowedSpecial, into: &sink) }
        return sink.count
    }

    /// The number of tokens in `text`'s UTF-8; stores no ids.
    public func count(_ text: String, allowedSpecial: SpecialTokenPolicy = .none) -> Int {
        var sink = CountSink()
        withUTF8(of: text) { encode($0, allowedSpecial: allowedSpecial, into: &sink) }
        return sink.count
    }

    /// The bytes of `ids`, special tokens included. Throws `unknownTokenID` for an id neither the vocabulary
    /// nor the specials have.
    public func decode(_ ids: some Sequence<TokenID>) throws(TokcError) -> [UInt8] {
        var output: [UInt8] = []
        for (position, id) in ids.enumerated() {
            if encoder.appendBytes(of: id, to: &output) { continue }
            guard let special = specialTokens.bytes(of: id) else {
                throw .unknownTokenID(id: id, position: position, vocabularySize: vocabularySize)
            }
            output += special
        }
        return output
    }

    /// `decode` as text; ill-formed UTF-8 (a token boundary inside a character) becomes U+FFFD.
    public func decodeText(_ ids: some Sequence<TokenID>) throws(TokcError) -> String {
        String(decoding: try decode(ids), as: UTF8.self)
    }

    private func withUTF8<Result>(of text: String, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        if let result = text.utf8.withContiguousStorageIfAvailable(body) { return result }
        return Array(text.utf8).withUnsafeBufferPointer(body)
    }
}
