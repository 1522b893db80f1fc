/// WordPiece as BERT and Hugging Face run it: each word (a piece from `BertPreTokenizer`) is cut greedily,
/// longest match first, into a first token and continuation tokens (`##ing`); a word with more than
/// `maxCharactersPerWord` characters, or with a tail no token matches, is one unknown token.
///
/// Lookups allocate nothing: first tokens and continuations (stored without their prefix) live in two
/// tables, so "##" is never glued onto a slice to ask about it.
public struct WordPieceEncoder: Encoder {
    /// Every token as it is spelled (`##ing` with its prefix): first tokens are looked up here, and decoding
    /// reads it.
    let tokens: TokenTable
    /// Continuation tokens keyed by the bytes after the prefix.
    let continuations: TokenTable
    public let unknown: TokenID
    public var unknownID: TokenID? { unknown }
    public let prefix: [UInt8]
    public let maxCharactersPerWord: Int
    /// The longest token in bytes: no match is tried beyond it.
    let longestToken: Int
    /// The one-character words' ids, for `encodeBert`.
    let characterIDs: BuiltOnFirstUse<WordPieceCharacterIDs>

    /// `tokens[i]` is the text of id `i` (vocab.txt order). Returns nil if `unknownToken` is not among them or
    /// two tokens are equal.
    init?(tokens: [[UInt8]], unknownToken: [UInt8], prefix: [UInt8] = Array("##".utf8), maxCharactersPerWord: Int = 100) {
        guard let unknownIndex = tokens.firstIndex(of: unknownToken),
              let spelled = try? TokenTable(tokens: tokens.enumerated().map { (id: TokenID($0.offset), bytes: $0.element) })
        else { return nil }
        self.init(table: spelled, unknown: TokenID(unknownIndex), prefix: prefix, maxCharactersPerWord: maxCharactersPerWord)
    }

    /// The encoder over `table`, every token as it is spelled (a table built before: `CompiledEncoder`); the
    /// continuations' table is derived from it, in id order as from the token list.
    init?(table: TokenTable, unknown: TokenID, prefix: [UInt8], maxCharactersPerWord: Int) {
        // The continuations' bytes end to end, as `TokenTable(tokens:)` would gather them, without an array each.
        var continuingBytes: [UInt8] = []
        var continuing: [(id: TokenID, range: Range<Int>)] = []
        var longest: Int?
        table.forEachToken { id, bytes in
            longest = max(longest ?? 0, bytes.count)
            guard bytes.count > prefix.count && bytes.starts(with: prefix) else { return }
            let start = continuingBytes.count
            continuingBytes += bytes[prefix.count...]
            continuing.append((id, start..<continuingBytes.count))
        }
        guard let continuations = try? TokenTable(bytes: continuingBytes, entries: continuing) else { return nil }
        self.tokens = table
        self.continuations = continuations
        self.unknown = unknown
        self.prefix = prefix
        self.maxCharactersPerWord = maxCharactersPerWord
        self.longestToken = longest ?? 1
        self.characterIDs = BuiltOnFirstUse { WordPieceCharacterIDs(tokens: table, continuations: continuations) }
    }

    public var idLimit: Int { tokens.idLimit }

    public func encode<Sink: TokenSink>(piece: UnsafeBufferPointer<UInt8>, into sink: inout Sink) {
        guard let base = piece.baseAddress, !piece.isEmpty else { return }
        if piece.count > maxCharactersPerWord {  // never more characters than bytes
            var characters = 0
            for byte in piece where byte & 0xC0 != 0x80 { characters += 1 }
            guard characters <= maxCharactersPerWord else {
                sink.append(unknown, covering: piece.count)
                return
            }
        }
        // Most words are one token.
        if piece.count <= longestToken, let id = tokens.id(of: base, count: piece.count) {
            sink.append(id, covering: piece.count)
            return
        }
        // The ids are found first and emitted only if the whole word matches: a word with an unmatched tail is
        // one unknown token, whatever matched before it.
        ScratchSpace.withBuffer(of: (id: TokenID, end: Int32).self, capacity: piece.count) { found in
            var count = 0
            var start = 0
            while start < piece.count {
                let table = start == 0 ? tokens : continuations
                var end = min(piece.count, start + longestToken)
                while end < piece.count && piece[end] & 0xC0 == 0x80 { end -= 1 }  // a character boundary
                var match: TokenID? = nil
                while end > start {
                    if let id = table.id(of: base + start, count: end - start) {
                        match = id
                        break
                    }
                    end -= 1
                    while end > start && piece[end] & 0xC0 == 0x80 { end -= 1 }
                }
                guard let id = match else {
                    sink.append(unknown, covering: piece.count)
                    return
                }
                found[count] = (id, Int32(end))
                count += 1
                start = end
            }
            // Each token covers its bytes of the word (a continuation's `##` is not in the text).
            var tokenStart: Int32 = 0
            for index in 0..<count {
                sink.append(found[index].id, covering: Int(found[index].end - tokenStart))
                tokenStart = found[index].end
            }
        }
    }

    /// The text of every id, in id order (what `vocab.txt` lists).
    public var tokenTexts: [[UInt8]] {
        (0..<idLimit).map { tokens.bytes(of: TokenID($0)).map(Array.init) ?? [] }
    }

    /// The token's text as the vocabulary spells it (`##ing` with its prefix); joining words is the decoder's.
    public func appendBytes(of id: TokenID, to output: inout [UInt8]) -> Bool {
        guard let bytes = tokens.bytes(of: id) else { return false }
        output.append(contentsOf: bytes)
        return true
    }
}
