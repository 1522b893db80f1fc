import Dispatch

/// Counts a text of any size in bounded memory with one or more tokenizers: the input is read a window at a
/// time (16 MiB by default), and each window is counted up to its last line start (just after a line break,
/// before a letter or digit: where `splitsAtLineStarts` guarantees the same ids as the whole text), on all
/// threads; the rest of the window is carried into the next. A window with no such place grows until one comes
/// (a text without line breaks is held whole). A tokenizer that cannot be cut at line starts (SentencePiece's
/// own normaliser, a special token with a line break in it) holds the whole input, as counting it at once does:
/// `streams(allowedSpecial:)` says which.
public struct TextStreamCounter: Sendable {
    public let tokenizers: [Tokenizer]
    public let allowedSpecial: SpecialTokenPolicy
    public let threads: Int
    public let windowBytes: Int

    public init(tokenizers: [Tokenizer], allowedSpecial: SpecialTokenPolicy = .none, threads: Int, windowBytes: Int = 16 << 20) {
        self.tokenizers = tokenizers
        self.allowedSpecial = allowedSpecial
        self.threads = threads
        self.windowBytes = Swift.max(1, windowBytes)
    }

    /// The input's bytes and, per tokenizer, its tokens. `progress` is called after each window with the bytes
    /// counted so far.
    public func count(_ stream: ByteStream, progress: (Int) -> Void = { _ in }) throws(TokcError) -> (bytes: Int, tokens: [Int]) {
        let cuttable = tokenizers.allSatisfy { $0.streams(allowedSpecial: allowedSpecial) }
        var window = WindowBuffer(capacity: windowBytes)
        defer { window.deallocate() }
        var tokens = [Int](repeating: 0, count: tokenizers.count)
        var bytes = 0
        var atEnd = false
        while !atEnd {
            atEnd = try window.fill(from: stream)
            let text = window.text
            let cut = atEnd ? text.count : cuttable ? Self.lastLineStart(in: text) : 0
            guard cut > 0 else { continue }
            let counted = UnsafeBufferPointer(rebasing: text[..<cut])
            if tokenizers.count > 1 && cuttable {
                for (index, count) in countEach(counted).enumerated() { tokens[index] += count }
            } else {
                for (index, tokenizer) in tokenizers.enumerated() {
                    tokens[index] += tokenizer.count(counted, allowedSpecial: allowedSpecial, threads: threads)
                }
            }
            bytes += cut
            window.drop(cut)
            progress(bytes)
        }
        return (bytes, tokens)
    }

    /// Several vocabularies over one window, as one set of tasks: every vocabulary's line-start parts share the
    /// threads, so the window ends in one wait for the last part, not one per vocabulary. Tasks go vocabulary by
    /// vocabulary, so a thread keeps to one vocabulary's tables (and `MergeMemo` entries) for part after part.
    private func countEach(_ text: UnsafeBufferPointer<UInt8>) -> [Int] {
        let parts = tokenizers[0].lineStartParts(of: text, allowedSpecial: allowedSpecial, threads: threads, partBytes: nil)
        let tasks = tokenizers.count * parts.count
        var counts = [Int](repeating: 0, count: tasks)
        counts.withUnsafeMutableBufferPointer { counts in
            // Each task writes only its own slot; the buffers outlive the loop.
            nonisolated(unsafe) let (counts, text) = (counts, text)
            let (tokenizers, allowedSpecial) = (self.tokenizers, self.allowedSpecial)
            @Sendable func work(_ task: Int) {
                let part = parts[task % parts.count]
                counts[task] = tokenizers[task / parts.count].count(UnsafeBufferPointer(rebasing: text[part]), allowedSpecial: allowedSpecial)
            }
            if threads == 1 { (0..<tasks).forEach(work) } else { DispatchQueue.concurrentPerform(iterations: tasks, execute: work) }
        }
        return (0..<tokenizers.count).map { index in counts[(index * parts.count)..<((index + 1) * parts.count)].reduce(0, +) }
    }

    /// The last offset in `text` (above 0) just after a line break and before a whole letter or digit; 0 when
    /// there is none. A character cut off by the end of the window is not taken for one.
    static func lastLineStart(in text: UnsafeBufferPointer<UInt8>) -> Int {
        var index = text.count - 1
        while index > 0 {
            if text[index - 1] == 0x0A && Tokenizer.startsWithLetterOrDigit(text, at: index) { return index }
            index -= 1
        }
        return 0
    }
}

extension Tokenizer {
    /// Whether `TextStreamCounter` can cut this tokenizer's input into windows (in bounded memory): true when it
    /// splits at line starts (`splitsAtLineStarts`). False for SentencePiece's own normaliser (it rewrites runs
    /// of spaces and the start of the text, so no place is known safe before the text is whole): such an input
    /// is held whole, though still counted on all threads where the encoder can cut it.
    public func streams(allowedSpecial: SpecialTokenPolicy) -> Bool {
        splitsAtLineStarts(allowedSpecial: allowedSpecial)
    }
}

/// The bytes of a stream not yet counted: filled from the stream up to its capacity, emptied from the front.
/// It doubles when it is full and nothing could be taken from it (a line longer than the window).
struct WindowBuffer {
    private var storage: UnsafeMutableRawBufferPointer
    private(set) var used = 0

    init(capacity: Int) {
        storage = .allocate(byteCount: capacity, alignment: 16)
    }

    func deallocate() { storage.deallocate() }

    var text: UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: storage.baseAddress!.assumingMemoryBound(to: UInt8.self), count: used)
    }

    /// Reads until the buffer is full (doubling it first if it already is) or the stream ends; true at the end.
    mutating func fill(from stream: ByteStream) throws(TokcError) -> Bool {
        if used == storage.count {
            let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: storage.count * 2, alignment: 16)
            grown.copyMemory(from: UnsafeRawBufferPointer(storage))
            storage.deallocate()
            storage = grown
        }
        let free = storage.count - used
        let got = try stream.read(into: UnsafeMutableRawBufferPointer(rebasing: storage[used...]))
        used += got
        return got < free
    }

    /// Forgets the first `count` bytes, moving the rest to the front.
    mutating func drop(_ count: Int) {
        let rest = used - count
        if rest > 0 { storage.baseAddress!.copyMemory(from: storage.baseAddress! + count, byteCount: rest) }
        used = rest
    }
}
