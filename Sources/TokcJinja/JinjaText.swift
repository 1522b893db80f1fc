#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How Python writes values: `str()` (what `{{ x }}` prints), `repr()` (how a list shows its strings) and
/// `json.dumps` (transformers' `tojson`), and how it reads JSON (`json.loads`: integers stay integers).
enum PythonText {
    /// `str(value)`, with Jinja's undefined printing as "".
    static func str(_ value: JinjaValue) -> String {
        switch value {
        case .undefined: return ""
        case .string(let string): return string
        default:
            var output = ""
            repr(value, into: &output)
            return output
        }
    }

    static func repr(_ value: JinjaValue, into output: inout String) {
        switch value {
        case .undefined: output += ""
        case .none: output += "None"
        case .bool(let flag): output += flag ? "True" : "False"
        case .int(let number): output += String(number)
        case .double(let number): output += float(number)
        case .string(let string): quote(string, into: &output)
        case .array(let values):
            output += "["
            for (index, element) in values.enumerated() {
                if index > 0 { output += ", " }
                repr(element, into: &output)
            }
            output += "]"
        case .dictionary(let dictionary):
            output += "{"
            for (index, (key, element)) in dictionary.pairs.enumerated() {
                if index > 0 { output += ", " }
                quote(key, into: &output)
                output += ": "
                repr(element, into: &output)
            }
            output += "}"
        case .namespace(let namespace):
            output += "<Namespace "
            repr(.dictionary(namespace.attributes), into: &output)
            output += ">"
        case .callable(let callable): output += "<function \(callable.name)>"
        }
    }

    /// Python's string repr: single quotes unless the text has one and no double quote.
    static func quote(_ string: String, into output: inout String) {
        let quote: Character = string.contains("'") && !string.contains("\"") ? "\"" : "'"
        output.append(quote)
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            default:
                if Character(scalar) == quote {
                    output += "\\"
                    output.unicodeScalars.append(scalar)
                } else if scalar.value < 0x20 || scalar.value == 0x7F {
                    output += "\\x" + hex(scalar.value, digits: 2)
                } else if !isPrintable(scalar) {
                    output += scalar.value <= 0xFF ? "\\x" + hex(scalar.value, digits: 2)
                        : scalar.value <= 0xFFFF ? "\\u" + hex(scalar.value, digits: 4) : "\\U" + hex(scalar.value, digits: 8)
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        output.append(quote)
    }

    /// Python's `str.isprintable` for one character: not a control, format, surrogate, private-use,
    /// unassigned or separator (other than the space) character.
    private static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == " " { return true }
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return false
        default:
            return true
        }
    }

    static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    /// `repr(float)`: the shortest digits that read back the same (Swift finds those too), written in fixed
    /// notation when the decimal exponent is in -4..<16 and in Python's scientific form otherwise.
    static func float(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        if value == 0 { return value.sign == .minus ? "-0.0" : "0.0" }
        let decimal = ShortestDecimal(value)
        let digits = decimal.digits
        let exponent = decimal.exponent
        let sign = value < 0 ? "-" : ""
        if exponent >= -4 && exponent < 16 {
            if exponent < 0 { return sign + "0." + String(repeating: "0", count: -exponent - 1) + digits }
            if digits.count <= exponent + 1 {
                return sign + digits + String(repeating: "0", count: exponent + 1 - digits.count) + ".0"
            }
            let split = digits.index(digits.startIndex, offsetBy: exponent + 1)
            return sign + digits[..<split] + "." + digits[split...]
        }
        let mantissa = digits.count == 1 ? digits : String(digits.first!) + "." + digits.dropFirst()
        let exponentText = String(abs(exponent))
        return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + (exponentText.count < 2 ? "0" : "") + exponentText
    }

    /// Where `needle` first occurs in `haystack` at or after `from`, as byte offsets.
    static func byteRange(of needle: [UInt8], in haystack: [UInt8], from: Int = 0) -> Range<Int>? {
        guard let first = needle.first, haystack.count - from >= needle.count else { return nil }
        return haystack.withUnsafeBufferPointer { text -> Range<Int>? in
            guard let base = text.baseAddress else { return nil }
            var position = from
            let last = text.count - needle.count
            while position <= last {
                guard let hit = memchr(base + position, Int32(first), last - position + 1) else { return nil }
                position = UnsafePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - base
                if needle.withUnsafeBufferPointer({ wanted in wanted.baseAddress.map { memcmp($0, base + position, needle.count) == 0 } ?? false }) {
                    return position..<(position + needle.count)
                }
                position += 1
            }
            return nil
        }
    }

    // MARK: JSON

    /// `json.dumps(value, ensure_ascii=False, indent=indent, separators=separators)`.
    /// `asciiOnly` is json.dumps' default `ensure_ascii=True`: every non-ASCII character as `\uXXXX`.
    static func json(_ value: JinjaValue, indent: Int?, itemSeparator: String? = nil, keySeparator: String? = nil,
                     sortKeys: Bool = false, asciiOnly: Bool = false) throws -> String {
        var output = ""
        let items = itemSeparator ?? (indent == nil ? ", " : ",")
        let keys = keySeparator ?? ": "
        try json(value, indent: indent, level: 0, items: items, keys: keys, sortKeys: sortKeys, asciiOnly: asciiOnly, into: &output)
        return output
    }

    private static func json(_ value: JinjaValue, indent: Int?, level: Int, items: String, keys: String, sortKeys: Bool,
                             asciiOnly: Bool, into output: inout String) throws {
        func newline(_ depth: Int) {
            guard let indent else { return }
            output += "\n" + String(repeating: " ", count: indent * depth)
        }
        switch value {
        case .none: output += "null"
        case .bool(let flag): output += flag ? "true" : "false"
        case .int(let number): output += String(number)
        case .double(let number):
            if number.isNaN { output += "NaN" } else if number.isInfinite { output += number < 0 ? "-Infinity" : "Infinity" } else { output += float(number) }
        case .string(let string): jsonString(string, asciiOnly: asciiOnly, into: &output)
        case .array(let values):
            if values.isEmpty { output += "[]"; return }
            output += "["
            for (index, element) in values.enumerated() {
                if index > 0 { output += items }
                newline(level + 1)
                try json(element, indent: indent, level: level + 1, items: items, keys: keys, sortKeys: sortKeys, asciiOnly: asciiOnly,
                         into: &output)
            }
            newline(level)
            output += "]"
        case .dictionary(let dictionary):
            if dictionary.isEmpty { output += "{}"; return }
            output += "{"
            var pairs = dictionary.pairs
            if sortKeys { pairs.sort { $0.0.unicodeScalars.lexicographicallyPrecedes($1.0.unicodeScalars) } }
            for (index, (key, element)) in pairs.enumerated() {
                if index > 0 { output += items }
                newline(level + 1)
                jsonString(key, asciiOnly: asciiOnly, into: &output)
                output += keys
                try json(element, indent: indent, level: level + 1, items: items, keys: keys, sortKeys: sortKeys, asciiOnly: asciiOnly,
                         into: &output)
            }
            newline(level)
            output += "}"
        case .undefined(let name):
            throw JinjaError.runtime("tojson: '\(name)' is undefined", line: 0)
        case .namespace, .callable:
            throw JinjaError.runtime("tojson: Object of type \(value.typeName) is not JSON serializable", line: 0)
        }
    }

    static func jsonString(_ string: String, asciiOnly: Bool = false, into output: inout String) {
        output += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{08}": output += "\\b"
            case "\u{0C}": output += "\\f"
            default:
                if scalar.value < 0x20 || (asciiOnly && scalar.value > 0x7E) {
                    if scalar.value > 0xFFFF {
                        let offset = scalar.value - 0x10000
                        output += "\\u" + hex(0xD800 + (offset >> 10), digits: 4) + "\\u" + hex(0xDC00 + (offset & 0x3FF), digits: 4)
                    } else {
                        output += "\\u" + hex(scalar.value, digits: 4)
                    }
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        output += "\""
    }
}

extension String {
    /// Foundation-free replacement of every occurrence of `target`.
    func replacingAll(_ target: String, with replacement: String) -> String {
        if target.isEmpty { return self }
        var result = ""
        var rest = Substring(self)
        while let range = rest.scalarRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}

extension Substring {
    /// The first occurrence of `target`, code point by code point (Python's `in`, `find`, `split`): found on the
    /// UTF-8 bytes, where a match of a whole well-formed needle can only begin and end on character boundaries.
    func scalarRange(of target: String) -> Range<Substring.Index>? {
        guard !target.isEmpty else { return startIndex..<startIndex }
        guard let found = PythonText.byteRange(of: Array(target.utf8), in: Array(utf8)) else { return nil }
        let lower = utf8.index(startIndex, offsetBy: found.lowerBound)
        return lower..<utf8.index(lower, offsetBy: found.count)
    }
}
