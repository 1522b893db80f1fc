/// Byte-level BPE as Hugging Face `tokenizers` runs it when merges are ranked by their place in the merge list
/// (`ignore_merges: false`): a piece starts as single-byte tokens, and the adjacent pair whose merge comes
/// first in the list merges first (the leftmost on a tie), until no adjacent pair has a merge. Unlike tiktoken's
/// rule, a pair merges only if the list has that very pair, not merely a token equal to its concatenation.
public struct MergeListBPEEncoder: Encoder {
    let table: TokenTable
    let byteIDs: [TokenID]
    /// `left << 32 | right` → `rank << 32 | merged id`.
    let merges: [UInt64: UInt64]

    static let noMerge = UInt64.max

    /// `merges` in list order, as token ids. Returns nil if a single byte is not a token.
    init?(table: TokenTable, merges: [(left: TokenID, right: TokenID, merged: TokenID)]) {
        guard let byteIDs = table.singleByteIDs() else { return nil }
        var ranks: [UInt64: UInt64] = [:]
        ranks.reserveCapacity(merges.count)
        for (rank, merge) in merges.enumerated() {
            let key = UInt64(merge.left) << 32 | UInt64(merge.right)
            if ranks[key] == nil { ranks[key] = UInt64(rank) << 32 | UInt64(merge.merged) }  // the first listing wins
        }
        self.table = table
        self.byteIDs = byteIDs
        self.merges = ranks
    }

    public var idLimit: Int { table.idLimit }

    @inline(__always)
    private func merge(_ left: TokenID, _ right: TokenID) -> UInt64 {
        merges[UInt64(left) << 32 | UInt64(right)] ?? Self.noMerge
    }

    public func encode<Sink: TokenSink>(piece: UnsafeBufferPointer<UInt8>, into sink: inout Sink) {
        let count = piece.count
        guard count > 0 else { return }
        if count == 1 {
            sink.append(byteIDs[Int(piece[0])])
            return
        }
        // parts[i] is a token; pending[i] the merge of parts[i] and parts[i + 1]. Each merge rescans the ranks
        // (no lookups) and looks up only the two new neighbours: O(n²) comparisons, O(n) lookups.
        withUnsafeTemporaryAllocation(of: TokenID.self, capacity: count) { parts in
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: count) { pending in
                for index in 0..<count { parts[index] = byteIDs[Int(piece[index])] }
                for index in 0..<count - 1 { pending[index] = merge(parts[index], parts[index + 1]) }
                var length = count
                while length > 1 {
                    var best = Self.noMerge
                    var at = -1
                    for index in 0..<length - 1 where pending[index] < best {
                        best = pending[index]
                        at = index
                    }
                    guard at >= 0 else { break }
                    parts[at] = TokenID(truncatingIfNeeded: best)
                    for index in (at + 1)..<(length - 1) {
                        parts[index] = parts[index + 1]
                        pending[index] = pending[index + 1]
                    }
                    length -= 1
                    if at + 1 < length { pending[at] = merge(parts[at], parts[at + 1]) } else { pending[at] = Self.noMerge }
                    if at > 0 { pending[at - 1] = merge(parts[at - 1], parts[at]) }
                }
                for index in 0..<length { sink.append(parts[index]) }
            }
        }
    }

    public func appendBytes(of id: TokenID, to output: inout [UInt8]) -> Bool {
        guard let bytes = table.bytes(of: id) else { return false }
        output.append(contentsOf: bytes)
        return true
    }
}

/// Runs pre-tokenizers one after another, each on the pieces of the one before (Hugging Face's `Sequence` of
/// `Split`s): the pieces of the last are the pieces.
public struct SequencePreTokenizer: PreTokenizer {
    public let stages: [any PreTokenizer]

    public init(_ stages: [any PreTokenizer]) {
        self.stages = stages
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
