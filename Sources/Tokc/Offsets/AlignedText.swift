/// Normalised bytes with, for each, the bytes of the normaliser's input it came from: Hugging Face's
/// `NormalizedString` alignments, kept by byte. What lets a token found in normalised text be given its span
/// in the text the caller passed (`Tokenizer.encodeWithOffsets`).
///
/// The rules are Hugging Face's: a byte copied or rewritten comes from the character it rewrites (`ﬁ` → `fi`:
/// both letters come from `ﬁ`); a character composed from several (`e` + U+0301 → `é` under NFC) comes from the
/// first, the others are in no byte's span (`forEachCharacterPair`); a replacement of several characters
/// (`Replace` of `" {2,}"`) comes from the last of them; a prefix put in front (`Prepend`, `Metaspace`,
/// SentencePiece's dummy prefix) comes from the first character; removed characters are in no byte's span.
/// SentencePiece's own normaliser (`.model` files, no Hugging Face reference) gives a rewritten stretch all the
/// input its rule consumed.
public struct AlignedText: Sendable, Equatable {
    public internal(set) var bytes: [UInt8] = []
    /// `starts[i]..<ends[i]`: the input bytes that `bytes[i]` came from.
    public internal(set) var starts: [Int] = []
    public internal(set) var ends: [Int] = []

    public init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
        starts.reserveCapacity(capacity)
        ends.reserveCapacity(capacity)
    }

    /// `text` unchanged: each byte comes from itself.
    public init(identity text: UnsafeBufferPointer<UInt8>) {
        bytes = Array(text)
        starts = Array(0..<text.count)
        ends = Array(1..<(text.count + 1))
    }

    public var count: Int { bytes.count }

    /// Appends `byte`, come from `source`.
    @inline(__always)
    public mutating func append(_ byte: UInt8, from source: Range<Int>) {
        bytes.append(byte)
        starts.append(source.lowerBound)
        ends.append(source.upperBound)
    }

    /// Appends `replacement`, every byte come from `source`.
    public mutating func append(_ replacement: some Collection<UInt8>, from source: Range<Int>) {
        for byte in replacement { append(byte, from: source) }
    }

    /// Appends `text[range]` unchanged, each byte come from itself, shifted by `offset` (for a slice).
    public mutating func appendCopy(of text: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, shiftedBy offset: Int) {
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: text[range]))
        for index in range {
            starts.append(index + offset)
            ends.append(index + offset + 1)
        }
    }

    public mutating func removeLast(_ byteCount: Int) {
        bytes.removeLast(byteCount)
        starts.removeLast(byteCount)
        ends.removeLast(byteCount)
    }

    public func ends(with suffix: [UInt8]) -> Bool {
        bytes.count >= suffix.count && bytes[(bytes.count - suffix.count)...].elementsEqual(suffix)
    }

    /// The input span of the normalised bytes `range` (Hugging Face's `convert_offsets`: from the first byte's
    /// start to the last byte's end). An empty range is the empty span where its first byte's would start.
    public func inputRange(of range: Range<Int>) -> Range<Int> {
        guard !range.isEmpty else {
            let at = range.lowerBound < count ? starts[range.lowerBound] : (count > 0 ? ends[count - 1] : 0)
            return at..<at
        }
        let start = starts[range.lowerBound], end = ends[range.upperBound - 1]
        return min(start, end)..<max(start, end)
    }

    /// This text's alignments carried back through `earlier`, the alignment of the text this one normalised:
    /// each byte's span in `earlier`'s input.
    public func composed(after earlier: AlignedText) -> AlignedText {
        var result = AlignedText(capacity: count)
        result.bytes = bytes
        for index in 0..<count {
            let span = earlier.inputRange(of: starts[index]..<ends[index])
            result.starts.append(span.lowerBound)
            result.ends.append(span.upperBound)
        }
        return result
    }
}

// MARK: - Alignment by clusters

extension AlignedText {
    /// The alignment of `output`, which `normalize` made from all of `input`, found by normalising `input` a
    /// cluster at a time (a character and the combining marks after it, or one ill-formed byte) and finding each
    /// cluster's result at its place in `output`. Where a cluster's result is not there (a rule that looks at its
    /// neighbours: a final sigma, a run of capitals), a few clusters are normalised together, starting up to
    /// `lookBehind` clusters back; where no group fits, the rest of the output comes from the rest of the input.
    ///
    /// For normalisers that rewrite characters one by one (or a character with its marks): Unicode forms, BERT's
    /// clean-up, lowercasing, a charsmap. `normalize(cluster)` returns nil for a cluster it leaves alone.
    static func byClusters(
        input: UnsafeBufferPointer<UInt8>, output: [UInt8], lookBehind: Int = 8, groupLimit: Int = 24,
        normalize: (UnsafeBufferPointer<UInt8>) -> [UInt8]?
    ) -> AlignedText {
        let bounds = clusterBounds(of: input)  // cluster i is bounds[i]..<bounds[i + 1]
        let clusters = bounds.count - 1
        var result = AlignedText()
        result.bytes = output
        result.starts = [Int](repeating: 0, count: output.count)
        result.ends = [Int](repeating: input.count, count: output.count)
        // outputStart[i]: where cluster i's result starts in `output`.
        var outputStart = [Int](repeating: 0, count: clusters + 1)
        func assign(_ outputRange: Range<Int>, from source: Range<Int>) {
            for index in outputRange {
                result.starts[index] = source.lowerBound
                result.ends[index] = source.upperBound
            }
        }
        /// Whether the clusters `first...last` normalise to the output at `at`; how many bytes they give.
        func fits(_ first: Int, _ last: Int, at: Int) -> Int? {
            let group = UnsafeBufferPointer(rebasing: input[bounds[first]..<bounds[last + 1]])
            if let normalized = normalize(group) {
                guard at + normalized.count <= output.count, output[at..<(at + normalized.count)].elementsEqual(normalized) else { return nil }
                return normalized.count
            }
            guard at + group.count <= output.count, output[at..<(at + group.count)].elementsEqual(group) else { return nil }
            return group.count
        }
        var cluster = 0
        var position = 0
        search: while cluster < clusters {
            for back in 0...min(lookBehind, cluster) {
                let first = cluster - back
                let at = outputStart[first]
                for last in cluster..<min(clusters, cluster + groupLimit) {
                    guard let length = fits(first, last, at: at) else { continue }
                    let source = bounds[first]..<bounds[last + 1]
                    output.withUnsafeBufferPointer { all in
                        let replacement = UnsafeBufferPointer(rebasing: all[at..<(at + length)])
                        Self.forEachCharacterPair(replacing: source, in: input, with: replacement) { outputRange, inputRange in
                            assign((at + outputRange.lowerBound)..<(at + outputRange.upperBound), from: inputRange)
                        }
                    }
                    for index in first...last { outputStart[index] = at }
                    position = at + length
                    cluster = last + 1
                    outputStart[cluster] = position
                    continue search
                }
            }
            // No group fits: the rest comes from the rest.
            assign(position..<output.count, from: bounds[cluster]..<input.count)
            position = output.count
            break
        }
        if position < output.count {  // output no cluster accounts for (a suffix): from the last character
            let last = clusters > 0 ? bounds[clusters - 1] : 0
            assign(position..<output.count, from: last..<input.count)
        }
        return result
    }

    /// Hugging Face's alignment of a replacement (`NormalizedString::transform`, as its normalisers feed it):
    /// the replacement's characters come from the replaced ones in order, the first from the first, the second
    /// from the second…; characters beyond the replaced ones' number come from the last replaced one (`ﬁ` →
    /// `f`, `i`: both from `ﬁ`); replaced characters beyond the replacement's number are in no span (`e` + U+0301
    /// → `é`: from `e` alone). A replacement equal to what it replaces comes from itself byte by byte. Calls
    /// `body` with each replacement character's byte range and the input range it comes from.
    static func forEachCharacterPair(
        replacing source: Range<Int>, in input: UnsafeBufferPointer<UInt8>, with replacement: UnsafeBufferPointer<UInt8>,
        _ body: (Range<Int>, Range<Int>) -> Void
    ) {
        guard !replacement.isEmpty else { return }
        if replacement.elementsEqual(input[source]) {
            for index in 0..<replacement.count { body(index..<(index + 1), (source.lowerBound + index)..<(source.lowerBound + index + 1)) }
            return
        }
        var from = source.lowerBound
        var previous = source.lowerBound..<source.lowerBound
        var index = 0
        while index < replacement.count {
            let length = max(UTF8Scan.sequenceLength(in: replacement, at: index), 1)
            if from < source.upperBound {
                let inputLength = min(max(UTF8Scan.sequenceLength(in: input, at: from), 1), source.upperBound - from)
                previous = from..<(from + inputLength)
                from += inputLength
            }
            body(index..<min(index + length, replacement.count), previous)
            index += length
        }
    }

    /// Where each cluster starts, and the input's end: a cluster is a character (or an ill-formed byte) and the
    /// characters of nonzero canonical combining class after it.
    static func clusterBounds(of text: UnsafeBufferPointer<UInt8>) -> [Int] {
        var bounds: [Int] = []
        bounds.reserveCapacity(text.count + 1)
        var index = 0
        while index < text.count {
            let length = UTF8Scan.sequenceLength(in: text, at: index)
            let joins = length > 1 && !bounds.isEmpty
                && UTF8Scan.scalar(in: text, at: index, length: length).properties.canonicalCombiningClass.rawValue != 0
            if !joins { bounds.append(index) }
            index += max(length, 1)
        }
        bounds.append(text.count)
        return bounds
    }
}
