/// A Unigram model: the text (normalised, `▁` for spaces) is cut where the sum of the pieces' scores (log
/// probabilities) is highest, by Viterbi over every piece that starts at every character, as SentencePiece's
/// optimised encoder does it: one best path per end position, kept as the lattice is walked, never stored whole.
///
/// Two readings of the same model, each exact against its reference:
/// - **SentencePiece** (`.model` files): scores are added in `Float`, and kept near zero on a long text as
///   sentencepiece 0.2.3 does (`rebaseThreshold`); a user-defined piece scores
///   `length × highest score − 0.1` so it always wins; unused, control and byte pieces are never matched.
/// - **Hugging Face** (`tokenizer.json`): scores are added in `Double`; every piece of the vocabulary is matched,
///   by its own score (so the text `<0x41>` can be the byte piece, as it is there).
///
/// In both, of equal paths the first found stays (shorter pieces and earlier starts are tried first); a
/// character no piece covers is an unknown node scoring the lowest score minus 10; unknown spans become their
/// UTF-8 bytes' `<0xNN>` pieces with byte fallback, else one unknown id for each run of them.
public struct UnigramEncoder: Encoder {
    let trie: ByteTrie
    /// The most bytes one lattice edge spans: the longest matchable piece, or a four-byte unknown character.
    let longestEdge: Int
    /// Piece texts by id (byte pieces as their byte, control pieces as nothing) for decoding.
    let texts: [[UInt8]]
    /// What a lattice edge of each id adds: its score, or NaN for a user-defined piece (whose score depends on
    /// its length). One load per edge instead of the type and then the score.
    let edgeScores: [Double]
    /// Whose rules: SentencePiece's (`.model`) or Hugging Face's (`tokenizer.json`).
    let reading: Reading
    public enum Reading: Sendable { case sentencePiece, huggingFace }
    public let unknown: TokenID
    public var unknownID: TokenID? { unknown }
    let unknownScore: Double
    let highestScore: Double
    /// `<0xNN>` ids by byte (`noByte` where the vocabulary has none), with byte fallback.
    let byteIDs: [TokenID]?
    /// What the unknown piece decodes to.
    let unknownSurface: [UInt8]
    /// Whether every lattice path passes through the start of every `▁`: no matchable piece holds `▁` but at
    /// its start, and `▁` itself is a piece (so no unknown node, which could join a run, covers one). True of
    /// every model trained with SentencePiece's whitespace splitting; `encode` then works a word at a time.
    var cutsAtSpaces: Bool  // `var` only so that tests can compare the whole lattice with the cut one.
    static let noByte = TokenID.max
    /// Where sentencepiece 0.2.3 rebases a path's score to zero (its encoder's constant, read from the machine
    /// code of the release's Python wheel: the 0.2.0 source has no rebase). Found because whole corpus files
    /// encoded as one text came out with a few ids different from sentencepiece's ("▁A r ra y s" for "r r ay"),
    /// where the running score had grown to -100,000 and more and Float ties broke otherwise; a simulation in
    /// Python with this rule reproduced sentencepiece's ids on all five held-out files, without it none.
    static let rebaseThreshold = 100_000.0
    /// A lattice covers whole words up to this many bytes (then ends before the next `▁`): 4 KB of nodes, in L1.
    /// cachegrind, unigram-multi-8k, held-out text, whole run: one word a lattice de 440.2M, en 483.6M; 256 bytes
    /// 413.4M, 447.1M; 1,024 bytes 412.1M, 445.5M, but 20% slower by the clock (16 KB of nodes, out of L1).
    static let spanBytes = 256

    /// SentencePiece's reading of a `.model`.
    init(model: SentencePieceModel) {
        let pieces = model.pieces
        // Unused pieces are never matched (SentencePiece skips them), so they are left out of the trie.
        let matched = pieces.enumerated().compactMap { id, piece in
            [.normal, .userDefined].contains(piece.type) ? (piece.text, TokenID(id)) : nil
        }
        trie = ByteTrie(matched)
        // Closures, not key paths: a tuple's `\.0` is projected through the runtime (16.8M instructions here).
        longestEdge = max(4, matched.map { $0.0.count }.max() ?? 0)
        cutsAtSpaces = Self.cutsAtSpaces(matched.lazy.map { $0.0 }, trie: trie)
        texts = pieces.map { piece in
            switch piece.type {
            case .byte: return ByteFallback.byte(ofToken: piece.text).map { [$0] } ?? []
            case .control: return []
            default: return piece.text
            }
        }
        edgeScores = pieces.map { $0.type == .userDefined ? .nan : Double($0.score) }
        reading = .sentencePiece
        unknown = TokenID(model.unknownID)
        // SentencePiece starts its maximum at FLT_MIN (the smallest positive float), not at -FLT_MAX.
        var lowest = Float.greatestFiniteMagnitude, highest = Float.leastNormalMagnitude
        for piece in pieces where piece.type == .normal {
            lowest = min(lowest, piece.score)
            highest = max(highest, piece.score)
        }
        unknownScore = Double(lowest - 10)
        highestScore = Double(highest)
        if model.byteFallback {
            // SentencePiece looks each byte's piece up and gets the unknown id where there is none.
            var byteIDs = [TokenID](repeating: TokenID(model.unknownID), count: 256)
            for (id, piece) in pieces.enumerated() where piece.type == .byte {
                if let byte = ByteFallback.byte(ofToken: piece.text) { byteIDs[Int(byte)] = TokenID(id) }
            }
            self.byteIDs = byteIDs
        } else {
            byteIDs = nil
        }
        unknownSurface = model.unknownSurface
    }

    /// An encoder from its fields as stored (`CompiledEncoder`, `read(from:)`).
    init(
        trie: ByteTrie, longestEdge: Int, texts: [[UInt8]], edgeScores: [Double], reading: Reading, unknown: TokenID,
        unknownScore: Double, highestScore: Double, byteIDs: [TokenID]?, unknownSurface: [UInt8], cutsAtSpaces: Bool
    ) {
        (self.trie, self.longestEdge, self.texts, self.edgeScores, self.reading) = (trie, longestEdge, texts, edgeScores, reading)
        (self.unknown, self.unknownScore, self.highestScore, self.byteIDs) = (unknown, unknownScore, highestScore, byteIDs)
        (self.unknownSurface, self.cutsAtSpaces) = (unknownSurface, cutsAtSpaces)
    }

    /// Hugging Face's reading of a `tokenizer.json` Unigram model: `vocab[i]` is the text and score of id `i`.
    /// Where a text is listed twice, the last id is the one matched, as there. With `byteFallback`, `<0xNN>`
    /// pieces decode to their byte.
    init(huggingFaceVocabulary vocabulary: [(text: [UInt8], score: Double)], unknown: TokenID, byteFallback: Bool) {
        var idOfText: [[UInt8]: TokenID] = [:]
        for (id, piece) in vocabulary.enumerated() { idOfText[piece.text] = TokenID(id) }
        trie = ByteTrie(idOfText.map { ($0.key, $0.value) })
        longestEdge = max(4, idOfText.keys.map(\.count).max() ?? 0)
        cutsAtSpaces = Self.cutsAtSpaces(idOfText.keys, trie: trie)
        var byteIDs = [TokenID](repeating: Self.noByte, count: 256)
        texts = vocabulary.enumerated().map { id, piece in
            if byteFallback, let byte = ByteFallback.byte(ofToken: piece.text), idOfText[piece.text] == TokenID(id) {
                byteIDs[Int(byte)] = TokenID(id)
                return [byte]
            }
            return piece.text
        }
        self.byteIDs = byteFallback ? byteIDs : nil
        let scores = vocabulary.map(\.score)
        edgeScores = scores
        reading = .huggingFace
        self.unknown = unknown
        unknownScore = (scores.min() ?? 0) - 10
        highestScore = scores.max() ?? 0
        unknownSurface = vocabulary[Int(unknown)].text
    }

    /// The ids of the byte pieces that decode to their byte.
    public var byteFallbackIDs: Set<TokenID> { Set((byteIDs ?? []).filter { $0 != Self.noByte && $0 != unknown }) }

    public var idLimit: Int { texts.count }

    /// SentencePiece's character length from the lead byte (a stray continuation byte counts as one).
    @inline(__always) static func characterLength(_ lead: UInt8) -> Int {
        lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
    }

    /// The best path to a position: its score, the start of its last piece (-1: no path yet) and that piece.
    /// An unset node scores -∞, so one comparison (`candidate > score`) both fills it and keeps the first of
    /// equal candidates, as SentencePiece's "unset or better" does.
    private struct Node {
        var score = -Double.infinity
        var start: Int32 = -1
        var id: Int32 = -1
    }

    public func encode<Sink: TokenSink>(piece text: UnsafeBufferPointer<UInt8>, into sink: inout Sink) {
        var score = 0.0
        encode(piece: text, continuing: &score, into: &sink)
    }

    /// `encode(piece:into:)` for a text that goes on from one whose best path has scored `score` so far (0 at
    /// the start of a text), which it updates. A text cut before a `▁` that starts a word (where `cutsAtSpaces`:
    /// no piece crosses it) and encoded part by part this way gives exactly the whole's ids: every sum is the one
    /// the whole lattice adds, Float rounding and sentencepiece's rebase included (parts encoded from 0 would
    /// round otherwise, and break a near tie another way). What lets `tokc count` stream a Unigram model.
    public func encode<Sink: TokenSink>(piece text: UnsafeBufferPointer<UInt8>, continuing carried: inout Double, into sink: inout Sink) {
        guard !text.isEmpty else { return }
        guard cutsAtSpaces else {
            carried = encodeSpan(text, from: 0, to: text.count, startScore: carried, into: &sink)
            return
        }
        // A few words' lattice at a time (up to `spanBytes`, in L1) instead of one the size of the text (16
        // bytes a byte: 16 MB for a 1 MB text, a cache miss per node). The running score is carried across,
        // so every sum is the one the whole lattice would add, rounding included.
        let size = text.count
        var spanStart = 0
        var score = carried
        defer { carried = score }
        while spanStart < size {
            var spanEnd = spanStart + min(Self.characterLength(text[spanStart]), size - spanStart)
            while spanEnd < size {
                // ASCII is a character a byte and never `▁`: passed over without the character-length steps.
                if text[spanEnd] < 0x80 {
                    spanEnd += 1
                    continue
                }
                if Self.startsWithSpace(text, at: spanEnd) {
                    // Several words a lattice, up to `spanBytes`: a lattice's setup costs as much as a short word.
                    if spanEnd - spanStart >= Self.spanBytes { break }
                    spanEnd += 3
                    continue
                }
                spanEnd += min(Self.characterLength(text[spanEnd]), size - spanEnd)
            }
            score = encodeSpan(text, from: spanStart, to: spanEnd, startScore: score, into: &sink)
            spanStart = spanEnd
        }
    }

    /// Whether `▁` (E2 96 81) starts at `index`.
    @inline(__always) private static func startsWithSpace(_ text: UnsafeBufferPointer<UInt8>, at index: Int) -> Bool {
        text[index] == 0xE2 && index + 2 < text.count && text[index + 1] == 0x96 && text[index + 2] == 0x81
    }

    /// Whether the lattice may be cut before every `▁` (see `cutsAtSpaces`): `▁` is a piece, and no piece
    /// holds `▁`, or the start of one at its end, anywhere but at its start.
    static func cutsAtSpaces(_ pieces: some Sequence<[UInt8]>, trie: ByteTrie) -> Bool {
        let space: [UInt8] = [0xE2, 0x96, 0x81]
        var spaceIsAPiece = false
        space.withUnsafeBufferPointer { bytes in
            trie.forEachPrefix(of: bytes, from: 0) { end, _ in if end == bytes.count { spaceIsAPiece = true } }
        }
        guard spaceIsAPiece else { return false }
        for piece in pieces {
            for index in piece.indices.dropFirst() where piece[index] == 0xE2 {
                let rest = piece[(index + 1)...].prefix(2)
                if space.dropFirst().starts(with: rest) { return false }
            }
        }
        return true
    }

    /// Viterbi over `text[from..<to]`, whose best path starts at `startScore`; appends the path's ids and
    /// returns its score. No piece crosses `to` (a cut before `▁`, or the end of the text).
    private func encodeSpan<Sink: TokenSink>(
        _ text: UnsafeBufferPointer<UInt8>, from spanStart: Int, to spanEnd: Int, startScore: Double, into sink: inout Sink
    ) -> Double {
        let size = spanEnd - spanStart
        let addsInFloat = reading == .sentencePiece
        return ScratchSpace.withBuffer(of: Node.self, capacity: size + 1) { best in
            best.initialize(repeating: Node())
            best[0].score = startScore
            var start = 0
            while start < size {
                let scoreHere = addsInFloat ? rebasedScore(best, at: start, size: size) : best[start].score
                let length = min(Self.characterLength(text[spanStart + start]), size - start)
                let start32 = Int32(start)
                var coversCharacter = false
                trie.forEachPrefix(of: text, from: spanStart + start) { absoluteEnd, id in
                    let end = absoluteEnd - spanStart
                    guard end <= size else { return }
                    var candidate = edgeScores[Int(id)] + scoreHere
                    if candidate.isNaN {  // a user-defined piece: it always wins
                        candidate = Double(end - start) * highestScore - 0.1 + scoreHere
                    }
                    // A sum of two floats rounded once from Double is the Float sum (53 ≥ 2 × 24 + 2 bits).
                    if addsInFloat { candidate = Double(Float(candidate)) }
                    if candidate > best[end].score {
                        best[end] = Node(score: candidate, start: start32, id: Int32(bitPattern: id))
                    }
                    if end - start == length { coversCharacter = true }
                }
                if !coversCharacter {
                    var candidate = unknownScore + scoreHere
                    if addsInFloat { candidate = Double(Float(candidate)) }
                    if candidate > best[start + length].score {
                        best[start + length] = Node(score: candidate, start: start32, id: Int32(bitPattern: unknown))
                    }
                }
                start += length
            }
            let finalScore = best[size].score
            // Walk back from the end, then emit forwards: each node's `start` is re-used to link to the next.
            var end = size
            var next: Int32 = -1
            while end > 0 {
                let previous = Int(best[end].start)
                best[end].start = next
                next = Int32(end)
                end = previous
            }
            // A run of unknown nodes is one span: its bytes' pieces with byte fallback (when the vocabulary has
            // them all, else one unknown id, as Hugging Face), else one unknown id.
            var from = 0
            while next >= 0 {
                var to = Int(next)
                let id = TokenID(best[to].id)
                next = best[to].start
                if id == unknown {
                    while next >= 0 && TokenID(best[Int(next)].id) == unknown {
                        to = Int(next)
                        next = best[to].start
                    }
                    let bytes = text[(spanStart + from)..<(spanStart + to)]
                    // Hugging Face looks the span up first: the text `<unk>` alone is the unknown piece itself.
                    let isUnknownPiece = reading == .huggingFace && bytes.elementsEqual(unknownSurface)
                    if let byteIDs, !isUnknownPiece, !bytes.contains(where: { byteIDs[Int($0)] == Self.noByte }) {
                        for byte in bytes { sink.append(byteIDs[Int(byte)]) }
                    } else {
                        sink.append(id, covering: to - from)
                    }
                } else {
                    sink.append(id)
                }
                from = to
            }
            return finalScore
        }
    }

    /// The score of the best path to `start`, after sentencepiece 0.2.3's rebase (`rebaseThreshold`): past
    /// ±100,000 it is subtracted, in Float, from every path that ends at `start` or ahead (those are the nodes
    /// already set; none lies further than the longest piece from `start`), and the walk goes on from zero.
    @inline(__always)
    private func rebasedScore(_ best: UnsafeMutableBufferPointer<Node>, at start: Int, size: Int) -> Double {
        let score = best[start].score
        guard score.magnitude > Self.rebaseThreshold, score.magnitude <= Double(Float.greatestFiniteMagnitude) else { return score }
        return rebase(best, at: start, size: size)
    }

    @inline(never)
    private func rebase(_ best: UnsafeMutableBufferPointer<Node>, at start: Int, size: Int) -> Double {
        let score = Float(best[start].score)
        best[start].score = 0
        for position in (start + 1)..<min(size + 1, start + longestEdge + 1) where best[position].start >= 0 {
            best[position].score = Double(Float(best[position].score) - score)
        }
        return 0
    }

    public func appendBytes(of id: TokenID, to output: inout [UInt8]) -> Bool {
        guard Int(id) < texts.count else { return false }
        output += id == unknown ? unknownSurface : texts[Int(id)]
        return true
    }
}
