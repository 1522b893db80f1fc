/// CSV (RFC 4180) and TSV records, read from a window of bytes: fields separated by the separator, records ended
/// by CRLF or LF, a field in double quotes may hold separators, line breaks and `""` for a quote; a quote inside
/// an unquoted field, or anything but a separator or the line's end after a closing quote, is malformed. TSV is
/// the same grammar with a tab (as Python's `csv` reads `excel-tab`). Empty lines are no records.
struct DelimitedRecords {
    let separator: UInt8

    enum Outcome {
        /// The window ends inside the record: read more (or, at the end of the input, it was malformed).
        case incomplete
        /// An empty line.
        case blank(next: Int)
        case record(next: Int)
        /// The record is malformed; `next` is past the physical line where reading stopped, to go on from.
        case bad(String, next: Int)
    }

    /// Reads the record at `start`, handing each field to `field` (its index, its bytes, and whether it was
    /// quoted, so that its `""` still need undoubling: `unquote`).
    func record(
        in text: UnsafeBufferPointer<UInt8>, from start: Int, atEnd: Bool,
        field: (Int, UnsafeBufferPointer<UInt8>, Bool) -> Void
    ) -> Outcome {
        let (quote, lf, cr) = (UInt8(ascii: "\""), UInt8(ascii: "\n"), UInt8(ascii: "\r"))
        let count = text.count
        var index = start
        if index < count && text[index] == lf { return .blank(next: index + 1) }
        if index + 1 < count && text[index] == cr && text[index + 1] == lf { return .blank(next: index + 2) }
        if index + 1 == count && text[index] == cr && !atEnd { return .incomplete }
        var fieldIndex = 0
        func skipLine(from position: Int) -> Int {
            var position = position
            while position < count && text[position] != lf { position += 1 }
            return Swift.min(position + 1, count)
        }
        while true {
            if index < count && text[index] == quote {
                // A quoted field: up to the quote that is not doubled.
                var scan = index + 1
                var closing: Int?
                while scan < count {
                    if text[scan] == quote {
                        if scan + 1 < count && text[scan + 1] == quote { scan += 2; continue }
                        if scan + 1 == count && !atEnd { return .incomplete }
                        closing = scan
                        break
                    }
                    scan += 1
                }
                guard let closing else {
                    if !atEnd { return .incomplete }
                    return .bad("a closing quote for the field opened on this line (none follows)", next: count)
                }
                field(fieldIndex, UnsafeBufferPointer(rebasing: text[(index + 1)..<closing]), true)
                fieldIndex += 1
                let after = closing + 1
                if after == count { return .record(next: count) }
                switch text[after] {
                case separator: index = after + 1; continue
                case lf: return .record(next: after + 1)
                case cr where after + 1 < count && text[after + 1] == lf: return .record(next: after + 2)
                case cr where after + 1 == count && !atEnd: return .incomplete
                default:
                    return .bad("a separator or the line's end after a quoted field, found \(Self.describe(text[after]))", next: skipLine(from: after))
                }
            }
            var end = index
            while end < count && text[end] != separator && text[end] != lf {
                if text[end] == quote {
                    return .bad("no quote inside an unquoted field (RFC 4180 quotes the whole field and doubles its quotes), found one", next: skipLine(from: end))
                }
                end += 1
            }
            if end == count && !atEnd { return .incomplete }
            // CRLF: the CR is the line's end, not the field's.
            let fieldEnd = end < count && text[end] == lf && end > index && text[end - 1] == cr ? end - 1 : end
            field(fieldIndex, UnsafeBufferPointer(rebasing: text[index..<fieldEnd]), false)
            fieldIndex += 1
            if end == count { return .record(next: count) }
            if text[end] == lf { return .record(next: end + 1) }
            index = end + 1
        }
    }

    /// A quoted field's bytes with each `""` made one `"`.
    static func unquote(_ bytes: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) {
        var index = 0
        while index < bytes.count {
            output.append(bytes[index])
            index += bytes[index] == UInt8(ascii: "\"") ? 2 : 1
        }
    }

    static func describe(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }
}
