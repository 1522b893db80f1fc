import Dispatch

/// Counts a text of any size in bounded memory with one or more tokenizers: the input is read a window at a
/// time (16 MiB by default), and each window is counted up to its last place where every tokenizer allows a cut
/// (`Tokenizer.cuts`: a line start, a space after a word, ...; the same ids as the whole text), on all threads;
/// the rest of the window is carried into the next. A window with no such place grows until one comes (a text
/// with none is held whole). A tokenizer whose places drop the cut space (SentencePiece's: the next part's `▁`
/// prefix stands for it) starts its next part a byte later; a Unigram model's path score is carried from part to
/// part (`Tokenizer.CountCarry`). A tokenizer with no place at all (a pattern tokc has not shown cuttable, a
/// special token that may be matched across every place) holds the whole input, as counting it at once does:
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
        let rules = tokenizers.map { $0.cuts(allowedSpecial: allowedSpecial) }
        let places = Self.commonPlaces(rules)
        let cuttable = places.cutsAnywhere
        // Where each tokenizer's next part starts in the window: 1 after a cut that drops its space.
        var skips = [Int](repeating: 0, count: tokenizers.count)
        var carries = [Tokenizer.CountCarry](repeating: .init(), count: tokenizers.count)
        let sharesParts = tokenizers.count > 1 && cuttable && !places.dropsSpace
        var window = WindowBuffer(capacity: windowBytes)
        defer { window.deallocate() }
        var tokens = [Int](repeating: 0, count: tokenizers.count)
        var bytes = 0
        var atEnd = false
        while !atEnd {
            atEnd = try window.fill(from: stream)
            let text = window.text
            let cut = atEnd ? text.count : cuttable ? places.lastCut(in: text) : 0
            guard cut > 0 else { continue }
            if sharesParts {
                for (index, count) in countEach(UnsafeBufferPointer(rebasing: text[..<cut]), places).enumerated() { tokens[index] += count }
            } else {
                for (index, tokenizer) in tokenizers.enumerated() {
                    let part = UnsafeBufferPointer(rebasing: text[Swift.min(skips[index], cut)..<cut])
                    tokens[index] += tokenizer.count(part, allowedSpecial: allowedSpecial, threads: threads, carry: &carries[index])
                    skips[index] = atEnd ? 0 : rules[index].resume(after: cut) - cut
                }
            }
            bytes += cut
            window.drop(cut)
            progress(bytes)
        }
        return (bytes, tokens)
    }

    /// The places every rule allows; `dropsSpace` when any rule drops its space (then each place needs a byte
    /// after it, and line starts are out).
    static func commonPlaces(_ rules: [TextCuts]) -> TextCuts {
        guard var common = rules.first else { return .none }
        common.dropsSpace = false
        for var rule in rules.dropFirst() {
            rule.dropsSpace = false
            common = common.intersection(rule)
        }
        if rules.contains(where: \.dropsSpace) {
            common.dropsSpace = true
            common.lineStarts = false
        }
        return common
    }

    /// Several vocabularies over one window, as one set of tasks: every vocabulary's parts (cut where all allow)
    /// share the threads, so the window ends in one wait for the last part, not one per vocabulary. Tasks go
    /// vocabulary by vocabulary, so a thread keeps to one vocabulary's tables (and `MergeMemo` entries) for part
    /// after part.
    private func countEach(_ text: UnsafeBufferPointer<UInt8>, _ places: TextCuts) -> [Int] {
        let parts = Self.parts(of: text, places, threads: threads)
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

    /// `Tokenizer.cutParts` for places common to several tokenizers (never dropping a byte).
    static func parts(of text: UnsafeBufferPointer<UInt8>, _ places: TextCuts, threads: Int) -> [Range<Int>] {
        let size = Tokenizer.partSize(text.count, threads: threads, partBytes: nil)
        guard threads > 1, text.count > size else { return [0..<text.count] }
        var parts: [Range<Int>] = []
        var start = 0
        while start < text.count {
            let cut = start + size < text.count ? places.firstCut(in: text, from: start + size) ?? text.count : text.count
            parts.append(start..<cut)
            start = cut
        }
        return parts
    }
}

extension Tokenizer {
    /// Whether `TextStreamCounter` can cut this tokenizer's input into windows (in bounded memory): true when
    /// `cuts(allowedSpecial:)` allows some place. False for a pipeline tokc has not shown cuttable (a user's
    /// pattern, SentencePiece's `▁` as a suffix, a Unigram model with pieces that span a `▁`): such an input is
    /// held whole, though still counted on all threads where the encoder can cut it.
    public func streams(allowedSpecial: SpecialTokenPolicy) -> Bool {
        cuts(allowedSpecial: allowedSpecial).cutsAnywhere
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
