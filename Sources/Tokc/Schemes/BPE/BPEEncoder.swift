/// Byte-level BPE as tiktoken defines it: a piece's bytes start as single-byte tokens, and the adjacent pair
/// whose concatenation has the lowest rank merges first (the leftmost pair on a tie), until no adjacent pair
/// is a token. The rank is the token id; there is no separate merge list.
///
/// Whole-piece lookup comes first: most pieces of ordinary text are single tokens, and one hash lookup
/// settles them (tiktoken does the same).
public struct BPEEncoder: Encoder {
    let table: TokenTable
    /// The id of each single byte, so a merge starts without 256 lookups' worth of hashing.
    let byteIDs: [TokenID]

    /// Pieces up to this many bytes merge by scanning all pairs per merge (O(n²), flat and cache-friendly);
    /// longer ones use a heap (O(n log n)). Measured: see `BytePairMerge.swift`.
    static let linearMergeLimit = 128

    /// Wraps a table that must hold all 256 single bytes (the loaders check; byte-level BPE cannot
    /// encode arbitrary input otherwise). Returns nil, naming nothing, if one is missing.
    init?(table: TokenTable) {
        var byteIDs: [TokenID] = []
        byteIDs.reserveCapacity(256)
        for byte in 0...UInt8.max {
            guard let id = withUnsafePointer(to: byte, { table.id(of: $0, count: 1) }) else { return nil }
            byteIDs.append(id)
        }
        self.table = table
        self.byteIDs = byteIDs
    }

    public var idLimit: Int { table.idLimit }

    /// Number of tokens in the vocabulary.
    public var tokenCount: Int { table.count }

    public func encode<Sink: TokenSink>(piece: UnsafeBufferPointer<UInt8>, into sink: inout Sink) {
        guard let start = piece.baseAddress, piece.count > 0 else { return }
        if let id = table.id(of: start, count: piece.count) {
            sink.append(id)
        } else if piece.count <= Self.linearMergeLimit {
            BytePairMerge.linear(piece, table: table, byteIDs: byteIDs, into: &sink)
        } else {
            BytePairMerge.heap(piece, table: table, byteIDs: byteIDs, into: &sink)
        }
    }

    public func appendBytes(of id: TokenID, to output: inout [UInt8]) -> Bool {
        guard let bytes = table.bytes(of: id) else { return false }
        output.append(contentsOf: bytes)
        return true
    }

    /// The id of the token that is exactly `bytes`, if any.
    public func tokenID(of bytes: [UInt8]) -> TokenID? {
        bytes.withUnsafeBufferPointer { buffer in
            guard let start = buffer.baseAddress, !buffer.isEmpty else { return nil }
            return table.id(of: start, count: buffer.count)
        }
    }
}
