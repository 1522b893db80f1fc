#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension JinjaRenderer {
    func evaluate(_ expression: JinjaExpression, in frame: JinjaFrame) throws -> JinjaValue {
        switch expression {
        case .literal(let value):
            return value
        case .name(let name, _):
            return frame.lookup(name) ?? .undefined(name)
        case .list(let elements):
            return .array(try elements.map { try evaluate($0, in: frame) })
        case .dictionary(let pairs):
            var dictionary = JinjaDictionary()
            for (keyExpression, valueExpression) in pairs {
                let key = try evaluate(keyExpression, in: frame)
                guard case .string(let name) = key else {
                    throw JinjaError.unsupported("a dictionary key of type \(key.typeName)", line: 0)
                }
                dictionary[name] = try evaluate(valueExpression, in: frame)
            }
            return .dictionary(dictionary)
        case .attribute(let base, let name, let line):
            if case .name(let baseName, _) = base, baseName.utf8.count == 4, baseName == "loop", let loop = frame.loopState() {
                return loop.attribute(name)
            }
            return try attribute(name, of: try evaluate(base, in: frame), line: line)
        case .item(let base, let key, let line):
            return try item(try evaluate(key, in: frame), of: try evaluate(base, in: frame), line: line)
        case .slice(let base, let start, let stop, let step, let line):
            return try slice(try evaluate(base, in: frame), start: try start.map { try evaluate($0, in: frame) },
                             stop: try stop.map { try evaluate($0, in: frame) }, step: try step.map { try evaluate($0, in: frame) }, line: line)
        case .call(let callee, let argumentExpressions, let keywordExpressions, let line):
            let arguments = try argumentExpressions.map { try evaluate($0, in: frame) }
            let keywords = try keywordExpressions.map { ($0.0, try evaluate($0.1, in: frame)) }
            if case .name(let calleeName, _) = callee, calleeName.utf8.count == 4, calleeName == "loop", let recurse = frame.recursion() {
                return .string(try recurse(arguments.first ?? .undefined("loop")))
            }
            let function = try evaluate(callee, in: frame)
            guard case .callable(let callable) = function else {
                if case .undefined(let name) = function { throw JinjaError.runtime("'\(name)' is undefined", line: line) }
                throw JinjaError.runtime("'\(function.typeName)' object is not callable", line: line)
            }
            do {
                return try callable.body(arguments, keywords)
            } catch JinjaError.runtime(let message, 0) {
                throw JinjaError.runtime(message, line: line)
            }
        case .filter(let base, let name, let argumentExpressions, let keywordExpressions, let line):
            let value = try evaluate(base, in: frame)
            let arguments = try argumentExpressions.map { try evaluate($0, in: frame) }
            let keywords = try keywordExpressions.map { ($0.0, try evaluate($0.1, in: frame)) }
            do {
                return try filter(name, value, arguments, keywords, line: line)
            } catch JinjaError.runtime(let message, 0) {
                throw JinjaError.runtime(message, line: line)
            }
        case .test(let base, let name, let argumentExpressions, let negated, let line):
            let value = try evaluate(base, in: frame)
            let arguments = try argumentExpressions.map { try evaluate($0, in: frame) }
            return .bool(try test(name, value, arguments, line: line) != negated)
        case .unary(let symbol, let operand, let line):
            let value = try evaluate(operand, in: frame)
            switch (symbol, value) {
            case ("-", .int(let number)): return .int(-number)
            case ("-", .double(let number)): return .double(-number)
            case ("-", .bool(let flag)): return .int(flag ? -1 : 0)
            case ("+", .int), ("+", .double): return value
            default: throw JinjaError.runtime("bad operand type for unary \(symbol): '\(value.typeName)'", line: line)
            }
        case .binary(let symbol, let leftExpression, let rightExpression, let line):
            return try binary(symbol, try evaluate(leftExpression, in: frame), try evaluate(rightExpression, in: frame), line: line)
        case .and(let left, let right):
            let value = try evaluate(left, in: frame)
            return value.isTruthy ? try evaluate(right, in: frame) : value
        case .or(let left, let right):
            let value = try evaluate(left, in: frame)
            return value.isTruthy ? value : try evaluate(right, in: frame)
        case .not(let operand):
            return .bool(!(try evaluate(operand, in: frame).isTruthy))
        case .conditional(let value, let condition, let otherwise):
            if try evaluate(condition, in: frame).isTruthy { return try evaluate(value, in: frame) }
            return try otherwise.map { try evaluate($0, in: frame) } ?? .undefined("(conditional expression)")
        }
    }

    // MARK: attributes and items

    /// `obj.name`: Jinja tries Python's attribute first (so `d.items` is the method even when the dict has an
    /// "items" key), then the item.
    func attribute(_ name: String, of value: JinjaValue, line: Int) throws -> JinjaValue {
        switch value {
        case .undefined(let base):
            throw JinjaError.runtime("'\(base)' is undefined", line: line)
        case .dictionary(let dictionary):
            // A dict's own methods come first, as Python's getattr finds them before Jinja falls back to the key.
            if Self.mayBeDictionaryMethod(name), let method = dictionaryMethod(name, dictionary) { return method }
            return dictionary[name] ?? .undefined(name)
        case .string(let string):
            return stringMethod(name, string) ?? .undefined(name)
        case .namespace(let namespace):
            return namespace.attributes[name] ?? .undefined(name)
        case .array(let values):
            if name == "append" || name == "extend" || name == "pop" || name == "insert" || name == "remove" {
                return .callable(JinjaCallable("list.\(name)") { _, _ in
                    throw JinjaError.runtime("access to attribute '\(name)' of 'list' object is unsafe", line: 0)
                })
            }
            if name == "index" || name == "count" {
                return .callable(JinjaCallable("list.\(name)") { arguments, _ in
                    guard let target = arguments.first else { throw JinjaError.runtime("list.\(name)() takes one argument", line: 0) }
                    if name == "count" { return .int(values.filter { Self.equal($0, target) }.count) }
                    guard let found = values.firstIndex(where: { Self.equal($0, target) }) else {
                        throw JinjaError.runtime("value is not in list", line: 0)
                    }
                    return .int(found)
                })
            }
            return .undefined(name)
        default:
            return .undefined(name)
        }
    }

    /// `obj[key]`: the item first, then the attribute.
    func item(_ key: JinjaValue, of value: JinjaValue, line: Int) throws -> JinjaValue {
        switch (value, key) {
        case (.undefined(let base), _):
            throw JinjaError.runtime("'\(base)' is undefined", line: line)
        case (.dictionary(let dictionary), .string(let name)):
            if let found = dictionary[name] { return found }
            return try attribute(name, of: value, line: line)
        case (.array(let values), .int(let index)):
            let position = index < 0 ? values.count + index : index
            return values.indices.contains(position) ? values[position] : .undefined("[\(index)]")
        case (.array(let values), .bool(let flag)):
            let position = flag ? 1 : 0
            return values.indices.contains(position) ? values[position] : .undefined("[\(position)]")
        case (.string(let string), .int(let index)):
            let scalars = Array(string.unicodeScalars)
            let position = index < 0 ? scalars.count + index : index
            return scalars.indices.contains(position) ? .string(String(scalars[position])) : .undefined("[\(index)]")
        case (.namespace(let namespace), .string(let name)):
            return namespace.attributes[name] ?? .undefined(name)
        case (_, .string(let name)):
            return try attribute(name, of: value, line: line)
        default:
            return .undefined("[\(PythonText.str(key))]")
        }
    }

    func slice(_ value: JinjaValue, start: JinjaValue?, stop: JinjaValue?, step: JinjaValue?, line: Int) throws -> JinjaValue {
        func integer(_ bound: JinjaValue?) throws -> Int? {
            switch bound {
            case nil, .none?: return nil
            case .int(let number)?: return number
            default: throw JinjaError.runtime("slice indices must be integers or None", line: line)
            }
        }
        let step = try integer(step) ?? 1
        guard step != 0 else { throw JinjaError.runtime("slice step cannot be zero", line: line) }
        func indices(_ count: Int) throws -> [Int] {
            func clamp(_ bound: Int?, _ fallback: Int) -> Int {
                guard var index = bound else { return fallback }
                if index < 0 { index += count }
                return step > 0 ? min(max(index, 0), count) : min(max(index, -1), count - 1)
            }
            let first = clamp(try integer(start), step > 0 ? 0 : count - 1)
            let last = clamp(try integer(stop), step > 0 ? count : -1)
            return Array(stride(from: first, to: last, by: step))
        }
        switch value {
        case .array(let values): return .array(try indices(values.count).map { values[$0] })
        case .string(let string):
            let scalars = Array(string.unicodeScalars)
            var result = String.UnicodeScalarView()
            for index in try indices(scalars.count) { result.append(scalars[index]) }
            return .string(String(result))
        case .undefined(let base): throw JinjaError.runtime("'\(base)' is undefined", line: line)
        default: throw JinjaError.runtime("'\(value.typeName)' object is not subscriptable", line: line)
        }
    }

    // MARK: operators

    static func number(_ value: JinjaValue) -> Double? {
        switch value {
        case .int(let number): return Double(number)
        case .double(let number): return number
        case .bool(let flag): return flag ? 1 : 0
        default: return nil
        }
    }

    static func integer(_ value: JinjaValue) -> Int? {
        switch value {
        case .int(let number): return number
        case .bool(let flag): return flag ? 1 : 0
        default: return nil
        }
    }

    /// Python's `==`: numbers by value across int, float and bool; lists and dicts element by element.
    /// Equal UTF-8: lengths first, then the bytes in one comparison.
    static func sameBytes(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        let compared = a.utf8.withContiguousStorageIfAvailable { left in
            b.utf8.withContiguousStorageIfAvailable { right in left.elementsEqual(right) }
        }
        return (compared ?? nil) ?? a.utf8.elementsEqual(b.utf8)
    }

    static func equal(_ left: JinjaValue, _ right: JinjaValue) -> Bool {
        switch (left, right) {
        case (.none, .none): return true
        case (.undefined, .undefined): return true
        // By code point, as Python compares (Swift's == would equate canonically equivalent strings); equal
        // UTF-8 bytes are equal code points.
        case (.string(let a), .string(let b)): return sameBytes(a, b)
        case (.array(let a), .array(let b)): return a.count == b.count && zip(a, b).allSatisfy { equal($0, $1) }
        case (.dictionary(let a), .dictionary(let b)):
            return a.count == b.count && a.pairs.allSatisfy { key, value in b[key].map { equal(value, $0) } ?? false }
        case (.namespace(let a), .namespace(let b)): return a === b
        case (.callable(let a), .callable(let b)): return a === b
        default:
            if let a = number(left), let b = number(right) { return a == b }
            return false
        }
    }

    static func less(_ left: JinjaValue, _ right: JinjaValue, line: Int) throws -> Bool {
        switch (left, right) {
        // UTF-8 orders bytes as code points order: Python's order.
        case (.string(let a), .string(let b)): return a.utf8.lexicographicallyPrecedes(b.utf8)
        case (.array(let a), .array(let b)):
            for (x, y) in zip(a, b) where !equal(x, y) { return try less(x, y, line: line) }
            return a.count < b.count
        default:
            if let a = number(left), let b = number(right) { return a < b }
            throw JinjaError.runtime("'<' not supported between instances of '\(left.typeName)' and '\(right.typeName)'", line: line)
        }
    }

    func binary(_ symbol: JinjaOperator, _ left: JinjaValue, _ right: JinjaValue, line: Int) throws -> JinjaValue {
        switch symbol {
        case .equal: return .bool(Self.equal(left, right))
        case .notEqual: return .bool(!Self.equal(left, right))
        case .less: return .bool(try Self.less(left, right, line: line))
        case .greater: return .bool(try Self.less(right, left, line: line))
        case .lessOrEqual: return .bool(!(try Self.less(right, left, line: line)))
        case .greaterOrEqual: return .bool(!(try Self.less(left, right, line: line)))
        case .isIn: return .bool(try contains(right, left, line: line))
        case .notIn: return .bool(!(try contains(right, left, line: line)))
        case .concatenate:
            let joined = PythonText.str(left) + PythonText.str(right)
            guard joined.utf8.count <= limits.outputBytes else { throw JinjaError.limit("a string past \(limits.outputBytes) bytes") }
            return .string(joined)
        default: break
        }
        if case .undefined(let name) = left { throw JinjaError.runtime("'\(name)' is undefined", line: line) }
        if case .undefined(let name) = right { throw JinjaError.runtime("'\(name)' is undefined", line: line) }
        switch (symbol, left, right) {
        case (.plus, .string(let a), .string(let b)):
            guard a.utf8.count + b.utf8.count <= limits.outputBytes else { throw JinjaError.limit("a string past \(limits.outputBytes) bytes") }
            return .string(a + b)
        case (.plus, .array(let a), .array(let b)): return .array(a + b)
        case (.times, .string(let text), _) where Self.integer(right) != nil,
             (.times, _, .string(let text)) where Self.integer(left) != nil:
            let times = max(0, Self.integer(right) ?? Self.integer(left) ?? 0)
            let (size, overflow) = text.utf8.count.multipliedReportingOverflow(by: times)
            guard !overflow, size <= limits.outputBytes else { throw JinjaError.limit("a string past \(limits.outputBytes) bytes") }
            return .string(String(repeating: text, count: times))
        default: break
        }
        if let a = Self.integer(left), let b = Self.integer(right) {
            switch symbol {
            case .plus: return .int(a &+ b)
            case .minus: return .int(a &- b)
            case .times: return .int(a &* b)
            case .divide:
                guard b != 0 else { throw JinjaError.runtime("division by zero", line: line) }
                return .double(Double(a) / Double(b))
            case .floorDivide:
                guard b != 0 else { throw JinjaError.runtime("integer division or modulo by zero", line: line) }
                let quotient = a / b
                return .int((a % b != 0 && (a < 0) != (b < 0)) ? quotient - 1 : quotient)
            case .modulo:
                guard b != 0 else { throw JinjaError.runtime("integer division or modulo by zero", line: line) }
                let remainder = a % b
                return .int(remainder != 0 && (remainder < 0) != (b < 0) ? remainder + b : remainder)
            case .power:
                guard b >= 0 else { return .double(pow(Double(a), Double(b))) }
                var result = 1
                for _ in 0..<min(b, 64) { result = result &* a }
                return .int(result)
            default: break
            }
        }
        if let a = Self.number(left), let b = Self.number(right) {
            switch symbol {
            case .plus: return .double(a + b)
            case .minus: return .double(a - b)
            case .times: return .double(a * b)
            case .divide:
                guard b != 0 else { throw JinjaError.runtime("float division by zero", line: line) }
                return .double(a / b)
            case .floorDivide:
                guard b != 0 else { throw JinjaError.runtime("float floor division by zero", line: line) }
                return .double((a / b).rounded(.down))
            case .modulo:
                guard b != 0 else { throw JinjaError.runtime("float modulo", line: line) }
                let remainder = a.truncatingRemainder(dividingBy: b)
                return .double(remainder != 0 && (remainder < 0) != (b < 0) ? remainder + b : remainder)
            case .power: return .double(pow(a, b))
            default: break
            }
        }
        if symbol == .modulo, case .string = left {
            throw JinjaError.unsupported("printf-style '%' formatting of strings", line: line)
        }
        throw JinjaError.runtime("unsupported operand type(s) for \(symbol.rawValue): '\(left.typeName)' and '\(right.typeName)'", line: line)
    }

    func contains(_ container: JinjaValue, _ element: JinjaValue, line: Int) throws -> Bool {
        switch container {
        case .string(let string):
            guard case .string(let part) = element else {
                throw JinjaError.runtime("'in <string>' requires string as left operand, not \(element.typeName)", line: line)
            }
            return Substring(string).scalarRange(of: part) != nil
        case .array(let values): return values.contains { Self.equal($0, element) }
        case .dictionary(let dictionary):
            guard case .string(let key) = element else { return false }
            return dictionary[key] != nil
        case .namespace(let namespace):
            guard case .string(let key) = element else { return false }
            return namespace.attributes[key] != nil
        case .undefined: return false
        default: throw JinjaError.runtime("argument of type '\(container.typeName)' is not iterable", line: line)
        }
    }
}
