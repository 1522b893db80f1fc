#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How far one render may go before it stops with `JinjaError.limit`: a template is code from a file the user
/// was handed, and a loop that never ends or output that doubles each step must not take the machine.
public struct JinjaLimits: Sendable {
    public var outputBytes: Int
    public var loopIterations: Int
    public var callDepth: Int

    public init(outputBytes: Int = 64 << 20, loopIterations: Int = 1_000_000, callDepth: Int = 64) {
        self.outputBytes = outputBytes
        self.loopIterations = loopIterations
        self.callDepth = callDepth
    }
}

/// A parsed chat template: parse once, render many times. The language is the subset of Jinja2 that real chat
/// templates use, with the environment transformers gives them (`trim_blocks`, `lstrip_blocks`, loop controls,
/// `raise_exception`, `strftime_now`, `tojson` as `json.dumps(ensure_ascii=False)`); a construct outside it is
/// a `JinjaError.unsupported` naming it and its line, never a different prompt. Sandboxed: a template reads
/// only the variables it is given, and calls only the built-ins below.
public struct JinjaTemplate: Sendable {
    let nodes: [JinjaNode]

    public init(_ source: String) throws {
        var lexer = JinjaLexer(source)
        var parser = JinjaParser(try lexer.segments())
        nodes = try parser.parse()
    }

    public func render(_ variables: [String: JinjaValue], limits: JinjaLimits = JinjaLimits()) throws -> String {
        let renderer = JinjaRenderer(limits: limits)
        let root = JinjaFrame(parent: nil)
        root.values = JinjaRenderer.globalValues  // shared storage until a variable is added (copy on write)
        for (name, value) in variables { root.values[name] = value }
        var output = ""
        _ = try renderer.render(nodes, in: root, into: &output)
        return output
    }
}

extension JinjaNode: @unchecked Sendable {}

/// The variables of one scope. A loop body and a macro call get their own; `if` does not (Jinja's scoping:
/// a `set` inside a loop is gone after it, which is why templates carry state in a namespace).
final class JinjaFrame {
    var values = JinjaDictionary()
    let parent: JinjaFrame?
    /// The enclosing recursive loop's body, called as `loop(children)`.
    var recurse: ((JinjaValue) throws -> String)?
    /// The `loop` variable of a loop body's frame, kept as its position: `loop.index` and the like are read
    /// from it directly, and the whole object is built only if a template uses `loop` as a value.
    var loop: JinjaLoopState?

    init(parent: JinjaFrame?) { self.parent = parent }

    func lookup(_ name: String) -> JinjaValue? {
        var frame: JinjaFrame? = self
        while let current = frame {
            if let value = current.values[name] { return value }
            if let loop = current.loop, name.utf8.count == 4, name == "loop" { return loop.value }
            frame = current.parent
        }
        return nil
    }

    /// The nearest loop's state, unless a variable named `loop` is nearer.
    func loopState() -> JinjaLoopState? {
        var frame: JinjaFrame? = self
        while let current = frame {
            if current.values["loop"] != nil { return nil }
            if let loop = current.loop { return loop }
            frame = current.parent
        }
        return nil
    }

    func recursion() -> ((JinjaValue) throws -> String)? {
        var frame: JinjaFrame? = self
        while let current = frame {
            if let recurse = current.recurse { return recurse }
            frame = current.parent
        }
        return nil
    }
}

enum JinjaSignal { case normal, breakLoop, continueLoop }

/// Where a loop is: what `loop.index`, `loop.first`, `loop.previtem` … read.
struct JinjaLoopState {
    let index: Int
    let items: [JinjaValue]

    func attribute(_ name: String) -> JinjaValue {
        let count = items.count
        switch name {
        case "index": return .int(index + 1)
        case "index0": return .int(index)
        case "revindex": return .int(count - index)
        case "revindex0": return .int(count - index - 1)
        case "first": return .bool(index == 0)
        case "last": return .bool(index == count - 1)
        case "length": return .int(count)
        case "depth": return .int(1)
        case "depth0": return .int(0)
        case "previtem": return index > 0 ? items[index - 1] : .undefined("loop.previtem")
        case "nextitem": return index + 1 < count ? items[index + 1] : .undefined("loop.nextitem")
        case "cycle":
            let position = index
            return .callable(JinjaCallable("loop.cycle") { arguments, _ in
                arguments.isEmpty ? .undefined("loop.cycle") : arguments[position % arguments.count]
            })
        default: return .undefined(name)
        }
    }

    /// `loop` as a value of its own.
    var value: JinjaValue {
        .dictionary(["index", "index0", "revindex", "revindex0", "first", "last", "length", "depth", "depth0", "previtem",
                     "nextitem", "cycle"].map { ($0, attribute($0)) })
    }
}

final class JinjaRenderer {
    let limits: JinjaLimits
    var iterations = 0
    var depth = 0

    init(limits: JinjaLimits) { self.limits = limits }

    static let globalValues = JinjaDictionary(globals.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })

    static let globals: [String: JinjaValue] = [
        "raise_exception": .callable(JinjaCallable("raise_exception") { arguments, _ in
            throw JinjaError.raised(arguments.first.map(PythonText.str) ?? "")
        }),
        "strftime_now": .callable(JinjaCallable("strftime_now") { arguments, _ in
            .string(currentTime(format: arguments.first.map(PythonText.str) ?? ""))
        }),
        "namespace": .callable(JinjaCallable("namespace") { arguments, keywords in
            var attributes = JinjaDictionary()
            if case .dictionary(let initial)? = arguments.first { attributes = initial }
            for (key, value) in keywords { attributes[key] = value }
            return .namespace(JinjaNamespace(attributes))
        }),
        "dict": .callable(JinjaCallable("dict") { arguments, keywords in
            var dictionary = JinjaDictionary()
            if case .dictionary(let initial)? = arguments.first { dictionary = initial }
            for (key, value) in keywords { dictionary[key] = value }
            return .dictionary(dictionary)
        }),
        "range": .callable(JinjaCallable("range") { arguments, _ in
            let numbers = try arguments.map { argument -> Int in
                guard case .int(let number) = argument else { throw JinjaError.runtime("range() takes integers", line: 0) }
                return number
            }
            let (start, stop, step) = numbers.count == 1 ? (0, numbers[0], 1)
                : numbers.count == 2 ? (numbers[0], numbers[1], 1)
                : numbers.count == 3 ? (numbers[0], numbers[1], numbers[2]) : (0, 0, 0)
            guard step != 0 else { throw JinjaError.runtime("range() arg 3 must not be zero", line: 0) }
            // In Double: the span of two Ints can overflow an Int.
            let span = step > 0 ? (Double(stop) - Double(start)) / Double(step) : (Double(start) - Double(stop)) / -Double(step)
            guard span <= 1_000_000 else { throw JinjaError.limit("range() of more than 1000000 numbers") }
            let count = max(0, Int(span.rounded(.up)))
            return .array((0..<count).map { .int(start + $0 * step) })
        }),
    ]

    static func currentTime(format: String) -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [Int8](repeating: 0, count: 256)
        let written = strftime(&buffer, buffer.count, format, &parts)
        return String(decoding: buffer[0..<written].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: statements

    func render(_ nodes: [JinjaNode], in frame: JinjaFrame, into output: inout String) throws -> JinjaSignal {
        for node in nodes {
            switch node {
            case .text(let text):
                output += text
            case .output(.binary(.plus, let left, let right, let line), _):
                // `{{ '<|im_start|>' + message.role + '\n' + message.content + ... }}`, the commonest output of chat
                // templates: strings go straight to the output instead of through a new string per `+`.
                var operands = [right]
                var leftmost = left
                while case .binary(.plus, let inner, let innerRight, _) = leftmost {
                    operands.append(innerRight)
                    leftmost = inner
                }
                operands.append(leftmost)
                // Evaluated and folded in the order `+` would: while every value is a string they are only
                // collected; the first other value folds them, and `+` goes on from there.
                var strings: [String] = []
                var length = 0
                var folded: JinjaValue?
                for operand in operands.reversed() {
                    let value = try evaluate(operand, in: frame)
                    if let sum = folded {
                        folded = try binary(.plus, sum, value, line: line)
                    } else if case .string(let text) = value {
                        length += text.utf8.count
                        guard length <= limits.outputBytes else { throw JinjaError.limit("a string past \(limits.outputBytes) bytes") }
                        strings.append(text)
                    } else {
                        folded = strings.isEmpty ? value : try binary(.plus, .string(strings.joined()), value, line: line)
                    }
                }
                if let folded { output += PythonText.str(folded) } else { for text in strings { output += text } }
            case .output(let expression, _):
                output += PythonText.str(try evaluate(expression, in: frame))
            case .conditional(let branches, let otherwise, _):
                var taken = false
                for (condition, body) in branches where try evaluate(condition, in: frame).isTruthy {
                    taken = true
                    let signal = try render(body, in: frame, into: &output)
                    if signal != .normal { return signal }
                    break
                }
                if !taken {
                    let signal = try render(otherwise, in: frame, into: &output)
                    if signal != .normal { return signal }
                }
            case .loop(let loop):
                try runLoop(loop, over: try evaluate(loop.iterable, in: frame), in: frame, into: &output)
            case .assign(let targets, let value, let line):
                let result = try evaluate(value, in: frame)
                if targets.count == 1 {
                    frame.values[targets[0]] = result
                } else {
                    let elements = try iterate(result, line: line)
                    guard elements.count == targets.count else {
                        throw JinjaError.runtime("cannot unpack \(elements.count) values into \(targets.count) names", line: line)
                    }
                    for (target, element) in zip(targets, elements) { frame.values[target] = element }
                }
            case .assignAttribute(let object, let attribute, let value, let line):
                guard case .namespace(let namespace)? = frame.lookup(object) else {
                    throw JinjaError.runtime("cannot assign attribute on non-namespace object '\(object)'", line: line)
                }
                namespace.attributes[attribute] = try evaluate(value, in: frame)
            case .assignBlock(let name, let body, _):
                var captured = ""
                _ = try render(body, in: frame, into: &captured)
                frame.values[name] = .string(captured)
            case .macro(let name, let parameters, let body, let line):
                frame.values[name] = .callable(makeMacro(name: name, parameters: parameters, body: body, line: line, frame: frame))
            case .loopControl(let isBreak, _):
                return isBreak ? .breakLoop : .continueLoop
            case .block(let body):
                let signal = try render(body, in: frame, into: &output)
                if signal != .normal { return signal }
            }
            if output.utf8.count > limits.outputBytes {
                throw JinjaError.limit("the output passed \(limits.outputBytes) bytes")
            }
        }
        return .normal
    }

    private func makeMacro(name: String, parameters: [(String, JinjaExpression?)], body: [JinjaNode], line: Int,
                           frame: JinjaFrame) -> JinjaCallable {
        JinjaCallable(name) { [unowned self] arguments, keywords in
            guard arguments.count <= parameters.count else {
                throw JinjaError.runtime("macro '\(name)' takes not more than \(parameters.count) argument(s)", line: line)
            }
            let scope = JinjaFrame(parent: frame)
            for (index, (parameter, defaultValue)) in parameters.enumerated() {
                if index < arguments.count {
                    scope.values[parameter] = arguments[index]
                } else if let keyword = keywords.first(where: { $0.0 == parameter }) {
                    scope.values[parameter] = keyword.1
                } else if let defaultValue {
                    scope.values[parameter] = try self.evaluate(defaultValue, in: frame)
                } else {
                    scope.values[parameter] = .undefined(parameter)
                }
            }
            if let unknown = keywords.first(where: { keyword in !parameters.contains { $0.0 == keyword.0 } }) {
                throw JinjaError.runtime("macro '\(name)' takes no keyword argument '\(unknown.0)'", line: line)
            }
            return .string(try self.nested(line: line) {
                var output = ""
                _ = try self.render(body, in: scope, into: &output)
                return output
            })
        }
    }

    func nested<Result>(line: Int, _ body: () throws -> Result) throws -> Result {
        depth += 1
        defer { depth -= 1 }
        guard depth <= limits.callDepth else { throw JinjaError.limit("calls nested deeper than \(limits.callDepth) (line \(line))") }
        return try body()
    }

    private func runLoop(_ loop: JinjaLoop, over iterable: JinjaValue, in frame: JinjaFrame, into output: inout String) throws {
        var items = try iterate(iterable, line: loop.line)
        if let condition = loop.condition {
            items = try items.filter { item in
                let scope = JinjaFrame(parent: frame)
                try bind(loop.targets, to: item, in: scope, line: loop.line)
                return try evaluate(condition, in: scope).isTruthy
            }
        }
        if items.isEmpty {
            _ = try render(loop.otherwise, in: frame, into: &output)
            return
        }
        let count = items.count
        for (index, item) in items.enumerated() {
            iterations += 1
            guard iterations <= limits.loopIterations else {
                throw JinjaError.limit("more than \(limits.loopIterations) loop iterations (line \(loop.line))")
            }
            let scope = JinjaFrame(parent: frame)
            try bind(loop.targets, to: item, in: scope, line: loop.line)
            scope.loop = JinjaLoopState(index: index, items: items)
            if loop.isRecursive {
                scope.recurse = { [unowned self] children in
                    try self.nested(line: loop.line) {
                        var inner = ""
                        try self.runLoop(loop, over: children, in: frame, into: &inner)
                        return inner
                    }
                }
            }
            let signal = try render(loop.body, in: scope, into: &output)
            if signal == .breakLoop { break }
        }
    }

    private func bind(_ targets: [String], to item: JinjaValue, in scope: JinjaFrame, line: Int) throws {
        if targets.count == 1 {
            scope.values[targets[0]] = item
            return
        }
        let parts = try iterate(item, line: line)
        guard parts.count == targets.count else {
            throw JinjaError.runtime("cannot unpack \(parts.count) values into \(targets.count) loop names", line: line)
        }
        for (target, part) in zip(targets, parts) { scope.values[target] = part }
    }

    /// What `for` walks: a list's elements, a dict's keys, a string's characters; nothing for undefined.
    func iterate(_ value: JinjaValue, line: Int) throws -> [JinjaValue] {
        switch value {
        case .array(let values): return values
        case .dictionary(let dictionary): return dictionary.keys.map { .string($0) }
        case .string(let string): return string.unicodeScalars.map { .string(String($0)) }
        case .undefined: return []
        case .namespace(let namespace): return namespace.attributes.keys.map { .string($0) }
        default: throw JinjaError.runtime("'\(value.typeName)' object is not iterable", line: line)
        }
    }
}

extension JinjaTemplate {
    /// The template's literal text: its text between tags and every string constant in its expressions.
    /// transformers takes an added token found here as one the template writes itself (a control token).
    public var literalTexts: [String] {
        var texts: [String] = []
        func walk(_ nodes: [JinjaNode]) {
            for node in nodes {
                switch node {
                case .text(let text): texts.append(text)
                case .output(let expression, _): visit(expression)
                case .conditional(let branches, let otherwise, _):
                    for (condition, body) in branches { visit(condition); walk(body) }
                    walk(otherwise)
                case .loop(let loop):
                    visit(loop.iterable)
                    if let condition = loop.condition { visit(condition) }
                    walk(loop.body)
                    walk(loop.otherwise)
                case .assign(_, let value, _), .assignAttribute(_, _, let value, _): visit(value)
                case .assignBlock(_, let body, _): walk(body)
                case .macro(_, let parameters, let body, _):
                    for case let (_, value?) in parameters { visit(value) }
                    walk(body)
                case .loopControl: break
                case .block(let body): walk(body)
                }
            }
        }
        func visit(_ expression: JinjaExpression) {
            switch expression {
            case .literal(let value):
                if case .string(let text) = value { texts.append(text) }
            case .name: break
            case .list(let elements): elements.forEach(visit)
            case .dictionary(let pairs): for (key, value) in pairs { visit(key); visit(value) }
            case .attribute(let base, _, _): visit(base)
            case .item(let base, let key, _): visit(base); visit(key)
            case .slice(let base, let start, let stop, let step, _):
                visit(base)
                [start, stop, step].compactMap { $0 }.forEach(visit)
            case .call(let callee, let arguments, let keywords, _):
                visit(callee)
                arguments.forEach(visit)
                keywords.forEach { visit($0.1) }
            case .filter(let base, _, let arguments, let keywords, _):
                visit(base)
                arguments.forEach(visit)
                keywords.forEach { visit($0.1) }
            case .test(let base, _, let arguments, _, _):
                visit(base)
                arguments.forEach(visit)
            case .unary(_, let operand, _), .not(let operand): visit(operand)
            case .binary(_, let left, let right, _), .and(let left, let right), .or(let left, let right):
                visit(left)
                visit(right)
            case .conditional(let value, let condition, let otherwise):
                visit(value)
                visit(condition)
                if let otherwise { visit(otherwise) }
            }
        }
        walk(nodes)
        return texts
    }
}

extension JinjaValue {
    /// Whether any string in it (list elements, dictionary values; not keys) satisfies `test`.
    public func anyString(_ test: (String) -> Bool) -> Bool {
        switch self {
        case .string(let text): return test(text)
        case .array(let values): return values.contains { $0.anyString(test) }
        case .dictionary(let dictionary): return dictionary.pairs.contains { $0.1.anyString(test) }
        default: return false
        }
    }

    /// The value with `transform` applied to every string in it (list elements, dictionary values; not keys).
    public func mappingStrings(_ transform: (String) -> String) -> JinjaValue {
        switch self {
        case .string(let text): return .string(transform(text))
        case .array(let values): return .array(values.map { $0.mappingStrings(transform) })
        case .dictionary(let dictionary): return .dictionary(dictionary.pairs.map { ($0.0, $0.1.mappingStrings(transform)) })
        default: return self
        }
    }
}
