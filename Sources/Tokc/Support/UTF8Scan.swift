/// Finds the well-formed and ill-formed runs of UTF-8, by the table of well-formed byte sequences in the
/// Unicode Standard (§3.9, Table 3-7): no overlong forms, no surrogates, nothing above U+10FFFF.
///
/// A byte is ill-formed when no well-formed sequence starts at it; runs of such bytes are what Python's
/// `surrogateescape` turns into lone surrogates, byte for byte, so the split is the one a reference script
/// can reproduce.
public enum UTF8Scan {
    /// The length of the well-formed sequence starting at `index`, or 0 if none starts there.
    @inline(__always)
    public static func sequenceLength(in bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int {
        let lead = bytes[index]
        if lead < 0x80 { return 1 }
        let remaining = bytes.count - index
        @inline(__always) func continuation(_ offset: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
            let byte = bytes[index + offset]
            return byte >= low && byte <= high
        }
        switch lead {
        case 0xC2...0xDF:
            return remaining >= 2 && continuation(1) ? 2 : 0
        case 0xE0:
            return remaining >= 3 && continuation(1, 0xA0) && continuation(2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF:
            return remaining >= 3 && continuation(1) && continuation(2) ? 3 : 0
        case 0xED:
            return remaining >= 3 && continuation(1, 0x80, 0x9F) && continuation(2) ? 3 : 0
        case 0xF0:
            return remaining >= 4 && continuation(1, 0x90) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF1...0xF3:
            return remaining >= 4 && continuation(1) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF4:
            return remaining >= 4 && continuation(1, 0x80, 0x8F) && continuation(2) && continuation(3) ? 4 : 0
        default:
            return 0
        }
    }

    /// The scalar of the well-formed sequence of `length` bytes (from `sequenceLength`) at `index`.
    @inline(__always)
    static func scalar(in bytes: UnsafeBufferPointer<UInt8>, at index: Int, length: Int) -> Unicode.Scalar {
        if length == 1 { return Unicode.Scalar(bytes[index]) }
        var value = UInt32(bytes[index]) & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
        for offset in 1..<length { value = value << 6 | UInt32(bytes[index + offset] & 0x3F) }
        return Unicode.Scalar(value) ?? "\u{FFFD}"
    }

    /// The code point of a two-byte sequence (its 11 payload bits), e.g. an index into a table of U+0000–U+07FF.
    @inline(__always)
    static func twoByteValue(_ lead: UInt8, _ second: UInt8) -> Int { Int(lead & 0x1F) << 6 | Int(second & 0x3F) }

    /// The code point of a three-byte sequence (its 16 payload bits), e.g. an index into a table of the BMP.
    @inline(__always)
    static func threeByteValue(_ lead: UInt8, _ second: UInt8, _ third: UInt8) -> Int {
        Int(lead & 0x0F) << 12 | Int(second & 0x3F) << 6 | Int(third & 0x3F)
    }

    /// The three bytes of a code point in U+0800–U+FFFF (`threeByteValue`'s inverse; surrogates not excluded).
    static func threeByteSequence(of value: Int) -> (UInt8, UInt8, UInt8) {
        (UInt8(0xE0 | value >> 12), UInt8(0x80 | (value >> 6) & 0x3F), UInt8(0x80 | value & 0x3F))
    }

    /// The number of characters (Unicode scalars) in `bytes`, each ill-formed byte counted as one.
    public static func characterCount(in bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var (index, count) = (0, 0)
        while index < bytes.count {
            if bytes[index] < 0x80 {
                index += 1
            } else {
                index += max(1, sequenceLength(in: bytes, at: index))
            }
            count += 1
        }
        return count
    }

    /// The end of the well-formed run starting at `start`. ASCII is skipped eight bytes at a time.
    public static func wellFormedEnd(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var index = start
        let raw = UnsafeRawPointer(bytes.baseAddress!)
        while index < bytes.count {
            if index + 8 <= bytes.count
                && raw.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                index += 8
                continue
            }
            let length = sequenceLength(in: bytes, at: index)
            if length == 0 { return index }
            index += length
        }
        return index
    }

    /// U+FFFD REPLACEMENT CHARACTER, what an ill-formed byte becomes where text must be well-formed.
    static let replacementCharacter: [UInt8] = [0xEF, 0xBF, 0xBD]

    /// `text` with each byte of an ill-formed sequence replaced by U+FFFD (SentencePiece's rule); nil when the
    /// text is well-formed, so nothing is copied.
    static func replacingIllFormed(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var end = wellFormedEnd(in: text, from: 0)
        guard end < text.count else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(text.count + 8)
        var start = 0
        while start < text.count {
            output.append(contentsOf: UnsafeBufferPointer(rebasing: text[start..<end]))
            let illFormedEnd = illFormedEnd(in: text, from: end)
            for _ in end..<illFormedEnd { output += replacementCharacter }
            start = illFormedEnd
            end = start < text.count ? wellFormedEnd(in: text, from: start) : start
        }
        return output
    }

    /// The end of the ill-formed run starting at `start`: the first index where a well-formed sequence starts.
    static func illFormedEnd(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var index = start
        while index < bytes.count && sequenceLength(in: bytes, at: index) == 0 { index += 1 }
        return index
    }

    /// The code points of UTF-8 text, for trainers that work a character at a time (ill-formed bytes become
    /// U+FFFD; their normalisers leave none).
    static func scalarValues(of bytes: [UInt8]) -> [UInt32] {
        String(decoding: bytes, as: UTF8.self).unicodeScalars.map(\.value)
    }

    /// The UTF-8 of code points (a value that is no scalar becomes U+FFFD).
    static func encode(scalarValues values: some Sequence<UInt32>) -> [UInt8] {
        var bytes: [UInt8] = []
        for value in values {
            UTF8.encode(Unicode.Scalar(value) ?? "\u{FFFD}") { bytes.append($0) }
        }
        return bytes
    }
}
