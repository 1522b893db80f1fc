/// Bytes appended through a pointer into storage that doubles when full, handed over as an array at the end.
///
/// Why not `[UInt8]`: a normaliser appends a run of a few bytes per word, and `Array.append(contentsOf:)` of a
/// buffer costs a uniqueness check, a capacity check and a generic element copy each time (callgrind,
/// SentencePiece normaliser on English: 14 instructions a byte of input in appends alone). Here an append is a
/// capacity check and a `memcpy`; the one extra copy into the array at the end costs a fraction of an
/// instruction a byte. Noncopyable, so the storage has exactly one owner and is freed exactly once.
struct ByteWriter: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    deinit {
        base.deallocate()
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        if count == capacity { grow(toHold: count + 1) }
        base[count] = byte
        count += 1
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress else { return }
        if count + bytes.count > capacity { grow(toHold: count + bytes.count) }
        (base + count).update(from: source, count: bytes.count)
        count += bytes.count
    }

    /// Whether the bytes written so far end with `suffix`.
    func ends(with suffix: [UInt8]) -> Bool {
        guard count >= suffix.count else { return false }
        return UnsafeBufferPointer(start: base + count - suffix.count, count: suffix.count).elementsEqual(suffix)
    }

    mutating func removeLast(_ byteCount: Int) {
        precondition(byteCount <= count, "ByteWriter.removeLast past the start")
        count -= byteCount
    }

    /// The bytes written, as an array; the writer is gone.
    consuming func finish() -> [UInt8] {
        Array(UnsafeBufferPointer(start: base, count: count))
    }

    @inline(never)
    private mutating func grow(toHold needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        grown.update(from: base, count: count)
        base.deallocate()
        base = grown
        capacity = newCapacity
    }
}

/// Where a normaliser written once for both uses puts its bytes: a `ByteWriter` when only the bytes matter, an
/// `AlignedText` when offsets need to know which input bytes each came from (`source`).
protocol NormalizedOutput: ~Copyable {
    mutating func append(_ byte: UInt8, from source: Range<Int>)
    /// `text[range]` unchanged: each byte from itself.
    mutating func appendCopy(of text: UnsafeBufferPointer<UInt8>, _ range: Range<Int>)
    func ends(with suffix: [UInt8]) -> Bool
    mutating func removeLast(_ byteCount: Int)
}

extension ByteWriter: NormalizedOutput {
    @inline(__always)
    mutating func append(_ byte: UInt8, from source: Range<Int>) { append(byte) }

    @inline(__always)
    mutating func appendCopy(of text: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) {
        append(UnsafeBufferPointer(rebasing: text[range]))
    }
}

extension AlignedText: NormalizedOutput {
    mutating func appendCopy(of text: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) {
        appendCopy(of: text, range, shiftedBy: 0)
    }
}
