import Tokc
import TokcProtocol

/// A request as the daemon reads it: texts stay where they are in the request line (a string without
/// escapes is a slice of the line, counted in place), so a 1 MB batch is neither copied into `String`s nor
/// scanned twice.
struct ParsedRequest {
    var id: RequestID = .none
    var op: Op
    var texts: [JSONText]?
    var paths: [String]?
    var vocab: String?
    var model: String?
    var ids: [[UInt32]]?
    var allowSpecial = false
    var outputTokens: Int?
    var budget: Int?
}

/// A JSON string's bytes: a slice of the line when it has no escapes, else its unescaped copy.
enum JSONText {
    case slice(Range<Int>)
    case unescaped([UInt8])

    func withBytes<Result>(in line: UnsafeRawBufferPointer, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        switch self {
        case let .slice(range):
            return body(UnsafeBufferPointer(rebasing: line.bindMemory(to: UInt8.self)[range]))
        case let .unescaped(bytes):
            return bytes.withUnsafeBufferPointer(body)
        }
    }

    func byteCount() -> Int {
        switch self {
        case let .slice(range): return range.count
        case let .unescaped(bytes): return bytes.count
        }
    }

    func string(in line: UnsafeRawBufferPointer) -> String {
        withBytes(in: line) { String(decoding: $0, as: UTF8.self) }
    }
}

/// A strict JSON reader for request lines (RFC 8259: UTF-8, no trailing commas, no comments), with errors that
/// say where, and the checks of the protocol: known keys, a known op, the right types, the op's own fields.
/// Written for the daemon's hot path in place of `JSONDecoder`, which cost as much CPU as counting 1 KB.
struct RequestParser {
    struct Failure: Error {
        var id: RequestID
        var error: ErrorBody
        /// The request's op when it names a known one, for the statistics.
        var op: String?
    }

    /// Nesting deeper than this is refused, so `[[[[…` cannot exhaust the stack.
    static let maxDepth = 32

    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0

    private init(_ line: UnsafeRawBufferPointer) {
        bytes = line.bindMemory(to: UInt8.self)
    }

    /// Parses and checks one request line.
    static func parse(_ line: UnsafeRawBufferPointer) -> Result<ParsedRequest, Failure> {
        var parser = RequestParser(line)
        let top: Value
        do {
            top = try parser.document()
        } catch {
            return .failure(Failure(id: .none, error: ErrorBody(code: .malformedJSON, message: "the line is not valid JSON: \(error.message)")))
        }
        guard case let .object(members) = top else {
            return .failure(Failure(id: .none, error: ErrorBody(code: .malformedJSON, message: "a request is a JSON object, one per line")))
        }
        return parser.request(from: members)
    }

    // MARK: - JSON values

    struct SyntaxError: Error {
        let message: String
    }

    indirect enum Value {
        case null
        case bool(Bool)
        case number(Range<Int>)
        case string(JSONText)
        case array([Value])
        case object([(key: String, value: Value)])

        var kind: String {
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
        SyntaxError(message: "\(message) at byte \(position)")
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
        guard depth <= Self.maxDepth else { throw fail("nesting deeper than \(Self.maxDepth)") }
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
        guard depth <= Self.maxDepth else { throw fail("nesting deeper than \(Self.maxDepth)") }
        position += 1
        var members: [(key: String, value: Value)] = []
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
            members.append((key.withBytes(in: UnsafeRawBufferPointer(bytes)) { String(decoding: $0, as: UTF8.self) }, value))
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

    // MARK: - From JSON to a request

    /// The fields each op reads besides `id` and `op`.
    static let fields: [Op: Set<String>] = [
        .count: ["texts", "paths", "vocab", "model", "allow_special"],
        .encode: ["texts", "paths", "vocab", "model", "allow_special"],
        .decode: ["ids", "vocab", "model"],
        .cost: ["texts", "paths", "vocab", "model", "allow_special", "output_tokens", "budget"],
        .vocabularies: [], .models: [], .health: [], .stats: [],
    ]

    private static let knownKeys = Request.CodingKeys.allCases.map(\.stringValue)

    private func request(from members: [(key: String, value: Value)]) -> Result<ParsedRequest, Failure> {
        var id = RequestID.none
        if let member = members.first(where: { $0.key == "id" }) {
            switch member.value {
            case .null: break
            case let .string(text): id = .string(text.string(in: UnsafeRawBufferPointer(bytes)))
            case let .number(range) where integer(range) != nil:
                id = .number(integer(range)!)
            default:
                return .failure(Failure(id: .none, error: ErrorBody(code: .invalidRequest, message: "field 'id' must be an integer, a string or null")))
            }
        }
        let opValue = members.first(where: { $0.key == "op" })?.value
        let opName: String? = if case let .string(text)? = opValue { text.string(in: UnsafeRawBufferPointer(bytes)) } else { nil }
        let op = opName.flatMap(Op.init(rawValue:))
        func invalid(_ message: String) -> Result<ParsedRequest, Failure> {
            .failure(Failure(id: id, error: ErrorBody(code: .invalidRequest, message: message), op: op?.rawValue))
        }

        var seen = Set<String>()
        for member in members {
            guard Self.knownKeys.contains(member.key) else {
                return invalid("unknown field '\(member.key)'; a request has \(Self.knownKeys.joined(separator: ", "))")
            }
            guard seen.insert(member.key).inserted else { return invalid("field '\(member.key)' appears twice") }
        }
        guard opValue != nil else { return invalid("missing field 'op' (one of \(Op.allCases.map(\.rawValue).joined(separator: ", ")))") }
        guard let opName else { return invalid("field 'op' must be a string") }
        guard let op else {
            return .failure(Failure(id: id, error: ErrorBody(code: .unknownOp, message: "unknown op '\(opName)'; ops: \(Op.allCases.map(\.rawValue).joined(separator: ", "))")))
        }

        let allowed = Self.fields[op, default: []]
        var request = ParsedRequest(id: id, op: op)
        for (key, value) in members where key != "id" && key != "op" {
            if case .null = value { continue }
            guard allowed.contains(key) else {
                return invalid("field '\(key)' is not read by op '\(op.rawValue)'" + (allowed.isEmpty ? "" : "; it reads \(allowed.sorted().joined(separator: ", "))"))
            }
            do {
                switch key {
                case "texts": request.texts = try list(value, key) { text, _ in text }
                case "paths": request.paths = try list(value, key) { text, _ in text.string(in: UnsafeRawBufferPointer(bytes)) }
                case "vocab": request.vocab = try string(value, key)
                case "model": request.model = try string(value, key)
                case "allow_special":
                    guard case let .bool(flag) = value else { throw FieldError("field 'allow_special' must be true or false") }
                    request.allowSpecial = flag
                case "output_tokens": request.outputTokens = try int(value, key)
                case "budget": request.budget = try int(value, key)
                case "ids": request.ids = try idLists(value)
                default: break
                }
            } catch let error as FieldError {
                return invalid(error.message)
            } catch {
                return invalid("\(error)")
            }
        }
        if let message = Self.check(request) { return invalid(message) }
        return .success(request)
    }

    private struct FieldError: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }

    private func integer(_ range: Range<Int>) -> Int64? {
        Int64(String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self))
    }

    private func string(_ value: Value, _ key: String) throws(FieldError) -> String {
        guard case let .string(text) = value else { throw FieldError("field '\(key)' must be a string, not \(value.kind)") }
        return text.string(in: UnsafeRawBufferPointer(bytes))
    }

    private func int(_ value: Value, _ key: String) throws(FieldError) -> Int {
        guard case let .number(range) = value, let number = integer(range), let small = Int(exactly: number) else {
            throw FieldError("field '\(key)' must be an integer")
        }
        return small
    }

    private func list<Element>(_ value: Value, _ key: String, _ element: (JSONText, Int) -> Element) throws(FieldError) -> [Element] {
        guard case let .array(values) = value else { throw FieldError("field '\(key)' must be a list of strings, not \(value.kind)") }
        var result: [Element] = []
        result.reserveCapacity(values.count)
        for (index, item) in values.enumerated() {
            guard case let .string(text) = item else { throw FieldError("field '\(key)[\(index)]' must be a string, not \(item.kind)") }
            result.append(element(text, index))
        }
        return result
    }

    private func idLists(_ value: Value) throws(FieldError) -> [[UInt32]] {
        guard case let .array(lists) = value else { throw FieldError("field 'ids' must be a list of id lists, not \(value.kind)") }
        var result: [[UInt32]] = []
        for (list, item) in lists.enumerated() {
            guard case let .array(ids) = item else { throw FieldError("field 'ids[\(list)]' must be a list of token ids, not \(item.kind)") }
            var row: [UInt32] = []
            row.reserveCapacity(ids.count)
            for (position, id) in ids.enumerated() {
                guard case let .number(range) = id, let number = integer(range), let token = UInt32(exactly: number) else {
                    let shown = if case let .number(range) = id { String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self) } else { id.kind }
                    throw FieldError("field 'ids[\(list)][\(position)]' is \(shown), not a token id (0 to 4294967295)")
                }
                row.append(token)
            }
            result.append(row)
        }
        return result
    }

    /// The rules between fields.
    private static func check(_ request: ParsedRequest) -> String? {
        switch request.op {
        case .count, .encode, .cost:
            if (request.texts == nil) == (request.paths == nil) { return "op '\(request.op.rawValue)' needs exactly one of 'texts' or 'paths'" }
            if let relative = request.paths?.first(where: { !$0.hasPrefix("/") }) {
                return "path '\(relative)' is not absolute; the daemon's working directory is not the client's"
            }
        case .decode:
            if request.ids == nil { return "op 'decode' needs 'ids', a list of id lists" }
        default:
            break
        }
        if request.op == .cost {
            if request.model == nil { return "op 'cost' needs 'model'" }
            if let budget = request.budget, budget <= 0 { return "'budget' must be a positive number of tokens" }
            if let output = request.outputTokens, output < 0 { return "'output_tokens' must not be negative" }
        }
        return nil
    }
}
