import Dispatch

extension Tokenizer {
    /// Where this tokenizer's input may be cut so that the parts, each counted as a text, give the whole's ids
    /// (`TextCuts`). A pipeline that splits into pieces (every encoder maps a piece alone) allows the places its
    /// normaliser and pre-tokenizer both allow. One that hands the whole normalised text over as one piece
    /// (SentencePiece's) allows its normaliser's places where they are `▁`s that start words the encoder merges
    /// on its own (`Encoder.cutsPieces`). A special token that may be matched takes out the places its bytes
    /// could span.
    public func cuts(allowedSpecial: SpecialTokenPolicy) -> TextCuts {
        var cuts: TextCuts
        if preTokenizer is WholeTextPreTokenizer {
            cuts = normalizer.cuts
            guard cuts.dropsSpace, encoder.cutsPieces || (encoder as? UnigramEncoder)?.cutsAtSpaces == true else { return .none }
            // A Unigram model's carried score (`CountCarry`) starts again after each special token: not carried.
            if encoder is UnigramEncoder && allowedSpecial != .none && !specialTokens.isEmpty { return .none }
        } else {
            cuts = normalizer.cuts.intersection(preTokenizer.cuts)
        }
        guard allowedSpecial != .none, !specialTokens.isEmpty else { return cuts }
        let texts = specialTokens.all.map { Array($0.text.utf8) }
        cuts = cuts.excluding(ASCIIBits(texts.joined()), lineBreaks: texts.contains { $0.contains(0x0A) })
        return cuts
    }

    /// What a text counted part by part carries from each part to the next (`count(_:allowedSpecial:threads:carry:)`):
    /// a Unigram model's running path score, without which its parts would round otherwise than the whole.
    public struct CountCarry: Sendable {
        var score = 0.0

        public init() {}
    }

    /// `count(_:allowedSpecial:threads:)` for a part that follows `carry`'s, cut where `cuts` allows: for a
    /// Unigram model (one piece for the whole text), on one thread, going on from the path score so far; for
    /// every other pipeline, as a text of its own.
    public func count(
        _ bytes: UnsafeBufferPointer<UInt8>, allowedSpecial: SpecialTokenPolicy, threads: Int, carry: inout CountCarry
    ) -> Int {
        guard let unigram = encoder as? UnigramEncoder, preTokenizer is WholeTextPreTokenizer,
              allowedSpecial == .none || specialTokens.isEmpty
        else { return count(bytes, allowedSpecial: allowedSpecial, threads: threads) }
        guard !bytes.isEmpty else { return 0 }
        var sink = CountSink()
        if let normalized = normalizer.normalize(bytes, atTextStart: true) {
            normalized.withUnsafeBufferPointer { unigram.encode(piece: $0, continuing: &carry.score, into: &sink) }
        } else {
            unigram.encode(piece: bytes, continuing: &carry.score, into: &sink)
        }
        return sink.count
    }

    /// True when this tokenizer gives the same ids for a text cut into parts just after line breaks that precede
    /// a letter or digit as for the whole (`cuts(allowedSpecial:).lineStarts`).
    public func splitsAtLineStarts(allowedSpecial: SpecialTokenPolicy) -> Bool {
        cuts(allowedSpecial: allowedSpecial).lineStarts
    }

    /// `count`, sharing a long text among `threads` threads where `cuts` allows it (`cutParts`) or the encoder
    /// can cut a whole-text piece (`wholeTextParts`); else on one.
    public func count(
        _ bytes: UnsafeBufferPointer<UInt8>, allowedSpecial: SpecialTokenPolicy = .none, threads: Int,
        partBytes: Int? = nil
    ) -> Int {
        let parts = cutParts(of: bytes, allowedSpecial: allowedSpecial, threads: threads, partBytes: partBytes)
        if parts.count > 1 {
            return Self.countParts(bytes, parts) { count($0, allowedSpecial: allowedSpecial) }
        }
        if let (normalized, parts) = wholeTextParts(of: bytes, allowedSpecial: allowedSpecial, threads: threads, partBytes: partBytes) {
            let encoder = self.encoder
            return normalized.withUnsafeBufferPointer { normalized in
                Self.countParts(normalized, parts) { part in
                    var sink = CountSink()
                    encoder.encode(piece: part, into: &sink)
                    return sink.count
                }
            }
        }
        return count(bytes, allowedSpecial: allowedSpecial)
    }

    /// `encode`, sharing a long text among `threads` threads where `cuts` allows it (`cutParts`) or the encoder
    /// can cut a whole-text piece (`wholeTextParts`); else on one.
    public func encode(
        _ bytes: [UInt8], allowedSpecial: SpecialTokenPolicy = .none, threads: Int, partBytes: Int? = nil
    ) -> [TokenID] {
        bytes.withUnsafeBufferPointer { buffer in
            let parts = cutParts(of: buffer, allowedSpecial: allowedSpecial, threads: threads, partBytes: partBytes)
            if parts.count > 1 {
                return Self.encodeParts(buffer, parts) { part, sink in encode(part, allowedSpecial: allowedSpecial, into: &sink) }
            }
            if let (normalized, parts) = wholeTextParts(of: buffer, allowedSpecial: allowedSpecial, threads: threads, partBytes: partBytes) {
                let encoder = self.encoder
                return normalized.withUnsafeBufferPointer { normalized in
                    Self.encodeParts(normalized, parts) { part, sink in encoder.encode(piece: part, into: &sink) }
                }
            }
            return encode(bytes, allowedSpecial: allowedSpecial)
        }
    }

    /// The sum of `countPart` over the parts, on all threads.
    private static func countParts(
        _ bytes: UnsafeBufferPointer<UInt8>, _ parts: [Range<Int>], _ countPart: (UnsafeBufferPointer<UInt8>) -> Int
    ) -> Int {
        var counts = [Int](repeating: 0, count: parts.count)
        counts.withUnsafeMutableBufferPointer { counts in
            // Each part writes only its own slot, and the buffers and the closure outlive the loop.
            nonisolated(unsafe) let (counts, bytes, countPart) = (counts, bytes, countPart)
            DispatchQueue.concurrentPerform(iterations: parts.count) { index in
                counts[index] = countPart(UnsafeBufferPointer(rebasing: bytes[parts[index]]))
            }
        }
        return counts.reduce(0, +)
    }

    /// The ids `encodePart` gives the parts, on all threads, in order.
    private static func encodeParts(
        _ bytes: UnsafeBufferPointer<UInt8>, _ parts: [Range<Int>],
        _ encodePart: (UnsafeBufferPointer<UInt8>, inout IDSink) -> Void
    ) -> [TokenID] {
        var results = [[TokenID]](repeating: [], count: parts.count)
        results.withUnsafeMutableBufferPointer { results in
            // Each part writes only its own slot, and the buffers and the closure outlive the loop.
            nonisolated(unsafe) let (results, bytes, encodePart) = (results, bytes, encodePart)
            DispatchQueue.concurrentPerform(iterations: parts.count) { index in
                // A third of the bytes: more ids than any language of the corpus makes (Chinese 0.26 a byte
                // with o200k_base), so no part grows its array half-way; pages never written cost nothing.
                var sink = IDSink(reservingCapacity: parts[index].count / 3)
                encodePart(UnsafeBufferPointer(rebasing: bytes[parts[index]]), &sink)
                results[index] = sink.ids
            }
        }
        // One allocation, and the parts copied into it on all threads: `Array(results.joined())` copied id by
        // id through FlattenSequence, on one thread, a sixth of the two-thread time on 10 MB; one memcpy a
        // part on one thread still left the other idle while it wrote (and faulted in) 10 MB of ids.
        var offsets = [0]
        for part in results { offsets.append(offsets[offsets.count - 1] + part.count) }
        return [TokenID](unsafeUninitializedCapacity: offsets[offsets.count - 1]) { buffer, initialized in
            // Each part writes only its own range of the buffer.
            nonisolated(unsafe) let buffer = buffer
            let (results, offsets) = (results, offsets)
            DispatchQueue.concurrentPerform(iterations: results.count) { index in
                results[index].withUnsafeBufferPointer { part in
                    guard let source = part.baseAddress, let target = buffer.baseAddress else { return }
                    (target + offsets[index]).initialize(from: source, count: part.count)
                }
            }
            initialized = offsets[offsets.count - 1]
        }
    }

    /// For a pipeline that hands the whole normalised text to its encoder as one piece (SentencePiece's:
    /// `WholeTextPreTokenizer`), when no special token is looked for and the encoder can cut that piece
    /// (`Encoder.cut`: a Mistral or Llama 2 BPE between two words): the normalised text, made once on this
    /// thread, and parts of it of at least `partBytes` (as `cutParts`) that encode to the whole's ids one
    /// after another. Nil when that does not apply or the text is too short to cut.
    ///
    /// Normalising stays on one thread: it is 5-15% of the time for mistral-v1 (140-470 MB/s against 11-33 for
    /// the encoder) and its output, not its input, is where the encoder's cuts are known.
    func wholeTextParts(
        of bytes: UnsafeBufferPointer<UInt8>, allowedSpecial: SpecialTokenPolicy, threads: Int, partBytes: Int?
    ) -> (normalized: [UInt8], parts: [Range<Int>])? {
        let size = Self.partSize(bytes.count, threads: threads, partBytes: partBytes)
        guard threads > 1, bytes.count > size, preTokenizer is WholeTextPreTokenizer, encoder.cutsPieces,
              allowedSpecial == .none || specialTokens.isEmpty
        else { return nil }
        let normalized = normalizer.normalize(bytes, atTextStart: true) ?? Array(bytes)
        var parts: [Range<Int>] = []
        normalized.withUnsafeBufferPointer { text in
            var start = 0
            while start < text.count {
                let end = start + size < text.count ? encoder.cut(in: text, from: start + size) ?? text.count : text.count
                parts.append(start..<end)
                start = end
            }
        }
        return parts.count > 1 ? (normalized, parts) : nil
    }

    /// The least part length: `bytes / (16 × threads)` but at least 256 KiB, or `partBytes`.
    static func partSize(_ count: Int, threads: Int, partBytes: Int?) -> Int {
        max(1, partBytes ?? max(1 << 18, count / max(1, 16 * threads)))
    }

    /// Ranges that cover `bytes`, each ending at a place `cuts` allows (the last at the end), at least
    /// `partBytes` long; by default `bytes.count / (16 × threads)` but at least 256 KiB: sixteen parts a thread
    /// so that the last part does not leave a core idle for long, and none so short that starting it costs more
    /// than it saves. One range when the text is short, `threads` is 1, or the tokenizer cannot be cut without
    /// dropping a byte (SentencePiece's places: `wholeTextParts` cuts those texts after normalising).
    func cutParts(
        of bytes: UnsafeBufferPointer<UInt8>, allowedSpecial: SpecialTokenPolicy, threads: Int, partBytes: Int?
    ) -> [Range<Int>] {
        let size = Self.partSize(bytes.count, threads: threads, partBytes: partBytes)
        guard threads > 1, bytes.count > size else { return [0..<bytes.count] }
        let cuts = cuts(allowedSpecial: allowedSpecial)
        guard cuts.cutsAnywhere, !cuts.dropsSpace else { return [0..<bytes.count] }
        var parts: [Range<Int>] = []
        var start = 0
        while start < bytes.count {
            let cut = start + size < bytes.count ? cuts.firstCut(in: bytes, from: start + size) ?? bytes.count : bytes.count
            parts.append(start..<cut)
            start = cut
        }
        return parts
    }

    /// Whether a letter or digit (general category L* or N*) starts at `index`.
    static func startsWithLetterOrDigit(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Bool {
        let lead = bytes[index]
        if lead < 0x80 {
            return (lead >= 0x30 && lead <= 0x39) || ((lead | 0x20) >= 0x61 && (lead | 0x20) <= 0x7A)
        }
        let length = UTF8Scan.sequenceLength(in: bytes, at: index)
        guard length > 0 else { return false }
        switch UTF8Scan.scalar(in: bytes, at: index, length: length).properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .decimalNumber, .letterNumber, .otherNumber:
            return true
        default:
            return false
        }
    }
}
