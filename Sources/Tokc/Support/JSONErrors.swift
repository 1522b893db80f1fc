import Foundation

/// Errors for JSON files tokc reads (manifests, price tables) that name the file, the line and what was
/// expected, where Foundation's decoders say less.
public enum JSONErrors {
    static func describe(_ error: DecodingError) -> String {
        func at(_ path: [any CodingKey]) -> String {
            path.isEmpty ? "the top level" : path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        }
        switch error {
        case let .keyNotFound(key, context):
            return "a field '\(key.stringValue)' at \(at(context.codingPath))"
        case let .typeMismatch(type, context), let .valueNotFound(type, context):
            return "a value of type \(type) at \(at(context.codingPath))"
        case let .dataCorrupted(context):
            return "a valid value at \(at(context.codingPath)) (\(context.debugDescription))"
        @unknown default:
            return "JSON of the expected shape"
        }
    }

    /// A JSON syntax error with its line. `JSONDecoder` on Linux does not say where the syntax breaks;
    /// `JSONSerialization` says "around character N" in its debug description, which gives the line.
    static func syntaxError(in data: Data, path: String) -> TokcError {
        var reason = "syntax error"
        var line = 1
        do {
            _ = try JSONSerialization.jsonObject(with: data)
        } catch {
            let description = ((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String) ?? "\(error)"
            reason = description
            if let range = description.range(of: "character "),
               let offset = Int(description[range.upperBound...].prefix { $0.isNumber }) {
                line = data.prefix(offset).reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
            }
        }
        return .malformedFile(path: path, line: line, expected: "valid JSON (\(reason))")
    }
}
