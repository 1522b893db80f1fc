/// A value as a chat template sees it: Python's types as Jinja's sandbox exposes them. Dictionaries keep their
/// insertion order, as Python's do (a template that re-serialises a tool's JSON schema with `tojson` must write
/// its keys in the order the request gave them).
public indirect enum JinjaValue: Sendable {
    /// A name, attribute or key that does not exist. It prints as "", is false, iterates as nothing and has
    /// length 0; reading an attribute or item of it is an error (Jinja's default `Undefined`).
    case undefined(String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JinjaValue])
    case dictionary(JinjaDictionary)
    /// `namespace(...)`: the one mutable object a template has (`{% set ns.found = true %}`).
    case namespace(JinjaNamespace)
    /// A macro, a built-in function, a bound method or a loop's recursion: something a template calls.
    case callable(JinjaCallable)

    public static func dictionary(_ pairs: [(String, JinjaValue)]) -> JinjaValue {
        .dictionary(JinjaDictionary(pairs))
    }

    /// Python's truth: empty strings, sequences and mappings, zero, None and undefined are false.
    public var isTruthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let value): return value
        case .int(let value): return value != 0
        case .double(let value): return value != 0
        case .string(let value): return !value.isEmpty
        case .array(let values): return !values.isEmpty
        case .dictionary(let dictionary): return !dictionary.isEmpty
        case .namespace, .callable: return true
        }
    }

    public var isUndefined: Bool {
        if case .undefined = self { return true }
        return false
    }

    /// Python's `type(x).__name__`, for error messages.
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .array: return "list"
        case .dictionary: return "dict"
        case .namespace: return "Namespace"
        case .callable: return "function"
        }
    }
}

/// An ordered string-keyed mapping (Python's dict with string keys, the only keys JSON and chat templates use).
/// Chat messages and template frames hold a handful of keys, so a mapping is its entries in order, searched by
/// scan (comparing lengths first: no hashing, and unequal keys cost no string comparison); a hash index is
/// built only when one outgrows `scanLimit` (a tool schema's properties, a big JSON object).
public struct JinjaDictionary: Sendable {
    private var entries: [(key: String, value: JinjaValue)] = []
    private var index: [String: Int]?
    private static let scanLimit = 16

    public init() {}

    public init(_ pairs: [(String, JinjaValue)]) {
        entries.reserveCapacity(pairs.count)
        for (key, value) in pairs { self[key] = value }
    }

    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }
    public var keys: [String] { entries.map(\.key) }
    public var pairs: [(String, JinjaValue)] { entries.map { ($0.key, $0.value) } }

    /// Whether the keys are exactly `names`, in that order.
    func hasKeys(inOrder names: String...) -> Bool {
        entries.count == names.count && zip(entries, names).allSatisfy { $0.key == $1 }
    }

    private func position(of key: String) -> Int? {
        if let index { return index[key] }
        let length = key.utf8.count
        for position in entries.indices where entries[position].key.utf8.count == length && entries[position].key == key {
            return position
        }
        return nil
    }

    public subscript(key: String) -> JinjaValue? {
        get { position(of: key).map { entries[$0].value } }
        set {
            if let newValue {
                if let position = position(of: key) {
                    entries[position].value = newValue
                } else {
                    entries.append((key, newValue))
                    if index != nil {
                        index![key] = entries.count - 1
                    } else if entries.count > Self.scanLimit {
                        index = Dictionary(entries.indices.map { (entries[$0].key, $0) }, uniquingKeysWith: { first, _ in first })
                    }
                }
            } else if let position = position(of: key) {
                entries.remove(at: position)
                if index != nil {
                    index = Dictionary(entries.indices.map { (entries[$0].key, $0) }, uniquingKeysWith: { first, _ in first })
                }
            }
        }
    }
}

/// The attributes of a `namespace()`, shared by every reference to it.
public final class JinjaNamespace: @unchecked Sendable {
    var attributes: JinjaDictionary

    init(_ attributes: JinjaDictionary) { self.attributes = attributes }
}

/// Something a template can call. `body` gets the positional and keyword arguments.
public final class JinjaCallable: @unchecked Sendable {
    let name: String
    let body: (_ arguments: [JinjaValue], _ keywords: [(String, JinjaValue)]) throws -> JinjaValue

    init(_ name: String, _ body: @escaping ([JinjaValue], [(String, JinjaValue)]) throws -> JinjaValue) {
        self.name = name
        self.body = body
    }
}
