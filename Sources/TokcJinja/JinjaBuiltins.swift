/// The filters, tests and Python methods chat templates use, with Python's and Jinja's behaviour.
extension JinjaRenderer {
    static func isPythonSpace(_ scalar: Unicode.Scalar) -> Bool {
        // ASCII without the Unicode property tables: tab to carriage return, the four separators 0x1C-0x1F, space.
        if scalar.value < 0x80 { return (0x09...0x0D).contains(scalar.value) || (0x1C...0x20).contains(scalar.value) }
        return scalar.properties.isWhitespace
    }

    static func strip(_ string: String, _ characters: JinjaValue?, leading: Bool, trailing: Bool) -> String {
        let drop: (Unicode.Scalar) -> Bool
        if case .string(let set)? = characters {
            let members = Set(set.unicodeScalars)
            drop = { members.contains($0) }
        } else {
            drop = isPythonSpace
        }
        // Walk in from the ends only; most strings have nothing to strip and come back as they are.
        let scalars = string.unicodeScalars
        var start = scalars.startIndex
        var end = scalars.endIndex
        if leading { while start < end && drop(scalars[start]) { start = scalars.index(after: start) } }
        if trailing {
            while end > start {
                let before = scalars.index(before: end)
                guard drop(scalars[before]) else { break }
                end = before
            }
        }
        if start == scalars.startIndex && end == scalars.endIndex { return string }
        return String(scalars[start..<end])
    }

    /// Python's `str.split(sep=None, maxsplit=-1)`.
    static func split(_ string: String, separator: JinjaValue?, limit: Int) throws -> [JinjaValue] {
        var parts: [JinjaValue] = []
        guard case .string(let separatorText)? = separator else {
            let scalars = Array(string.unicodeScalars)
            func piece(_ range: Range<Int>) -> JinjaValue {
                var view = String.UnicodeScalarView()
                view.append(contentsOf: scalars[range])
                return .string(String(view))
            }
            var index = 0
            while index < scalars.count {
                while index < scalars.count && isPythonSpace(scalars[index]) { index += 1 }
                if index == scalars.count { break }
                if limit >= 0 && parts.count == limit {
                    var end = scalars.count
                    while end > index && isPythonSpace(scalars[end - 1]) { end -= 1 }
                    parts.append(piece(index..<end))
                    return parts
                }
                let start = index
                while index < scalars.count && !isPythonSpace(scalars[index]) { index += 1 }
                parts.append(piece(start..<index))
            }
            return parts
        }
        // A separator: on the UTF-8 bytes (a whole needle's match begins and ends on character boundaries).
        let needle = Array(separatorText.utf8)
        guard !needle.isEmpty else { throw JinjaError.runtime("empty separator", line: 0) }
        let bytes = Array(string.utf8)
        var start = 0
        while limit < 0 || parts.count < limit, let found = PythonText.byteRange(of: needle, in: bytes, from: start) {
            parts.append(.string(String(decoding: bytes[start..<found.lowerBound], as: UTF8.self)))
            start = found.upperBound
        }
        parts.append(.string(String(decoding: bytes[start...], as: UTF8.self)))
        return parts
    }

    func stringMethod(_ name: String, _ string: String) -> JinjaValue? {
        func method(_ body: @escaping ([JinjaValue], [(String, JinjaValue)]) throws -> JinjaValue) -> JinjaValue {
            .callable(JinjaCallable("str.\(name)", body))
        }
        func keyword(_ keywords: [(String, JinjaValue)], _ name: String) -> JinjaValue? { keywords.first { $0.0 == name }?.1 }
        switch name {
        case "strip", "lstrip", "rstrip":
            return method { arguments, _ in
                .string(Self.strip(string, arguments.first, leading: name != "rstrip", trailing: name != "lstrip"))
            }
        case "split":
            return method { arguments, keywords in
                let separator = arguments.first ?? keyword(keywords, "sep")
                let limit = (arguments.count > 1 ? arguments[1] : keyword(keywords, "maxsplit")).flatMap(Self.integer) ?? -1
                return .array(try Self.split(string, separator: separator.flatMap { if case .none = $0 { return nil } else { return $0 } }, limit: limit))
            }
        case "startswith", "endswith":
            return method { arguments, _ in
                let candidates: [JinjaValue]
                if case .array(let list)? = arguments.first { candidates = list } else { candidates = arguments.first.map { [$0] } ?? [] }
                return .bool(try candidates.contains { candidate in
                    guard case .string(let affix) = candidate else {
                        throw JinjaError.runtime("\(name) first arg must be str or a tuple of str", line: 0)
                    }
                    return name == "startswith" ? string.unicodeScalars.starts(with: affix.unicodeScalars)
                        : string.unicodeScalars.reversed().starts(with: affix.unicodeScalars.reversed())
                })
            }
        case "upper": return method { _, _ in .string(string.uppercased()) }
        case "lower": return method { _, _ in .string(string.lowercased()) }
        case "title": return method { _, _ in .string(Self.title(string)) }
        case "capitalize": return method { _, _ in .string(Self.capitalize(string)) }
        case "replace":
            return method { arguments, _ in
                guard arguments.count >= 2, case .string(let old) = arguments[0], case .string(let new) = arguments[1] else {
                    throw JinjaError.runtime("replace() takes two strings", line: 0)
                }
                return .string(string.replacingAll(old, with: new))
            }
        case "find":
            return method { arguments, _ in
                guard case .string(let part)? = arguments.first else { throw JinjaError.runtime("find() takes a string", line: 0) }
                guard let range = Substring(string).scalarRange(of: part) else { return .int(-1) }
                return .int(string.unicodeScalars.distance(from: string.startIndex, to: range.lowerBound))
            }
        case "count":
            return method { arguments, _ in
                guard case .string(let part)? = arguments.first, !part.isEmpty else { throw JinjaError.runtime("count() takes a string", line: 0) }
                var rest = Substring(string)
                var found = 0
                while let range = rest.scalarRange(of: part) { found += 1; rest = rest[range.upperBound...] }
                return .int(found)
            }
        case "join":
            return method { arguments, _ in
                .string(try self.iterate(arguments.first ?? .array([]), line: 0).map(PythonText.str).joined(separator: string))
            }
        case "isdigit", "isalpha", "isspace", "isupper", "islower":
            return method { _, _ in
                let scalars = string.unicodeScalars
                guard !scalars.isEmpty else { return .bool(false) }
                switch name {
                case "isdigit": return .bool(scalars.allSatisfy { $0.properties.numericType == .digit || $0.properties.numericType == .decimal })
                case "isalpha": return .bool(scalars.allSatisfy { $0.properties.isAlphabetic })
                case "isspace": return .bool(scalars.allSatisfy(Self.isPythonSpace))
                case "isupper": return .bool(string.uppercased() == string && string.lowercased() != string)
                default: return .bool(string.lowercased() == string && string.uppercased() != string)
                }
            }
        case "splitlines":
            return method { _, _ in
                var lines = Self.split(lines: string)
                if lines.last == "" { lines.removeLast() }
                return .array(lines.map { .string($0) })
            }
        case "format":
            return method { _, _ in throw JinjaError.unsupported("str.format", line: 0) }
        default:
            return nil
        }
    }

    static func split(lines string: String) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        var previousCR = false
        for scalar in string.unicodeScalars {
            if scalar == "\n" && previousCR { previousCR = false; continue }
            previousCR = scalar == "\r"
            if ["\n", "\r", "\u{0B}", "\u{0C}", "\u{1C}", "\u{1D}", "\u{1E}", "\u{85}", "\u{2028}", "\u{2029}"].contains(scalar) {
                lines.append(String(current))
                current = String.UnicodeScalarView()
            } else {
                current.append(scalar)
            }
        }
        lines.append(String(current))
        return lines
    }

    static func capitalize(_ string: String) -> String {
        guard let first = string.unicodeScalars.first else { return string }
        return String(first).uppercased() + String(string.unicodeScalars.dropFirst()).lowercased()
    }

    static func title(_ string: String) -> String {
        var result = ""
        var previousIsLetter = false
        for scalar in string.unicodeScalars {
            let text = String(scalar)
            result += previousIsLetter ? text.lowercased() : text.uppercased()
            previousIsLetter = scalar.properties.isAlphabetic
        }
        return result
    }

    /// Whether `name` can be one of `dictionaryMethod`'s (by its first letter: i k v g u p s c), so that a key read
    /// such as `message.role` is neither hashed nor compared with each method name.
    static func mayBeDictionaryMethod(_ name: String) -> Bool {
        switch name.utf8.first {
        case UInt8(ascii: "i"), UInt8(ascii: "k"), UInt8(ascii: "v"), UInt8(ascii: "g"), UInt8(ascii: "u"), UInt8(ascii: "p"),
             UInt8(ascii: "s"), UInt8(ascii: "c"): return true
        default: return false
        }
    }

    func dictionaryMethod(_ name: String, _ dictionary: JinjaDictionary) -> JinjaValue? {
        switch name {
        case "items":
            return .callable(JinjaCallable("dict.items") { _, _ in .array(dictionary.pairs.map { .array([.string($0.0), $0.1]) }) })
        case "keys":
            return .callable(JinjaCallable("dict.keys") { _, _ in .array(dictionary.keys.map { .string($0) }) })
        case "values":
            return .callable(JinjaCallable("dict.values") { _, _ in .array(dictionary.pairs.map(\.1)) })
        case "get":
            return .callable(JinjaCallable("dict.get") { arguments, _ in
                guard case .string(let key)? = arguments.first else { return arguments.count > 1 ? arguments[1] : .none }
                return dictionary[key] ?? (arguments.count > 1 ? arguments[1] : .none)
            })
        case "update", "pop", "setdefault", "clear", "popitem":
            return .callable(JinjaCallable("dict.\(name)") { _, _ in
                throw JinjaError.runtime("access to attribute '\(name)' of 'dict' object is unsafe", line: 0)
            })
        default:
            return nil
        }
    }

    // MARK: filters

    func filter(_ name: String, _ value: JinjaValue, _ arguments: [JinjaValue], _ keywords: [(String, JinjaValue)],
                line: Int) throws -> JinjaValue {
        func argument(_ index: Int, _ keyword: String) -> JinjaValue? {
            index < arguments.count ? arguments[index] : keywords.first { $0.0 == keyword }?.1
        }
        switch name {
        case "trim":
            return .string(Self.strip(PythonText.str(value), argument(0, "chars"), leading: true, trailing: true))
        case "upper": return .string(PythonText.str(value).uppercased())
        case "lower": return .string(PythonText.str(value).lowercased())
        case "capitalize": return .string(Self.capitalize(PythonText.str(value)))
        case "title": return .string(Self.title(PythonText.str(value)))
        case "string", "safe":
            return .string(PythonText.str(value))
        case "e", "escape":
            throw JinjaError.unsupported("HTML escaping ('\(name)' filter)", line: line)
        case "default", "d":
            let fallback = argument(0, "default_value") ?? .string("")
            let boolean = argument(1, "boolean")?.isTruthy ?? false
            if value.isUndefined || (boolean && !value.isTruthy) { return fallback }
            return value
        case "length", "count":
            switch value {
            case .string(let string): return .int(string.unicodeScalars.count)
            case .array(let values): return .int(values.count)
            case .dictionary(let dictionary): return .int(dictionary.count)
            case .undefined: return .int(0)
            case .namespace(let namespace): return .int(namespace.attributes.count)
            default: throw JinjaError.runtime("object of type '\(value.typeName)' has no len()", line: line)
            }
        case "tojson":
            let indent = argument(0, "indent").flatMap(Self.integer)
            var itemSeparator: String?
            var keySeparator: String?
            if case .array(let separators)? = keywords.first(where: { $0.0 == "separators" })?.1, separators.count == 2 {
                itemSeparator = PythonText.str(separators[0])
                keySeparator = PythonText.str(separators[1])
            }
            if let ensureASCII = keywords.first(where: { $0.0 == "ensure_ascii" })?.1, ensureASCII.isTruthy {
                throw JinjaError.unsupported("tojson(ensure_ascii=True)", line: line)
            }
            let sortKeys = keywords.first(where: { $0.0 == "sort_keys" })?.1.isTruthy ?? false
            return .string(try PythonText.json(value, indent: indent, itemSeparator: itemSeparator, keySeparator: keySeparator, sortKeys: sortKeys))
        case "items":
            guard case .dictionary(let dictionary) = value else {
                if value.isUndefined { return .array([]) }
                throw JinjaError.runtime("items filter needs a mapping", line: line)
            }
            return .array(dictionary.pairs.map { .array([.string($0.0), $0.1]) })
        case "dictsort":
            guard case .dictionary(let dictionary) = value else { throw JinjaError.runtime("dictsort filter needs a mapping", line: line) }
            let caseSensitive = argument(0, "case_sensitive")?.isTruthy ?? false
            let byValue = argument(1, "by").map(PythonText.str) == "value"
            let reverse = argument(2, "reverse")?.isTruthy ?? false
            var pairs = dictionary.pairs
            func key(_ pair: (String, JinjaValue)) -> JinjaValue {
                let base = byValue ? pair.1 : .string(pair.0)
                if !caseSensitive, case .string(let text) = base { return .string(text.lowercased()) }
                return base
            }
            var failure: Error?
            pairs.sort { a, b in
                do { return try Self.less(key(a), key(b), line: line) } catch { failure = error; return false }
            }
            if let failure { throw failure }
            if reverse { pairs.reverse() }
            return .array(pairs.map { .array([.string($0.0), $0.1]) })
        case "list":
            return .array(try iterate(value, line: line))
        case "first":
            return try iterate(value, line: line).first ?? .undefined("first")
        case "last":
            return try iterate(value, line: line).last ?? .undefined("last")
        case "reverse":
            if case .string(let string) = value { return .string(String(String.UnicodeScalarView(string.unicodeScalars.reversed()))) }
            return .array(try iterate(value, line: line).reversed())
        case "join":
            let separator = argument(0, "d").map(PythonText.str) ?? ""
            var elements = try iterate(value, line: line)
            if let attribute = argument(1, "attribute") {
                elements = try elements.map { try self.attributeOrItem(attribute, of: $0, line: line) }
            }
            return .string(elements.map(PythonText.str).joined(separator: separator))
        case "map":
            let elements = try iterate(value, line: line)
            if let attribute = keywords.first(where: { $0.0 == "attribute" })?.1 {
                let fallback = keywords.first { $0.0 == "default" }?.1
                return .array(try elements.map { element in
                    let found = try self.attributeOrItem(attribute, of: element, line: line)
                    if found.isUndefined, let fallback { return fallback }
                    return found
                })
            }
            guard case .string(let filterName)? = arguments.first else { throw JinjaError.runtime("map needs a filter name or attribute=", line: line) }
            return .array(try elements.map { try self.filter(filterName, $0, Array(arguments.dropFirst()), [], line: line) })
        case "select", "reject", "selectattr", "rejectattr":
            let byAttribute = name.hasSuffix("attr")
            let keep = name.hasPrefix("select")
            let elements = try iterate(value, line: line)
            let attribute = byAttribute ? arguments.first : nil
            let rest = Array(arguments.dropFirst(byAttribute ? 1 : 0))
            return .array(try elements.filter { element in
                let subject = try attribute.map { try self.attributeOrItem($0, of: element, line: line) } ?? element
                let passes: Bool
                if case .string(let testName)? = rest.first {
                    passes = try self.test(testName, subject, Array(rest.dropFirst()), line: line)
                } else {
                    passes = subject.isTruthy
                }
                return passes == keep
            })
        case "unique":
            var seen: [JinjaValue] = []
            for element in try iterate(value, line: line) where !seen.contains(where: { Self.equal($0, element) }) { seen.append(element) }
            return .array(seen)
        case "sort":
            let reverse = argument(0, "reverse")?.isTruthy ?? false
            let attribute = keywords.first { $0.0 == "attribute" }?.1
            var elements = try iterate(value, line: line)
            var failure: Error?
            elements.sort { a, b in
                do {
                    let x = try attribute.map { try self.attributeOrItem($0, of: a, line: line) } ?? a
                    let y = try attribute.map { try self.attributeOrItem($0, of: b, line: line) } ?? b
                    return try Self.less(x, y, line: line)
                } catch { failure = error; return false }
            }
            if let failure { throw failure }
            return .array(reverse ? elements.reversed() : elements)
        case "replace":
            guard let old = argument(0, "old"), let new = argument(1, "new") else { throw JinjaError.runtime("replace needs two arguments", line: line) }
            return .string(PythonText.str(value).replacingAll(PythonText.str(old), with: PythonText.str(new)))
        case "indent":
            let width = argument(0, "width").flatMap(Self.integer).map { String(repeating: " ", count: $0) }
                ?? argument(0, "width").map(PythonText.str) ?? "    "
            let indentFirst = argument(1, "first")?.isTruthy ?? false
            let indentBlank = argument(2, "blank")?.isTruthy ?? false
            let lines = Self.split(lines: PythonText.str(value) + "\n").dropLast()
            var result = ""
            for (index, text) in lines.enumerated() {
                if index > 0 { result += "\n" }
                if (index > 0 || indentFirst) && (indentBlank || !text.isEmpty) { result += width }
                result += text
            }
            return .string(result)
        case "int":
            switch value {
            case .int: return value
            case .double(let number): return .int(Int(number))
            case .bool(let flag): return .int(flag ? 1 : 0)
            case .string(let text): return .int(Int(Self.strip(text, nil, leading: true, trailing: true)) ?? (argument(0, "default").flatMap(Self.integer) ?? 0))
            default: return argument(0, "default") ?? .int(0)
            }
        case "float":
            if let number = Self.number(value) { return .double(number) }
            if case .string(let text) = value, let number = Double(Self.strip(text, nil, leading: true, trailing: true)) { return .double(number) }
            return argument(0, "default") ?? .double(0)
        case "abs":
            switch value {
            case .int(let number): return .int(abs(number))
            case .double(let number): return .double(abs(number))
            default: throw JinjaError.runtime("bad operand type for abs(): '\(value.typeName)'", line: line)
            }
        case "round":
            guard let number = Self.number(value) else { throw JinjaError.runtime("round needs a number", line: line) }
            let digits = argument(0, "precision").flatMap(Self.integer) ?? 0
            var scale = 1.0
            for _ in 0..<max(0, digits) { scale *= 10 }
            return .double((number * scale).rounded(.toNearestOrEven) / scale)
        case "min", "max":
            let elements = try iterate(value, line: line)
            guard var best = elements.first else { return .undefined(name) }
            for element in elements.dropFirst() where try (name == "min" ? Self.less(element, best, line: line) : Self.less(best, element, line: line)) {
                best = element
            }
            return best
        case "sum":
            var total: JinjaValue = .int(0)
            for element in try iterate(value, line: line) { total = try binary(.plus, total, element, line: line) }
            return total
        case "wordcount":
            return .int(try Self.split(PythonText.str(value), separator: nil, limit: -1).count)
        case "center", "truncate", "wordwrap", "urlize", "striptags", "format", "batch", "slice", "groupby", "xmlattr",
             "filesizeformat", "pprint", "random", "attr", "forceescape", "urlencode":
            throw JinjaError.unsupported("the '\(name)' filter", line: line)
        default:
            throw JinjaError.runtime("no filter named '\(name)'", line: line)
        }
    }

    /// Jinja's `environment.getitem` for a filter's `attribute=`: "a.b" walks dots, digits index lists.
    func attributeOrItem(_ path: JinjaValue, of value: JinjaValue, line: Int) throws -> JinjaValue {
        var current = value
        for part in PythonText.str(path).split(separator: ".") {
            if let index = Int(part) { current = try item(.int(index), of: current, line: line) } else { current = try item(.string(String(part)), of: current, line: line) }
        }
        return current
    }

    // MARK: tests

    func test(_ name: String, _ value: JinjaValue, _ arguments: [JinjaValue], line: Int) throws -> Bool {
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none":
            if case .none = value { return true }
            return false
        case "string":
            if case .string = value { return true }
            return false
        case "mapping":
            if case .dictionary = value { return true }
            return false
        case "sequence":
            switch value {
            case .array, .string, .dictionary: return true
            default: return false
            }
        case "iterable":
            switch value {
            case .array, .string, .dictionary, .namespace: return true
            default: return false
            }
        case "number":
            switch value {
            case .int, .double, .bool: return true
            default: return false
            }
        case "integer":
            if case .int = value { return true }
            return false
        case "float":
            if case .double = value { return true }
            return false
        case "boolean":
            if case .bool = value { return true }
            return false
        case "true":
            if case .bool(true) = value { return true }
            return false
        case "false":
            if case .bool(false) = value { return true }
            return false
        case "callable":
            if case .callable = value { return true }
            return false
        case "odd", "even":
            guard let number = Self.integer(value) else { throw JinjaError.runtime("'\(name)' needs an integer", line: line) }
            return (number % 2 != 0) == (name == "odd")
        case "divisibleby":
            guard let number = Self.integer(value), let divisor = arguments.first.flatMap(Self.integer), divisor != 0 else {
                throw JinjaError.runtime("divisibleby needs integers", line: line)
            }
            return number % divisor == 0
        case "upper": return PythonText.str(value).uppercased() == PythonText.str(value)
        case "lower": return PythonText.str(value).lowercased() == PythonText.str(value)
        case "eq", "equalto", "==", "sameas": return Self.equal(value, arguments.first ?? .undefined("argument"))
        case "ne", "!=": return !Self.equal(value, arguments.first ?? .undefined("argument"))
        case "lt", "lessthan", "<": return try Self.less(value, arguments.first ?? .none, line: line)
        case "gt", "greaterthan", ">": return try Self.less(arguments.first ?? .none, value, line: line)
        case "le", "<=": return !(try Self.less(arguments.first ?? .none, value, line: line))
        case "ge", ">=": return !(try Self.less(value, arguments.first ?? .none, line: line))
        case "in": return try contains(arguments.first ?? .undefined("argument"), value, line: line)
        case "filter", "test", "escaped":
            throw JinjaError.unsupported("the '\(name)' test", line: line)
        default:
            throw JinjaError.runtime("no test named '\(name)'", line: line)
        }
    }
}
