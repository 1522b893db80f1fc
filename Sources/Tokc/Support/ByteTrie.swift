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
        // Entries sorted by bytes, then laid out breadth-first: a node is a range of sorted entries sharing a
        // prefix of its depth, and its children are that range grouped by the next byte. No per-node maps.
        let sorted = entries.filter { !$0.bytes.isEmpty }.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
        var firstEdge: [Int32] = []
        var edgeBytes: [UInt8] = []
        var edgeTargets: [Int32] = []
        var ids: [Int32] = []
        var denseStart: [Int32] = []
        var denseTargets: [Int32] = []
        var queue: [(range: Range<Int>, depth: Int)] = [(0..<sorted.count, 0)]
        var head = 0
        while head < queue.count {
            let (range, depth) = queue[head]
            head += 1
            var start = range.lowerBound
            // An entry that ends here is this node's id (the first listed, if several are equal).
            var id: Int32 = -1
            while start < range.upperBound && sorted[start].bytes.count == depth {
                if id < 0 { id = Int32(bitPattern: sorted[start].id) }
                start += 1
            }
            ids.append(id)
            firstEdge.append(Int32(edgeBytes.count))
            var children = 0
            while start < range.upperBound {
                let byte = sorted[start].bytes[depth]
                var end = start + 1
                while end < range.upperBound && sorted[end].bytes[depth] == byte { end += 1 }
                let child = Int32(queue.count)
                queue.append((start..<end, depth + 1))
                edgeBytes.append(byte)
                edgeTargets.append(child)
                children += 1
                start = end
            }
            if children >= Self.denseFanOut {
                denseStart.append(Int32(denseTargets.count))
                var block = [Int32](repeating: -1, count: 256)
                for edge in (edgeBytes.count - children)..<edgeBytes.count { block[Int(edgeBytes[edge])] = edgeTargets[edge] }
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
