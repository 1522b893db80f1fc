import Tokc
import TokcJinja
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
    /// `encode`: answer each token's span too.
    var offsets = false
    /// `encode`: answer the spans as parallel lists (`offset_arrays`).
    var offsetArrays = false
    var outputTokens: Int?
    var budget: Int?
    /// `count_chat`'s requests, read again with their key order (a template may write a tool schema back).
    var chatRequests: [JinjaValue]?
}

/// Request lines read by `JSONReader`, with the checks of the protocol: known keys, a known op, the right
/// types, the op's own fields.
struct RequestParser {
    struct Failure: Error {
        var id: RequestID
        var error: ErrorBody
        /// The request's op when it names a known one, for the statistics.
        var op: String?
    }

    /// Nesting deeper than this is refused, so `[[[[…` cannot exhaust the stack.
    static let maxDepth = 32

    typealias Value = JSONReader.Value

    private let bytes: UnsafeBufferPointer<UInt8>

    private init(_ line: UnsafeRawBufferPointer) {
        bytes = line.bindMemory(to: UInt8.self)
    }

    /// Parses and checks one request line (or, over HTTP, one request body: `face` carries the URL's op, and
    /// refuses `paths`).
    static func parse(_ line: UnsafeRawBufferPointer, face: RequestProcessor.Face = .socket) -> Result<ParsedRequest, Failure> {
        let top: Value
        do {
            top = try JSONReader.parse(line, maxDepth: maxDepth)
        } catch {
            return .failure(Failure(id: .none, error: ErrorBody(code: .malformedJSON, message: "the line is not valid JSON: \(error.message)")))
        }
        guard case let .object(members) = top else {
            return .failure(Failure(id: .none, error: ErrorBody(code: .malformedJSON, message: "a request is a JSON object, one per line")))
        }
        let parser = RequestParser(line)
        let request = parser.request(from: members.map { (key: $0.key.string(in: line), value: $0.value) }, face: face)
        if case .http = face, case let .success(parsed) = request, parsed.paths != nil {
            return .failure(Failure(id: parsed.id, error: ErrorBody(code: .invalidRequest, message: "'paths' is not accepted over HTTP: the daemon reads no files for a web client; send the text in 'texts'"), op: parsed.op.rawValue))
        }
        return request
    }

    // MARK: - From JSON to a request

    /// The fields each op reads besides `id` and `op`.
    static let fields: [Op: Set<String>] = [
        .count: ["texts", "paths", "vocab", "model", "allow_special"],
        .encode: ["texts", "paths", "vocab", "model", "allow_special", "offsets", "offset_arrays"],
        .decode: ["ids", "vocab", "model"],
        .cost: ["texts", "paths", "vocab", "model", "allow_special", "output_tokens", "budget"],
        .vocabularies: [], .models: [], .health: [], .stats: [],
        .countChat: ["requests", "vocab", "model", "allow_special"],
    ]

    private static let knownKeys = Request.CodingKeys.allCases.map(\.stringValue)

    private func request(from members: [(key: String, value: Value)], face: RequestProcessor.Face) -> Result<ParsedRequest, Failure> {
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
        var opValue = members.first(where: { $0.key == "op" })?.value
        var opName: String? = if case let .string(text)? = opValue { text.string(in: UnsafeRawBufferPointer(bytes)) } else { nil }
        var op = opName.flatMap(Op.init(rawValue:))
        func invalid(_ message: String) -> Result<ParsedRequest, Failure> {
            .failure(Failure(id: id, error: ErrorBody(code: .invalidRequest, message: message), op: op?.rawValue))
        }
        if case let .http(urlOp) = face {
            // The URL names the op; a body that names one too must name the same.
            if opValue != nil && op != urlOp {
                return invalid("the body's op \(opName.map { "'\($0)'" } ?? "field") is not the URL's '\(urlOp.rawValue)'")
            }
            opValue = .null
            opName = urlOp.rawValue
            op = urlOp
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
                case "offsets":
                    guard case let .bool(flag) = value else { throw FieldError("field 'offsets' must be true or false") }
                    request.offsets = flag
                case "offset_arrays":
                    guard case let .bool(flag) = value else { throw FieldError("field 'offset_arrays' must be true or false") }
                    request.offsetArrays = flag
                case "output_tokens": request.outputTokens = try int(value, key)
                case "budget": request.budget = try int(value, key)
                case "ids": request.ids = try idLists(value)
                case "requests": request.chatRequests = try chatRequests(value)
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

    /// The request bodies of `count_chat`: a list of objects, read again from the line in order.
    private func chatRequests(_ value: Value) throws(FieldError) -> [JinjaValue] {
        guard case let .array(items) = value else { throw FieldError("field 'requests' must be a list of chat requests, not \(value.kind)") }
        for (index, item) in items.enumerated() {
            guard case .object = item else { throw FieldError("field 'requests[\(index)]' must be a chat request object, not \(item.kind)") }
        }
        guard case .dictionary(let line)? = try? JinjaValue.parseJSON(Array(bytes)), case .array(let requests)? = line["requests"] else {
            throw FieldError("field 'requests' could not be read")
        }
        return requests
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
        case .countChat:
            if request.chatRequests?.isEmpty ?? true { return "op 'count_chat' needs 'requests', a list of chat requests" }
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
