/// The ungreedy encoder: it does not commit to the longest token at each position, it looks ahead over every
/// branch (each token that matches there, and what can follow each) and takes the segmentation of the piece
/// into the fewest tokens. TokenMonster looks a few branches ahead; tokc's look-ahead is the whole piece,
/// computed exactly by dynamic programming from the end of the piece backwards, so no heuristic window can
/// miss a shorter path. Among segmentations of equally few tokens, the one whose first token is longest wins,
/// then the same rule from there on: with tokens `the`, `the c`, ` cat` and `at`, `the cat` is `the` + ` cat`
/// (two tokens), not the greedy `the c` + `at` + … .
///
/// Ids 0…255 are the single bytes, always present, so every input encodes and decodes losslessly, ill-formed
/// UTF-8 included. Cost: one walk of the token trie from each byte (a token is at most `maxTokenBytes` long)
/// and 8 bytes of scratch per byte of the piece; nothing is allocated per token.
public struct UngreedyEncoder: Encoder {
    /// Every token's bytes by id; ids below 256 are the single bytes.
    public let tokens: [[UInt8]]
    let trie: ByteTrie

    /// `tokens` after the 256 single bytes (ids 256…), each of two bytes or more and listed once.
    public init?(multiByteTokens: [[UInt8]]) {
        var all = (0...255).map { [UInt8($0)] }
        var seen = Set(all)
        for token in multiByteTokens {
            guard token.count >= 2, seen.insert(token).inserted else { return nil }
            all.append(token)
        }
        tokens = all
        trie = ByteTrie(all.enumerated().map { ($1, TokenID($0)) })
    }

    /// The encoder from its tokens and the trie built from them before (`CompiledEncoder`).
    init(tokens: [[UInt8]], trie: ByteTrie) {
        (self.tokens, self.trie) = (tokens, trie)
    }

    public var idLimit: Int { tokens.count }

    public func encode<Sink: TokenSink>(piece text: UnsafeBufferPointer<UInt8>, into sink: inout Sink) {
        guard !text.isEmpty else { return }
        let size = text.count
        // fewest[i]: tokens needed for text[i...]; choice[i]: the token that starts that path.
        ScratchSpace.withBuffer(of: (fewest: Int32, choice: TokenID).self, capacity: size + 1) { best in
            best[size] = (0, 0)
            var start = size - 1
            while start >= 0 {
                var fewest = best[start + 1].fewest + 1
                var choice = TokenID(text[start])
                trie.forEachPrefix(of: text, from: start) { end, id in
                    // Longer tokens come later: `<=` lets an equally short path with a longer first token win.
                    let count = best[end].fewest + 1
                    if count <= fewest {
                        fewest = count
                        choice = id
                    }
                }
                best[start] = (fewest, choice)
                start -= 1
            }
            var at = 0
            while at < size {
                let id = best[at].choice
                sink.append(id)
                at += tokens[Int(id)].count
            }
        }
    }

    /// The fewest tokens that spell `bytes` without `excluded` as a whole: what the text would cost per use
    /// if that token were gone (the trainer's measure of a token's worth).
    func fewestTokens(spelling bytes: [UInt8], without excluded: TokenID) -> Int {
        bytes.withUnsafeBufferPointer { text in
            ScratchSpace.withBuffer(of: Int32.self, capacity: text.count + 1) { fewest in
                fewest[text.count] = 0
                var start = text.count - 1
                while start >= 0 {
                    var best = fewest[start + 1] + 1
                    trie.forEachPrefix(of: text, from: start) { end, id in
                        if id != excluded { best = min(best, fewest[end] + 1) }
                    }
                    fewest[start] = best
                    start -= 1
                }
                return Int(fewest[0])
            }
        }
    }

    public func appendBytes(of id: TokenID, to output: inout [UInt8]) -> Bool {
        guard Int(id) < tokens.count else { return false }
        output += tokens[Int(id)]
        return true
    }
}

/// Splits text after each run of line breaks (`\n`): the ungreedy encoder's look-ahead then spans a line, its
/// scratch stays the size of a line, and lines encode on any core. Tokens may still cross spaces and words.
public struct LinePreTokenizer: PreTokenizer {
    /// A line ends after its run of line breaks.
    public var isLineLocal: Bool { true }

    public init() {}

    public func forEachPiece(in text: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        var start = 0
        var index = 0
        while index < text.count {
            if text[index] == 0x0A {
                while index < text.count && text[index] == 0x0A { index += 1 }
                body(UnsafeBufferPointer(rebasing: text[start..<index]))
                start = index
            } else {
                index += 1
            }
        }
        if start < text.count { body(UnsafeBufferPointer(rebasing: text[start...])) }
    }
}
