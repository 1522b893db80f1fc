import Dispatch

extension Tokenizer {
    /// True when this tokenizer gives the same ids for a text cut into parts just after line breaks that precede
    /// a letter or digit as for the whole: its normaliser and pre-tokenizer are line-local (every encoder maps a
    /// piece alone), and no special token it may match holds a line break.
    public func splitsAtLineStarts(allowedSpecial: SpecialTokenPolicy) -> Bool {
        guard normalizer.isLineLocal, preTokenizer.isLineLocal else { return false }
        return allowedSpecial == .none || !specialTokens.all.contains { $0.text.utf8.contains(0x0A) }
    }

    /// `count`, sharing a long text among `threads` threads where `splitsAtLineStarts` allows it (else on one).
    public func count(
        _ bytes: UnsafeBufferPointer<UInt8>, allowedSpecial: SpecialTokenPolicy = .none, threads: Int,
        partBytes: Int? = nil
    ) -> Int {
        let parts = lineStartParts(of: bytes, allowedSpecial: allowedSpecial, threads: threads, partBytes: partBytes)
        guard parts.count > 1 else { return count(bytes, allowedSpecial: allowedSpecial) }
        var counts = [Int](repeating: 0, count: parts.count)
        counts.withUnsafeMutableBufferPointer { counts in
            // Each part writes only its own slot, and both buffers outlive the loop.
            nonisolated(unsafe) let (counts, bytes) = (counts, bytes)
            DispatchQueue.concurrentPerform(iterations: parts.count) { index in
                counts[index] = count(UnsafeBufferPointer(rebasing: bytes[parts[index]]), allowedSpecial: allowedSpecial)
            }
        }
        return counts.reduce(0, +)
    }

    /// `encode`, sharing a long text among `threads` threads where `splitsAtLineStarts` allows it (else on one).
    public func encode(
        _ bytes: [UInt8], allowedSpecial: SpecialTokenPolicy = .none, threads: Int, partBytes: Int? = nil
    ) -> [TokenID] {
        let parts = bytes.withUnsafeBufferPointer {
            lineStartParts(of: $0, allowedSpecial: allowedSpecial, threads: threads, partBytes: partBytes)
        }
        guard parts.count > 1 else { return encode(bytes, allowedSpecial: allowedSpecial) }
        return bytes.withUnsafeBufferPointer { bytes in
            var results = [[TokenID]](repeating: [], count: parts.count)
            results.withUnsafeMutableBufferPointer { results in
                // Each part writes only its own slot, and both buffers outlive the loop.
                nonisolated(unsafe) let (results, bytes) = (results, bytes)
                DispatchQueue.concurrentPerform(iterations: parts.count) { index in
                    // A third of the bytes: more ids than any language of the corpus makes (Chinese 0.26 a byte
                    // with o200k_base), so no part grows its array half-way; pages never written cost nothing.
                    var sink = IDSink(reservingCapacity: parts[index].count / 3)
                    encode(UnsafeBufferPointer(rebasing: bytes[parts[index]]), allowedSpecial: allowedSpecial, into: &sink)
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
    }

    /// Ranges that cover `bytes`, each ending just after a line break that precedes a letter or digit (the
    /// last at the end), at least `partBytes` long; by default `bytes.count / (4 × threads)` but at least 1 MiB:
    /// four parts a thread so that a slow part does not hold up the rest, and none so short that starting it
    /// costs more than it saves. One range when the text is short, `threads` is 1, or the tokenizer cannot be cut.
    func lineStartParts(
        of bytes: UnsafeBufferPointer<UInt8>, allowedSpecial: SpecialTokenPolicy, threads: Int, partBytes: Int?
    ) -> [Range<Int>] {
        let size = max(1, partBytes ?? max(1 << 18, bytes.count / max(1, 16 * threads)))
        guard threads > 1, bytes.count > size, splitsAtLineStarts(allowedSpecial: allowedSpecial) else { return [0..<bytes.count] }
        var parts: [Range<Int>] = []
        var start = 0
        while start < bytes.count {
            var cut = start + size
            while cut < bytes.count && !(bytes[cut - 1] == 0x0A && Self.startsWithLetterOrDigit(bytes, at: cut)) { cut += 1 }
            parts.append(start..<min(cut, bytes.count))
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
