/// A token id. In tiktoken vocabularies the id is also the merge rank.
public typealias TokenID = UInt32

/// Where an encoder writes its tokens. Encoders have one encode loop, generic over the sink, so counting,
/// collecting ids and stopping at a budget share one copy of each algorithm (as rust-gems `bpe` does).
///
/// Implement `append` only; it is called once per token, in order, and must not allocate per call beyond
/// the amortised growth of its own storage.
public protocol TokenSink {
    mutating func append(_ token: TokenID)

    /// The same, from an encoder whose token does not spell the bytes it stands for: an unknown token (it
    /// covers `byteCount` bytes of the piece), a WordPiece continuation (`##ing` covers `ing`). Encoders call
    /// it only for such tokens; a sink that keeps offsets (`OffsetSink`) needs it, the others ignore the length.
    mutating func append(_ token: TokenID, covering byteCount: Int)
}

extension TokenSink {
    @inline(__always)
    public mutating func append(_ token: TokenID, covering byteCount: Int) { append(token) }
}

/// Collects ids.
public struct IDSink: TokenSink {
    public private(set) var ids: [TokenID]

    public init(reservingCapacity capacity: Int = 0) {
        ids = []
        ids.reserveCapacity(capacity)
    }

    public mutating func append(_ token: TokenID) { ids.append(token) }

    /// Empties the sink but keeps its storage, for the next text.
    public mutating func removeAll() { ids.removeAll(keepingCapacity: true) }
}

/// Counts tokens and keeps nothing: counting allocates no storage for ids.
public struct CountSink: TokenSink {
    public private(set) var count: Int = 0

    public init() {}

    public mutating func append(_ token: TokenID) { count &+= 1 }
}

/// Collects ids in memory it manages itself, for `Tokenizer.encode`: an append is a capacity check and a store,
/// where `IDSink`'s array append cost about 28 instructions an id (callgrind, o200k_base, 1 MB of English: 57M
/// instructions to count, 63M to encode). `finish` hands the ids over as an array and frees the buffer; the sink
/// is used once, by the function that made it.
struct BufferSink: TokenSink {
    private var base: UnsafeMutablePointer<TokenID>
    private var count = 0
    private var capacity: Int

    init(reservingCapacity capacity: Int) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    @inline(__always)
    mutating func append(_ token: TokenID) {
        if count == capacity { (base, capacity) = Self.grown(base, count: count, capacity: capacity) }
        (base + count).initialize(to: token)
        count &+= 1
    }

    /// Static, taking and giving values, so that a sink kept in a local variable never has its address taken
    /// and its fields can live in registers through an encoder's loop.
    @inline(never)
    private static func grown(
        _ base: UnsafeMutablePointer<TokenID>, count: Int, capacity: Int
    ) -> (UnsafeMutablePointer<TokenID>, Int) {
        let larger = UnsafeMutablePointer<TokenID>.allocate(capacity: capacity * 2)
        larger.moveInitialize(from: base, count: count)
        base.deallocate()
        return (larger, capacity * 2)
    }

    /// The ids, as an array; the buffer is freed, and the sink must not be used again.
    mutating func finish() -> [TokenID] {
        let ids = Array(UnsafeBufferPointer(start: base, count: count))
        base.deallocate()
        count = 0
        capacity = 0
        return ids
    }
}
