/// A trie of byte strings to ids, in three flat arrays, for walking every token that starts at a position
/// (a lattice's edges) one byte at a time, with no hashing and no allocation.
struct ByteTrie: Sendable {
    /// Node `n`'s children are `edges[firstEdge[n]..<firstEdge[n + 1]]`, sorted by byte.
    private let firstEdge: [Int32]
    private let edgeBytes: [UInt8]
    private let edgeTargets: [Int32]
    /// The id a node ends, or -1.
    private let ids: [Int32]
    /// For a node with many children (the root has one per first byte), the start of its 256 targets in
    /// `denseTargets` (-1 where no edge), else -1: a linear scan of 200 edges per character was most of a
    /// Viterbi's time.
    private let denseStart: [Int32]
    private let denseTargets: [Int32]
    private static let denseFanOut = 12

    init(_ entries: [(bytes: [UInt8], id: TokenID)]) {
        // Build with a child map per node, then lay the edges out flat, children sorted by byte.
        var children: [[UInt8: Int32]] = [[:]]
        var ids: [Int32] = [-1]
        for (bytes, id) in entries where !bytes.isEmpty {
            var node = 0
            for byte in bytes {
                if let next = children[node][byte] {
                    node = Int(next)
                } else {
                    children.append([:])
                    ids.append(-1)
                    children[node][byte] = Int32(children.count - 1)
                    node = children.count - 1
                }
            }
            if ids[node] < 0 { ids[node] = Int32(bitPattern: id) }
        }
        var firstEdge: [Int32] = []
        var edgeBytes: [UInt8] = []
        var edgeTargets: [Int32] = []
        var denseStart: [Int32] = []
        var denseTargets: [Int32] = []
        firstEdge.reserveCapacity(children.count + 1)
        for map in children {
            firstEdge.append(Int32(edgeBytes.count))
            for (byte, target) in map.sorted(by: { $0.key < $1.key }) {
                edgeBytes.append(byte)
                edgeTargets.append(target)
            }
            if map.count >= Self.denseFanOut {
                denseStart.append(Int32(denseTargets.count))
                var block = [Int32](repeating: -1, count: 256)
                for (byte, target) in map { block[Int(byte)] = target }
                denseTargets += block
            } else {
                denseStart.append(-1)
            }
        }
        firstEdge.append(Int32(edgeBytes.count))
        self.firstEdge = firstEdge
        self.edgeBytes = edgeBytes
        self.edgeTargets = edgeTargets
        self.ids = ids
        self.denseStart = denseStart
        self.denseTargets = denseTargets
    }

    /// Calls `body(end, id)` for every entry that `text[start..<end]` spells, shortest first.
    @inline(__always)
    func forEachPrefix(of text: UnsafeBufferPointer<UInt8>, from start: Int, _ body: (Int, TokenID) -> Void) {
        var node = 0
        var index = start
        while index < text.count {
            let byte = text[index]
            let dense = Int(denseStart[node])
            if dense >= 0 {
                let target = Int(denseTargets[dense + Int(byte)])
                guard target >= 0 else { return }
                node = target
            } else {
                var edge = Int(firstEdge[node])
                let end = Int(firstEdge[node + 1])
                while edge < end && edgeBytes[edge] < byte { edge += 1 }
                guard edge < end && edgeBytes[edge] == byte else { return }
                node = Int(edgeTargets[edge])
            }
            index += 1
            if ids[node] >= 0 { body(index, TokenID(bitPattern: ids[node])) }
        }
    }
}
