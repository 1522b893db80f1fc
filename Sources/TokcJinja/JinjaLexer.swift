/// What can go wrong with a template: its own refusal (`raise_exception`, the message the model's authors
/// wrote), a syntax error or a construct this interpreter does not support (both naming the template line),
/// an error while rendering, a sandbox limit, or malformed JSON input.
public enum JinjaError: Error, Equatable, CustomStringConvertible, Sendable {
    case raised(String)
    case syntax(String, line: Int)
    case unsupported(String, line: Int)
    case runtime(String, line: Int)
    case limit(String)
    case json(String)

    public var description: String {
        switch self {
        case .raised(let message): return message
        case .syntax(let message, let line): return "template line \(line): syntax error: \(message)"
        case .unsupported(let construct, let line): return "template line \(line): not supported: \(construct)"
        case .runtime(let message, let line): return line > 0 ? "template line \(line): \(message)" : message
        case .limit(let message): return "template stopped: \(message)"
        case .json(let message): return message
        }
    }
}

/// One token of an expression or a statement tag.
struct JinjaToken: Equatable {
    enum Kind: Equatable { case name, string, integer, float, symbol }
    let kind: Kind
    let text: String
    let line: Int
    var integer: Int = 0
    var float: Double = 0
}

/// The template cut into literal text and tags, with Jinja's whitespace control applied as transformers'
/// environment sets it: `trim_blocks` (the first newline after a block or comment tag goes), `lstrip_blocks`
/// (spaces and tabs before a block or comment tag on its own line go), `-` on a tag strips all whitespace on
/// that side, `+` keeps it; newlines are normalised to "\n" and one trailing newline of the source dropped
/// (`keep_trailing_newline=False`).
enum JinjaSegment: Equatable {
    case text(String)
    case output([JinjaToken], line: Int)
    case statement([JinjaToken], line: Int)
}

struct JinjaLexer {
    private let source: [UInt8]
    private var index = 0
    private var line = 1

    init(_ template: String) {
        // "\r\n" and "\r" become "\n"; then one trailing newline goes.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(template.utf8.count)
        var previousCR = false
        for byte in template.utf8 {
            if byte == 0x0D { bytes.append(0x0A); previousCR = true; continue }
            if byte == 0x0A && previousCR { previousCR = false; continue }
            previousCR = false
            bytes.append(byte)
        }
        if bytes.last == 0x0A { bytes.removeLast() }
        source = bytes
    }

    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }

    mutating func segments() throws -> [JinjaSegment] {
        var segments: [JinjaSegment] = []
        var stripNextText = false     // "-" closed the previous tag
        var trimNextNewline = false   // trim_blocks after a block or comment tag
        while index < source.count || stripNextText || trimNextNewline {
            let textStart = index
            let lineStarting = textStart == 0 || source[textStart - 1] == 0x0A
            // Find the next tag opening.
            var open = index
            var opener: UInt8 = 0
            while open + 1 < source.count {
                if source[open] == UInt8(ascii: "{") {
                    let next = source[open + 1]
                    if next == UInt8(ascii: "{") || next == UInt8(ascii: "%") || next == UInt8(ascii: "#") { opener = next; break }
                }
                open += 1
            }
            if opener == 0 { open = source.count }
            var text = Array(source[textStart..<open])
            if stripNextText {
                text.removeFirst(text.prefix(while: Self.isSpace).count)
            } else if trimNextNewline, text.first == 0x0A {
                text.removeFirst()
            }
            stripNextText = false
            trimNextNewline = false
            if opener != 0 {
                let marker = open + 2 < source.count ? source[open + 2] : 0
                if marker == UInt8(ascii: "-") {
                    while let last = text.last, Self.isSpace(last) { text.removeLast() }
                } else if opener != UInt8(ascii: "{") && marker != UInt8(ascii: "+") {
                    // lstrip_blocks: only spaces and tabs between the line's start and a block or comment tag.
                    let lineStart = (text.lastIndex(of: 0x0A).map { $0 + 1 }) ?? 0
                    if lineStart > 0 || lineStarting,
                       text[lineStart...].allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0B || $0 == 0x0C }) {
                        text.removeSubrange(lineStart...)
                    }
                }
            }
            if !text.isEmpty { segments.append(.text(String(decoding: text, as: UTF8.self))) }
            line += source[textStart..<open].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            index = open
            if opener == 0 { break }
            let tagLine = line
            index += 2
            if index < source.count && (source[index] == UInt8(ascii: "-") || source[index] == UInt8(ascii: "+")) { index += 1 }
            if opener == UInt8(ascii: "#") {
                guard let close = find("#}") else { throw JinjaError.syntax("a comment that never closes", line: tagLine) }
                let stripsAfter = close > index && source[close - 1] == UInt8(ascii: "-")
                let keeps = close > index && source[close - 1] == UInt8(ascii: "+")
                line += source[index..<close].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
                index = close + 2
                stripNextText = stripsAfter
                trimNextNewline = !stripsAfter && !keeps
                continue
            }
            let closing: UInt8 = opener == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "%")
            let (tokens, stripsAfter, keeps) = try tokens(until: closing, tagLine: tagLine)
            if opener == UInt8(ascii: "{") {
                segments.append(.output(tokens, line: tagLine))
                stripNextText = stripsAfter
            } else {
                if tokens.first?.text == "raw" {
                    throw JinjaError.unsupported("{% raw %}", line: tagLine)
                }
                segments.append(.statement(tokens, line: tagLine))
                stripNextText = stripsAfter
                trimNextNewline = !stripsAfter && !keeps
            }
        }
        return segments
    }

    private func find(_ text: String) -> Int? {
        let needle = Array(text.utf8)
        var position = index
        while position + needle.count <= source.count {
            if source[position] == needle[0] && Array(source[position..<(position + needle.count)]) == needle { return position }
            position += 1
        }
        return nil
    }

    private static let symbols = ["//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=", "(", ")",
                                  "[", "]", "{", "}", ",", ".", ":", "|"].map { Array($0.utf8) }

    /// The tokens of a tag up to its closing `}}` or `%}` (with a `-` or `+` before it); whether the tag
    /// strips the whitespace after it, or keeps the newline trim_blocks would remove.
    private mutating func tokens(until closing: UInt8, tagLine: Int) throws -> ([JinjaToken], Bool, Bool) {
        var tokens: [JinjaToken] = []
        while true {
            while index < source.count && Self.isSpace(source[index]) {
                if source[index] == 0x0A { line += 1 }
                index += 1
            }
            guard index < source.count else {
                throw JinjaError.syntax(closing == UInt8(ascii: "}") ? "'{{' without '}}'" : "'{%' without '%}'", line: tagLine)
            }
            let byte = source[index]
            // The end of the tag, with its whitespace marker.
            if byte == closing && index + 1 < source.count && source[index + 1] == UInt8(ascii: "}") {
                index += 2
                return (tokens, false, false)
            }
            if (byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")) && index + 2 < source.count && source[index + 1] == closing
                && source[index + 2] == UInt8(ascii: "}") {
                index += 3
                return (tokens, byte == UInt8(ascii: "-"), byte == UInt8(ascii: "+"))
            }
            if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\"") {
                tokens.append(JinjaToken(kind: .string, text: try stringLiteral(quote: byte), line: line))
                continue
            }
            if byte >= 0x30 && byte <= 0x39 {
                tokens.append(number())
                continue
            }
            if byte == UInt8(ascii: "_") || (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A {
                let start = index
                while index < source.count, source[index] == UInt8(ascii: "_") || (source[index] | 0x20) >= 0x61 && (source[index] | 0x20) <= 0x7A
                    || source[index] >= 0x30 && source[index] <= 0x39 { index += 1 }
                tokens.append(JinjaToken(kind: .name, text: String(decoding: source[start..<index], as: UTF8.self), line: line))
                continue
            }
            guard let symbol = Self.symbols.first(where: { index + $0.count <= source.count && Array(source[index..<(index + $0.count)]) == $0 }) else {
                throw JinjaError.syntax("unexpected character '\(String(decoding: [byte], as: UTF8.self))'", line: line)
            }
            tokens.append(JinjaToken(kind: .symbol, text: String(decoding: symbol, as: UTF8.self), line: line))
            index += symbol.count
        }
    }

    private mutating func number() -> JinjaToken {
        let start = index
        while index < source.count && (source[index] >= 0x30 && source[index] <= 0x39 || source[index] == UInt8(ascii: "_")) { index += 1 }
        var isFloat = false
        if index + 1 < source.count && source[index] == UInt8(ascii: ".") && source[index + 1] >= 0x30 && source[index + 1] <= 0x39 {
            isFloat = true
            index += 1
            while index < source.count && source[index] >= 0x30 && source[index] <= 0x39 { index += 1 }
        }
        if index < source.count && (source[index] | 0x20) == UInt8(ascii: "e") {
            var probe = index + 1
            if probe < source.count && (source[probe] == UInt8(ascii: "+") || source[probe] == UInt8(ascii: "-")) { probe += 1 }
            if probe < source.count && source[probe] >= 0x30 && source[probe] <= 0x39 {
                isFloat = true
                index = probe
                while index < source.count && source[index] >= 0x30 && source[index] <= 0x39 { index += 1 }
            }
        }
        let text = String(decoding: source[start..<index], as: UTF8.self).replacingAll("_", with: "")
        if isFloat { return JinjaToken(kind: .float, text: text, line: line, float: Double(text) ?? 0) }
        return JinjaToken(kind: .integer, text: text, line: line, integer: Int(text) ?? Int.max)
    }

    /// A Python string literal's value: the usual backslash escapes, `\xHH`, `\uHHHH`, `\UHHHHHHHH`.
    private mutating func stringLiteral(quote: UInt8) throws -> String {
        let startLine = line
        index += 1
        var bytes: [UInt8] = []
        while index < source.count {
            let byte = source[index]
            if byte == quote { index += 1; return String(decoding: bytes, as: UTF8.self) }
            if byte == 0x0A { line += 1 }
            if byte != UInt8(ascii: "\\") || index + 1 >= source.count {
                bytes.append(byte)
                index += 1
                continue
            }
            let escape = source[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "0"): bytes.append(0x00)
            case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""): bytes.append(escape)
            case 0x0A: line += 1  // a backslash-newline continues the literal
            case UInt8(ascii: "x"), UInt8(ascii: "u"), UInt8(ascii: "U"):
                let digits = escape == UInt8(ascii: "x") ? 2 : escape == UInt8(ascii: "u") ? 4 : 8
                guard index + digits <= source.count,
                      let value = UInt32(String(decoding: source[index..<(index + digits)], as: UTF8.self), radix: 16),
                      let scalar = Unicode.Scalar(value) else {
                    throw JinjaError.syntax("a bad \\\(String(decoding: [escape], as: UTF8.self)) escape", line: line)
                }
                bytes.append(contentsOf: Array(String(Character(scalar)).utf8))
                index += digits
            default:
                // Python keeps an unknown escape as written.
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(escape)
            }
        }
        throw JinjaError.syntax("a string that never closes", line: startLine)
    }
}
