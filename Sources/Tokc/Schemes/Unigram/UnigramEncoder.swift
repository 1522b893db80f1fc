/// A SentencePiece Unigram model: the text (normalised, `▁` for spaces) is cut where the sum of the pieces'
/// scores (log probabilities) is highest, by Viterbi over every piece that starts at every character, as
/// SentencePiece's optimised encoder does it: one best path per end position, kept as the lattice is walked,
/// never stored whole.
///
/// Exactly as SentencePiece: scores are added in `Float`; of equal paths the first found stays (shorter pieces
/// and earlier starts are tried first); a character no piece covers is an unknown node scoring the lowest
/// normal score minus 10; a user-defined piece scores `length × highest score − 0.1` so it always wins;
/// unused pieces are never chosen. Unknown spans become their UTF-8 bytes' `<0xNN>` pieces with byte fallback,
/// else one unknown id for each run of them.
public struct UnigramEncoder: Encoder {
    let trie: ByteTrie
    /// Piece texts by id (byte pieces as their byte, control pieces as nothing) for decoding.
    let texts: [[UInt8]]
    let scores: [Float]
    let types: [SentencePieceModel.PieceType]
    public let unknown: TokenID
    let unknownScore: Float
    let highestScore: Float
    /// `<0xNN>` ids by byte, with byte fallback.
    let byteIDs: [TokenID]?
    /// What the unknown piece decodes to.
    let unknownSurface: [UInt8]

    init(model: SentencePieceModel) {
        let pieces = model.pieces
        trie = ByteTrie(pieces.enumerated().compactMap { id, piece in
            [.normal, .userDefined, .unused].contains(piece.type) ? (piece.text, TokenID(id)) : nil
        })
        texts = pieces.map { piece in
            switch piece.type {
            case .byte: return ByteFallback.byte(ofToken: piece.text).map { [$0] } ?? []
            case .control: return []
            default: return piece.text
            }
        }
        scores = pieces.map(\.score)
        types = pieces.map(\.type)
        unknown = TokenID(model.unknownID)
        // SentencePiece starts its maximum at FLT_MIN (the smallest positive float), not at -FLT_MAX.
        var lowest = Float.greatestFiniteMagnitude, highest = Float.leastNormalMagnitude
        for piece in pieces where piece.type == .normal {
            lowest = min(lowest, piece.score)
            highest = max(highest, piece.score)
        }
        unknownScore = lowest - 10
        highestScore = highest
        if model.byteFallback {
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

    public var idLimit: Int { texts.count }

    /// SentencePiece's character length from the lead byte (a stray continuation byte counts as one).
    @inline(__always) static func characterLength(_ lead: UInt8) -> Int {
        lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
    }

    private struct Node {
        var score: Float = 0
        var start: Int32 = -1
        var id: Int32 = -1
    }

    public func encode<Sink: TokenSink>(piece text: UnsafeBufferPointer<UInt8>, into sink: inout Sink) {
        guard !text.isEmpty else { return }
        let size = text.count
        withUnsafeTemporaryAllocation(of: Node.self, capacity: size + 1) { best in
            best.initialize(repeating: Node())
            var start = 0
            while start < size {
                let scoreHere = best[start].score
                let length = min(Self.characterLength(text[start]), size - start)
                var coversCharacter = false
                trie.forEachPrefix(of: text, from: start) { end, id in
                    let type = types[Int(id)]
                    if type == .unused { return }
                    let candidate: Float
                    if type == .userDefined {
                        candidate = Float(Double(end - start) * Double(highestScore) - 0.1 + Double(scoreHere))
                    } else {
                        candidate = scores[Int(id)] + scoreHere
                    }
                    if best[end].start < 0 || candidate > best[end].score {
                        best[end] = Node(score: candidate, start: Int32(start), id: Int32(id))
                    }
                    if end - start == length { coversCharacter = true }
                }
                if !coversCharacter {
                    let candidate = unknownScore + scoreHere
                    if best[start + length].start < 0 || candidate > best[start + length].score {
                        best[start + length] = Node(score: candidate, start: Int32(start), id: Int32(unknown))
                    }
                }
                start += length
            }
            // Walk back from the end, then emit forwards: each node's `start` is re-used to link to the next.
            var end = size
            var next: Int32 = -1
            while end > 0 {
                let previous = Int(best[end].start)
                best[end].start = next
                next = Int32(end)
                end = previous
            }
            var from = 0
            var previousUnknown = false
            while next >= 0 {
                let to = Int(next)
                let id = TokenID(best[to].id)
                if id == unknown {
                    if let byteIDs {
                        for byte in text[from..<to] { sink.append(byteIDs[Int(byte)]) }
                    } else if !previousUnknown {
                        sink.append(id)
                    }
                    previousUnknown = true
                } else {
                    sink.append(id)
                    previousUnknown = false
                }
                from = to
                next = best[to].start
            }
        }
    }

    public func appendBytes(of id: TokenID, to output: inout [UInt8]) -> Bool {
        guard Int(id) < texts.count else { return false }
        output += id == unknown ? unknownSurface : texts[Int(id)]
        return true
    }
}
