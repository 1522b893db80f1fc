/// tokc's capitalisation markers (TokenMonster's "capcode" idea): capitals become lower case plus a marker, so
/// `The`, `the` and `THE` share the token `the`. The transform is reversible for every byte string.
///
/// Markers are code points of the Private Use Area, so marked text stays UTF-8 and vocabularies stay readable
/// JSON (written here as ⟨C⟩, ⟨W⟩, ⟨E⟩):
/// - U+F8F0 ⟨C⟩: the next letter is a capital (`The` → `⟨C⟩the`);
/// - U+F8F1 ⟨W⟩: the whole run of letters that follows is in capitals (`HTTP` → `⟨W⟩http`);
/// - U+F8F2 ⟨E⟩: the next code point is literal (a text that holds U+F8F0…U+F8F2 itself).
///
/// Only *paired* letters take part: a code point whose lowercase mapping is one other code point that maps
/// back to it in uppercase (A/a, É/é, Σ/σ, Д/д), and those lowercase forms. Anything else (`ß`, the Kelvin sign,
/// `İ`, CJK, digits, ill-formed bytes) passes unchanged and ends a run. A run of two paired letters or more that
/// are all capitals takes ⟨W⟩; otherwise each capital in it takes ⟨C⟩ (`McDonald` → `⟨C⟩mc⟨C⟩donald`).
public struct Capcode: Normalizer {
    public static let capital: Unicode.Scalar = "\u{F8F0}"
    public static let word: Unicode.Scalar = "\u{F8F1}"
    public static let escape: Unicode.Scalar = "\u{F8F2}"

    public init() {}

    /// Runs of letters end at a line break.
    public var isLineLocal: Bool { true }

    /// Capital → lowercase and lowercase → capital for every paired letter beyond ASCII (ASCII is arithmetic),
    /// built on first use from `pairs` (generated from the standard library's Unicode tables; a test checks
    /// them against the library tokc is built with). Working them out from the Unicode properties of 131,000
    /// code points at first use took 49M instructions (callgrind), most of an ungreedy vocabulary's first encode.
    private static let tables: (lower: PagedMap, upper: PagedMap) = {
        let capitals = stride(from: 0, to: pairs.count, by: 2).map { (pairs[$0], pairs[$0 + 1]) }
        return (PagedMap(capitals), PagedMap(capitals.map { ($0.1, $0.0) }))
    }()

    /// A map of code points below U+20000 to code points, by pages of 256: `pages[value >> 8]` is the page's
    /// number in `values` (0: a page of none), and `values[page << 8 | value & 0xFF]` the image (0: none). Two
    /// loads a look-up, no hashing.
    struct PagedMap: Sendable {
        static let limit: UInt32 = 0x2_0000
        private let pages: [UInt16]
        private let values: [UInt32]

        init(_ mapping: [(UInt32, UInt32)]) {
            var pages = [UInt16](repeating: 0, count: Int(Self.limit >> 8))
            var values = [UInt32](repeating: 0, count: 256)
            for (from, to) in mapping where from < Self.limit {
                if pages[Int(from >> 8)] == 0 {
                    pages[Int(from >> 8)] = UInt16(values.count >> 8)
                    values += repeatElement(0, count: 256)
                }
                values[Int(pages[Int(from >> 8)]) << 8 | Int(from & 0xFF)] = to
            }
            (self.pages, self.values) = (pages, values)
        }

        @inline(__always) subscript(value: UInt32) -> UInt32? {
            guard value < Self.limit else { return nil }
            let image = values[Int(pages[Int(value >> 8)]) << 8 | Int(value & 0xFF)]
            return image == 0 ? nil : image
        }
    }

    /// The pairs as the standard library's Unicode tables give them (what `pairs` was generated from).
    static func pairsFromUnicodeProperties() -> [UInt32] {
        var result: [UInt32] = []
        for value in UInt32(0x80)...0x1_FFFF {
            guard let scalar = Unicode.Scalar(value), scalar.properties.changesWhenLowercased else { continue }
            let lowered = scalar.properties.lowercaseMapping.unicodeScalars
            guard lowered.count == 1, let small = lowered.first, small != scalar,
                  small.properties.uppercaseMapping.unicodeScalars.elementsEqual([scalar]) else { continue }
            result += [value, small.value]
        }
        return result
    }

    @inline(__always) static func lowercase(of value: UInt32) -> UInt32? {
        if value < 0x80 { return value >= 0x41 && value <= 0x5A ? value + 0x20 : nil }
        return tables.lower[value]
    }

    @inline(__always) static func uppercase(of value: UInt32) -> UInt32? {
        if value < 0x80 { return value >= 0x61 && value <= 0x7A ? value - 0x20 : nil }
        return tables.upper[value]
    }

    /// One code point (or one ill-formed byte, as `value` nil) at a time.
    private static func scan(_ text: UnsafeBufferPointer<UInt8>, from index: Int) -> (value: UInt32?, length: Int) {
        let length = UTF8Scan.sequenceLength(in: text, at: index)
        guard length > 0 else { return (nil, 1) }
        return (UTF8Scan.scalar(in: text, at: index, length: length).value, length)
    }

    private static func append(_ value: UInt32, to output: inout [UInt8]) {
        if value < 0x80 { output.append(UInt8(value)); return }
        UTF8.encode(Unicode.Scalar(value) ?? "\u{FFFD}") { output.append($0) }
    }

    public func normalize(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(text.count + text.count / 8)
        var changed = false
        var index = 0
        while index < text.count {
            let (value, length) = Self.scan(text, from: index)
            guard let value, Self.lowercase(of: value) != nil || Self.uppercase(of: value) != nil else {
                if let value, value >= Self.capital.value && value <= Self.escape.value {
                    Self.append(Self.escape.value, to: &output)
                    changed = true
                }
                output.append(contentsOf: UnsafeBufferPointer(rebasing: text[index..<(index + length)]))
                index += length
                continue
            }
            // A run of paired letters: all capitals (two or more) is one ⟨W⟩, else ⟨C⟩ per capital.
            var end = index, letters = 0, capitals = 0
            while end < text.count {
                let (next, nextLength) = Self.scan(text, from: end)
                guard let next else { break }
                if Self.lowercase(of: next) != nil { capitals += 1 } else if Self.uppercase(of: next) == nil { break }
                letters += 1
                end += nextLength
            }
            if capitals > 0 { changed = true }
            let wholeWord = letters >= 2 && capitals == letters
            if wholeWord { Self.append(Self.word.value, to: &output) }
            while index < end {
                let (letter, letterLength) = Self.scan(text, from: index)
                if let letter, let small = Self.lowercase(of: letter) {
                    if !wholeWord { Self.append(Self.capital.value, to: &output) }
                    Self.append(small, to: &output)
                } else {
                    output.append(contentsOf: UnsafeBufferPointer(rebasing: text[index..<(index + letterLength)]))
                }
                index += letterLength
            }
        }
        return changed ? output : nil
    }

    /// The text before `normalize`: markers applied and removed. A marker with nothing it can apply to (only in
    /// ids that `normalize` did not produce) stays as it is.
    public static func decode(_ text: [UInt8]) -> [UInt8] {
        text.withUnsafeBufferPointer { text in
            var output: [UInt8] = []
            output.reserveCapacity(text.count)
            var index = 0
            var pending: Unicode.Scalar? = nil  // a ⟨C⟩ or ⟨W⟩ waiting for its letter
            func flushPending() {
                if let marker = pending { append(marker.value, to: &output) }
                pending = nil
            }
            while index < text.count {
                let (value, length) = scan(text, from: index)
                guard let value else {
                    flushPending()
                    output.append(text[index])
                    index += 1
                    continue
                }
                switch value {
                case escape.value:
                    flushPending()
                    let next = index + length
                    guard next < text.count else {
                        append(value, to: &output)
                        index = next
                        continue
                    }
                    let (_, literalLength) = scan(text, from: next)
                    output.append(contentsOf: UnsafeBufferPointer(rebasing: text[next..<(next + literalLength)]))
                    index = next + literalLength
                case capital.value, word.value:
                    flushPending()
                    pending = Unicode.Scalar(value)
                    index += length
                default:
                    if pending == capital, let big = uppercase(of: value) {
                        append(big, to: &output)
                        pending = nil
                        index += length
                    } else if pending == word, uppercase(of: value) != nil {
                        // Every paired letter of the run, up to the first code point that is not one.
                        while index < text.count {
                            let (letter, letterLength) = scan(text, from: index)
                            guard let letter, let big = uppercase(of: letter) else { break }
                            append(big, to: &output)
                            index += letterLength
                        }
                        pending = nil
                    } else {
                        flushPending()
                        output.append(contentsOf: UnsafeBufferPointer(rebasing: text[index..<(index + length)]))
                        index += length
                    }
                }
            }
            flushPending()
            return output
        }
    }
}
