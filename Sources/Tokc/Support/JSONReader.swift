// The syntax layer shared by the daemon's request parser and the tokenizer.json reader.

/// A JSON string's bytes: a slice of the document when it has no escapes, else its unescaped copy. The bytes
/// are exact: no Unicode normalisation, unlike `String` comparison, which treats `é` and `e\u{301}` as equal.
public enum JSONText: Sendable {
    case slice(Range<Int>)
    case unescaped([UInt8])

    public func withBytes<Result>(in line: UnsafeRawBufferPointer, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        switch self {
        case let .slice(range):
            return body(UnsafeBufferPointer(rebasing: line.bindMemory(to: UInt8.self)[range]))
        case let .unescaped(bytes):
            return bytes.withUnsafeBufferPointer(body)
        }
    }

    public func byteCount() -> Int {
        switch self {
        case let .slice(range): return range.count
        case let .unescaped(bytes): return bytes.count
        }
    }

    public func string(in line: UnsafeRawBufferPointer) -> String {
        withBytes(in: line) { String(decoding: $0, as: UTF8.self) }
    }
}

extension JSONText {
    /// The string's bytes, copied.
    public func bytes(in document: UnsafeRawBufferPointer) -> [UInt8] {
        withBytes(in: document) { Array($0) }
    }

    /// Whether the string is exactly `ascii` (a key such as `"type"`), byte for byte.
    public func equals(_ ascii: String, in document: UnsafeRawBufferPointer) -> Bool {
        withBytes(in: document) { $0.elementsEqual(ascii.utf8) }
    }
}

/// A strict JSON reader (RFC 8259: UTF-8, no trailing commas, no comments) with errors that say where.
/// Strings are not copied when they have no escapes: they stay slices of the document (`JSONText`), so the
/// daemon counts request texts in place and `tokenizer.json` vocabularies are read as exact bytes.
///
/// Written in place of Foundation's readers for two reasons: `JSONSerialization` and `JSONDecoder` hand keys
/// over as `String`s, which compare by canonical equivalence, so two tokens that differ only in normal form
/// collapse into one key; and on the daemon's hot path `JSONDecoder` cost as much CPU as counting 1 KB.
public struct JSONReader {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0
    /// Nesting deeper than this is refused, so `[[[[…` cannot exhaust the stack.
    private let maxDepth: Int

    private init(_ document: UnsafeRawBufferPointer, maxDepth: Int) {
        bytes = document.bindMemory(to: UInt8.self)
        self.maxDepth = maxDepth
    }

    /// Reads one JSON document, which must be the whole of `document`.
    public static func parse(_ document: UnsafeRawBufferPointer, maxDepth: Int = 64) throws(SyntaxError) -> Value {
        var reader = JSONReader(document, maxDepth: maxDepth)
        return try reader.document()
    }

    public struct SyntaxError: Error, Sendable {
        public let message: String
        /// The byte offset where reading stopped.
        public let offset: Int
    }

    public indirect enum Value: Sendable {
        case null
        case bool(Bool)
        case number(Range<Int>)
        case string(JSONText)
        case array([Value])
        case object([(key: JSONText, value: Value)])

        public var kind: String {
            switch self {
            case .null: return "null"
            case .bool: return "a boolean"
            case .number: return "a number"
            case .string: return "a string"
            case .array: return "a list"
            case .object: return "an object"
            }
        }
    }

    private mutating func document() throws(SyntaxError) -> Value {
        let value = try self.value(depth: 0)
        skipWhitespace()
        guard position == bytes.count else { throw fail("unexpected \(describe(position)) after the value") }
        return value
    }

    private func fail(_ message: String) -> SyntaxError {
        SyntaxError(message: "\(message) at byte \(position)", offset: position)
    }

    private func describe(_ index: Int) -> String {
        guard index < bytes.count else { return "end of line" }
        let byte = bytes[index]
        return byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private mutating func value(depth: Int) throws(SyntaxError) -> Value {
        skipWhitespace()
        guard position < bytes.count else { throw fail("a value is missing") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw fail("unexpected \(describe(position))")
        }
    }

    private mutating func literal(_ word: StaticString) throws(SyntaxError) {
        let count = word.utf8CodeUnitCount
        let expected = UnsafeBufferPointer(start: word.utf8Start, count: count)
        guard position + count <= bytes.count, bytes[position..<position + count].elementsEqual(expected) else {
            throw fail("unexpected \(describe(position))")
        }
        position += count
    }

    private mutating func number() throws(SyntaxError) -> Range<Int> {
        let start = position
        func digits() -> Int {
            let from = position
            while position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x39 { position += 1 }
            return position - from
        }
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < bytes.count else { throw fail("a number has no digits") }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
        } else if digits() == 0 {
            throw fail("a number has no digits")
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard digits() > 0 else { throw fail("a number has no digits after '.'") }
        }
        if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard digits() > 0 else { throw fail("a number has no exponent digits") }
        }
        return start..<position
    }

    private mutating func array(depth: Int) throws(SyntaxError) -> Value {
        guard depth <= maxDepth else { throw fail("nesting deeper than \(maxDepth)") }
        position += 1
        var elements: [Value] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            elements.append(try value(depth: depth))
            skipWhitespace()
            guard position < bytes.count else { throw fail("a list is not closed") }
            switch bytes[position] {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"): position += 1; return .array(elements)
            default: throw fail("expected ',' or ']', found \(describe(position))")
            }
        }
    }

    private mutating func object(depth: Int) throws(SyntaxError) -> Value {
        guard depth <= maxDepth else { throw fail("nesting deeper than \(maxDepth)") }
        position += 1
        var members: [(key: JSONText, value: Value)] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                throw fail("expected a key in quotes, found \(describe(position))")
            }
            let key = try string()
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else {
                throw fail("expected ':' after a key, found \(describe(position))")
            }
            position += 1
            let value = try self.value(depth: depth)
            members.append((key, value))
            skipWhitespace()
            guard position < bytes.count else { throw fail("an object is not closed") }
            switch bytes[position] {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"): position += 1; return .object(members)
            default: throw fail("expected ',' or '}', found \(describe(position))")
            }
        }
    }

    /// A string starting at its opening quote. Without escapes it is a slice of the line; its bytes must be
    /// well-formed UTF-8 either way.
    private mutating func string() throws(SyntaxError) -> JSONText {
        position += 1
        let start = position
        var unescaped: [UInt8]?
        var runStart = start
        while position < bytes.count {
            position = Self.skipPlainASCII(bytes, from: position)
            guard position < bytes.count else { break }
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                defer { position += 1 }
                guard var copy = unescaped else { return .slice(start..<position) }
                copy.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<position]))
                return .unescaped(copy)
            }
            if byte == UInt8(ascii: "\\") {
                if unescaped == nil { unescaped = Array(UnsafeBufferPointer(rebasing: bytes[start..<position])) } else {
                    unescaped!.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<position]))
                }
                position += 1
                try escape(into: &unescaped!)
                runStart = position
            } else if byte < 0x20 {
                throw fail("a control character inside a string must be escaped")
            } else if byte < 0x80 {
                position += 1
            } else {
                let length = UTF8Scan.sequenceLength(in: bytes, at: position)
                guard length > 0 else { throw fail("a string is not UTF-8") }
                position += length
            }
        }
        throw fail("a string is not closed")
    }

    /// The first index at or after `start` that is not plain ASCII (a quote, a backslash, a control byte or a
    /// byte of a multi-byte character), eight bytes at a time: most of an English text is passed over here.
    @inline(__always)
    private static func skipPlainASCII(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var index = start
        let raw = UnsafeRawPointer(bytes.baseAddress!)
        while index + 8 <= bytes.count {
            let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            let ones: UInt64 = 0x0101_0101_0101_0101
            let high: UInt64 = 0x8080_8080_8080_8080
            // A byte is special when its high bit is set, it is below 0x20, or it equals '"' or '\'.
            func zeroByte(_ x: UInt64) -> UInt64 { (x &- ones) & ~x & high }
            let special = (word & high) | ((word &- 0x2020_2020_2020_2020) & ~word & high)
                | zeroByte(word ^ 0x2222_2222_2222_2222) | zeroByte(word ^ 0x5C5C_5C5C_5C5C_5C5C)
            if special != 0 { return index + special.trailingZeroBitCount / 8 }
            index += 8
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte >= 0x80 || byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return index }
            index += 1
        }
        return index
    }

    /// The character after a backslash, appended unescaped.
    private mutating func escape(into output: inout [UInt8]) throws(SyntaxError) {
        guard position < bytes.count else { throw fail("a string is not closed") }
        let escaped = bytes[position]
        position += 1
        switch escaped {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(escaped)
        case UInt8(ascii: "b"): output.append(0x08)
        case UInt8(ascii: "f"): output.append(0x0C)
        case UInt8(ascii: "n"): output.append(0x0A)
        case UInt8(ascii: "r"): output.append(0x0D)
        case UInt8(ascii: "t"): output.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if (0xD800...0xDBFF).contains(scalar) {
                guard position + 6 <= bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                    throw fail("a high surrogate \\u\(String(scalar, radix: 16)) without its low half")
                }
                position += 2
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw fail("a high surrogate followed by \\u\(String(low, radix: 16))") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw fail("a lone low surrogate \\u\(String(scalar, radix: 16))")
            }
            guard let character = Unicode.Scalar(scalar) else { throw fail("\\u\(String(scalar, radix: 16)) is not a character") }
            output.append(contentsOf: UTF8.encode(character)!)
        default:
            throw fail("unknown escape \(describe(position - 1)) after a backslash")
        }
    }

    private mutating func hex4() throws(SyntaxError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw fail("\\u needs four hex digits") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw fail("\\u needs four hex digits")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }
}

/// A value of a document read by `JSONReader`, with the document it points into: the questions a file
/// loader asks of it (`node["model"]?["type"]?.string`). Valid while the document's bytes are.
struct JSONNode {
    let value: JSONReader.Value
    let document: UnsafeRawBufferPointer

    /// Reads `content` and hands its top value to `body`; a syntax error names the file and line.
    static func withDocument<Result>(
        _ content: [UInt8], path: String, _ body: (JSONNode) throws(TokcError) -> Result
    ) throws(TokcError) -> Result {
        let outcome: Swift.Result<Result, TokcError> = content.withUnsafeBytes { raw in
            do {
                let value = try JSONReader.parse(raw)
                return .success(try body(JSONNode(value: value, document: raw)))
            } catch let error as JSONReader.SyntaxError {
                let line = raw.prefix(error.offset).reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
                return .failure(.malformedFile(path: path, line: line, expected: "valid JSON (\(error.message))"))
            } catch let error as TokcError {
                return .failure(error)
            } catch {
                return .failure(.malformedFile(path: path, line: 1, expected: "\(error)"))
            }
        }
        return try outcome.get()
    }

    /// The member `key` of an object (the first, if a key repeats); nil for a missing key or a non-object.
    subscript(key: String) -> JSONNode? {
        guard case let .object(members) = value else { return nil }
        guard let member = members.first(where: { $0.key.equals(key, in: document) }) else { return nil }
        return JSONNode(value: member.value, document: document)
    }

    var isNull: Bool { if case .null = value { true } else { false } }
    var isObject: Bool { if case .object = value { true } else { false } }

    var string: String? {
        guard case let .string(text) = value else { return nil }
        return text.string(in: document)
    }

    /// A string's exact bytes.
    var bytes: [UInt8]? {
        guard case let .string(text) = value else { return nil }
        return text.bytes(in: document)
    }

    var bool: Bool? {
        guard case let .bool(flag) = value else { return nil }
        return flag
    }

    /// An integer number (no fraction, no exponent) that fits an `Int64`.
    var integer: Int64? {
        guard case let .number(range) = value else { return nil }
        return Int64(String(decoding: UnsafeRawBufferPointer(rebasing: document[range]), as: UTF8.self))
    }

    /// A number as Hugging Face's `tokenizers` reads it (`serde_json` without `float_roundtrip`): the digits
    /// gathered in a `UInt64` (digits past its range dropped), then one multiplication or division by a power of
    /// ten. With 17 significant digits that rounds twice and lands 1 ULP from the correctly rounded value for
    /// about a quarter of Unigram scores, which flips near-ties in a Viterbi: exactness against Hugging Face
    /// needs its numbers, not the true ones.
    var serdeNumber: Double? {
        guard case let .number(range) = value else { return nil }
        let bytes = UnsafeRawBufferPointer(rebasing: document[range])
        var index = 0
        let negative = bytes.first == UInt8(ascii: "-")
        if negative { index += 1 }
        var significand: UInt64 = 0
        var exponent = 0
        var full = false
        func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
        /// Adds a digit to the significand; false once it would overflow (the digit is then dropped).
        func accumulate(_ digit: UInt64) -> Bool {
            guard !full, significand <= (UInt64.max - digit) / 10 else { full = true; return false }
            significand = significand * 10 + digit
            return true
        }
        while index < bytes.count, isDigit(bytes[index]) {
            if !accumulate(UInt64(bytes[index] - 0x30)) { exponent += 1 }
            index += 1
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            while index < bytes.count, isDigit(bytes[index]) {
                if accumulate(UInt64(bytes[index] - 0x30)) { exponent -= 1 }
                index += 1
            }
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            var sign = 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
                if bytes[index] == UInt8(ascii: "-") { sign = -1 }
                index += 1
            }
            var power = 0
            while index < bytes.count, isDigit(bytes[index]) {
                power = min(power * 10 + Int(bytes[index] - 0x30), 100_000)
                index += 1
            }
            exponent += sign * power
        }
        var result = Double(significand)
        while true {
            if exponent.magnitude < UInt(Self.powersOfTen.count) {
                if exponent >= 0 { result *= Self.powersOfTen[exponent] } else { result /= Self.powersOfTen[-exponent] }
                break
            }
            if exponent > 0 { return nil }  // out of range: serde_json refuses it too
            if result == 0 { break }
            result /= 1e308
            exponent += 308
        }
        return negative ? -result : result
    }

    /// 10⁰ … 10³⁰⁸, each correctly rounded.
    private static let powersOfTen: [Double] = (0...308).map { Double("1e\($0)")! }

    var array: [JSONNode]? {
        guard case let .array(elements) = value else { return nil }
        return elements.map { JSONNode(value: $0, document: document) }
    }

    /// An object's members in document order, keys as exact bytes.
    var members: [(key: JSONText, value: JSONNode)]? {
        guard case let .object(members) = value else { return nil }
        return members.map { ($0.key, JSONNode(value: $0.value, document: document)) }
    }

    /// The value as compact JSON, its strings and numbers as the document writes them (a number is its digits,
    /// so it reads back to the same value by any rule). `replacement` is asked for each object member by its key
    /// path (`["model", "vocab"]`; an array's elements add `""`) and may give other JSON text to write instead.
    func write(to output: inout [UInt8], keyPath: [String] = [], replacement: ([String]) -> [UInt8]?) {
        switch value {
        case .null: output += Array("null".utf8)
        case let .bool(flag): output += Array((flag ? "true" : "false").utf8)
        case let .number(range): output += UnsafeRawBufferPointer(rebasing: document[range])
        case let .string(text): JSONValue.appendString(text.bytes(in: document), to: &output)
        case let .array(elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                JSONNode(value: element, document: document).write(to: &output, keyPath: keyPath + [""], replacement: replacement)
            }
            output.append(UInt8(ascii: "]"))
        case let .object(members):
            output.append(UInt8(ascii: "{"))
            for (index, member) in members.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                let key = member.key.bytes(in: document)
                JSONValue.appendString(key, to: &output)
                output.append(UInt8(ascii: ":"))
                let path = keyPath + [String(decoding: key, as: UTF8.self)]
                if let replaced = replacement(path) {
                    output += replaced
                } else {
                    JSONNode(value: member.value, document: document).write(to: &output, keyPath: path, replacement: replacement)
                }
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// The value as it is written in the document, for error messages (long values are cut).
    var source: String {
        switch value {
        case .null: return "null"
        case let .bool(flag): return flag ? "true" : "false"
        case let .number(range): return String(decoding: UnsafeRawBufferPointer(rebasing: document[range]), as: UTF8.self)
        case let .string(text): return "\"" + text.string(in: document) + "\""
        case let .array(elements):
            let shown = elements.prefix(4).map { JSONNode(value: $0, document: document).source }
            return "[" + shown.joined(separator: ", ") + (elements.count > 4 ? ", …" : "") + "]"
        case let .object(members):
            let shown = members.prefix(4).map { "\"\($0.key.string(in: document))\": \(JSONNode(value: $0.value, document: document).source)" }
            return "{" + shown.joined(separator: ", ") + (members.count > 4 ? ", …" : "") + "}"
        }
    }
}
