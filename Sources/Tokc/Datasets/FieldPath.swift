/// Which strings of a JSON record count: a path of keys separated by dots (`text`, `meta.title`), where `*`
/// takes every element of a list (or every value of an object) and a number an element of a list
/// (`messages.*.content`, `messages.0.content`). Each string the path reaches is counted alone and the counts are
/// added. A key that is missing, or a value on the way that is not what the path needs, makes the record bad;
/// a `null` reached through a `*` is no text (a chat message without content), anywhere else it is bad.
public struct FieldPath: Sendable, CustomStringConvertible {
    enum Step: Sendable {
        case key([UInt8])
        case any
    }

    let steps: [Step]
    public let description: String

    public init(_ text: String) throws(TokcError) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard !text.isEmpty, !parts.contains(where: \.isEmpty) else {
            throw .invalidRequest("--field \(text): expected keys separated by dots, such as text or messages.*.content")
        }
        steps = parts.map { $0 == "*" ? .any : .key(Array($0.utf8)) }
        description = text
    }

    /// Calls `body` with each string the path reaches in `value`, in document order; the error says what was
    /// found instead of what the path needed.
    func forEachString(
        in value: JSONReader.Value, line: UnsafeRawBufferPointer, _ body: (UnsafeBufferPointer<UInt8>) -> Void
    ) throws(RecordError) {
        try visit(value, step: 0, throughAny: false, line: line, body)
    }

    private func visit(
        _ value: JSONReader.Value, step: Int, throughAny: Bool, line: UnsafeRawBufferPointer,
        _ body: (UnsafeBufferPointer<UInt8>) -> Void
    ) throws(RecordError) {
        guard step < steps.count else {
            switch value {
            case let .string(text): text.withBytes(in: line, body)
            case .null where throughAny: break
            default: throw RecordError("a string at \(where_(step)), found \(value.kind)")
            }
            return
        }
        switch (steps[step], value) {
        case (.any, .array(let elements)):
            for element in elements { try visit(element, step: step + 1, throughAny: true, line: line, body) }
        case (.any, .object(let members)):
            for member in members { try visit(member.value, step: step + 1, throughAny: true, line: line, body) }
        case (.key(let key), .object(let members)):
            // The last of duplicate keys, as Python's json and JavaScript keep.
            guard let member = members.last(where: { $0.key.withBytes(in: line) { $0.elementsEqual(key) } }) else {
                throw RecordError("a field \"\(String(decoding: key, as: UTF8.self))\" in \(where_(step)), which has none")
            }
            try visit(member.value, step: step + 1, throughAny: throughAny, line: line, body)
        case (.key(let key), .array(let elements)):
            guard let index = Int(String(decoding: key, as: UTF8.self)), index >= 0 else {
                throw RecordError("an object at \(where_(step)), found a list")
            }
            guard index < elements.count else { throw RecordError("an element \(index) in \(where_(step)), which has \(elements.count)") }
            try visit(elements[index], step: step + 1, throughAny: throughAny, line: line, body)
        case (_, .null) where throughAny:
            break
        default:
            throw RecordError((step == 0 ? "an object" : "an object or a list") + " at \(where_(step)), found \(value.kind)")
        }
    }

    /// The path up to (not including) `step`, for messages: "the record" for none.
    private func where_(_ step: Int) -> String {
        step == 0 ? "the record" : steps[..<step].map {
            switch $0 {
            case .any: return "*"
            case let .key(key): return String(decoding: key, as: UTF8.self)
            }
        }.joined(separator: ".")
    }
}

/// Why one record cannot be counted; `RecordCounter` adds the line.
struct RecordError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
