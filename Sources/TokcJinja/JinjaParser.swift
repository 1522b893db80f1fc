/// The parsed template: statements and expressions, each knowing its template line.
indirect enum JinjaNode {
    case text(String)
    case output(JinjaExpression, line: Int)
    case conditional(branches: [(JinjaExpression, [JinjaNode])], otherwise: [JinjaNode], line: Int)
    case loop(JinjaLoop)
    case assign(targets: [String], value: JinjaExpression, line: Int)
    case assignAttribute(object: String, attribute: String, value: JinjaExpression, line: Int)
    case assignBlock(name: String, body: [JinjaNode], line: Int)
    case macro(name: String, parameters: [(String, JinjaExpression?)], body: [JinjaNode], line: Int)
    case loopControl(isBreak: Bool, line: Int)
    /// `{% generation %}` (transformers' AssistantTracker): renders its body.
    case block([JinjaNode])
}

final class JinjaLoop {
    let targets: [String]
    let iterable: JinjaExpression
    let condition: JinjaExpression?
    let body: [JinjaNode]
    let otherwise: [JinjaNode]
    let isRecursive: Bool
    let line: Int

    init(targets: [String], iterable: JinjaExpression, condition: JinjaExpression?, body: [JinjaNode], otherwise: [JinjaNode],
         isRecursive: Bool, line: Int) {
        self.targets = targets
        self.iterable = iterable
        self.condition = condition
        self.body = body
        self.otherwise = otherwise
        self.isRecursive = isRecursive
        self.line = line
    }
}

/// A binary operator, decided once at parse time (a string compared per evaluation cost more than the
/// operation on short strings).
enum JinjaOperator: String {
    case equal = "=="
    case notEqual = "!="
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="
    case isIn = "in"
    case notIn = "not in"
    case concatenate = "~"
    case plus = "+"
    case minus = "-"
    case times = "*"
    case divide = "/"
    case floorDivide = "//"
    case modulo = "%"
    case power = "**"
}

indirect enum JinjaExpression {
    case literal(JinjaValue)
    case name(String, line: Int)
    case list([JinjaExpression])
    case dictionary([(JinjaExpression, JinjaExpression)])
    case attribute(JinjaExpression, String, line: Int)
    case item(JinjaExpression, JinjaExpression, line: Int)
    case slice(JinjaExpression, JinjaExpression?, JinjaExpression?, JinjaExpression?, line: Int)
    case call(JinjaExpression, [JinjaExpression], [(String, JinjaExpression)], line: Int)
    case filter(JinjaExpression, String, [JinjaExpression], [(String, JinjaExpression)], line: Int)
    case test(JinjaExpression, String, [JinjaExpression], negated: Bool, line: Int)
    case unary(String, JinjaExpression, line: Int)
    case binary(JinjaOperator, JinjaExpression, JinjaExpression, line: Int)
    case and(JinjaExpression, JinjaExpression)
    case or(JinjaExpression, JinjaExpression)
    case not(JinjaExpression)
    case conditional(JinjaExpression, condition: JinjaExpression, otherwise: JinjaExpression?)
}

/// Recursive descent over the lexer's segments, with Jinja's operator precedence: conditional, or, and, not,
/// comparisons (`in`, `not in`, `==` …), `+ -`, `~`, `* / // %`, `**`, unary minus, then a primary with its
/// attributes, items, calls, filters and tests.
struct JinjaParser {
    private let segments: [JinjaSegment]
    private var position = 0
    /// Blocks inside blocks; past `maximumNesting` a template is refused rather than risk the stack.
    private var nesting = 0
    static let maximumNesting = 100

    init(_ segments: [JinjaSegment]) { self.segments = segments }

    mutating func parse() throws -> [JinjaNode] {
        let (nodes, end) = try parseBody(until: [])
        if let (name, line) = end { throw JinjaError.syntax("unexpected '{% \(name) %}'", line: line) }
        return nodes
    }

    /// Nodes up to a statement whose first word is in `terminators` (returned with its line and left unread
    /// for the caller, which reads its tokens with `terminatorTokens`), or the end.
    private mutating func parseBody(until terminators: Set<String>) throws -> ([JinjaNode], (String, Int)?) {
        var nodes: [JinjaNode] = []
        while position < segments.count {
            switch segments[position] {
            case .text(let text):
                position += 1
                nodes.append(.text(text))
            case .output(let tokens, let line):
                position += 1
                var cursor = Cursor(tokens: tokens, line: line)
                let expression = try cursor.expression()
                try cursor.expectEnd()
                nodes.append(.output(expression, line: line))
            case .statement(let tokens, let line):
                guard let keyword = tokens.first, keyword.kind == .name else {
                    throw JinjaError.syntax("a statement tag without a keyword", line: line)
                }
                if terminators.contains(keyword.text) { return (nodes, (keyword.text, line)) }
                position += 1
                nodes.append(try statement(keyword.text, Cursor(tokens: Array(tokens.dropFirst()), line: line), line: line))
            }
        }
        return (nodes, nil)
    }

    private var currentTokens: [JinjaToken] {
        if case .statement(let tokens, _) = segments[position] { return Array(tokens.dropFirst()) }
        return []
    }

    private mutating func expectEnd(_ name: String, opened line: Int, _ end: (String, Int)?) throws {
        guard let end, end.0 == name else {
            throw JinjaError.syntax("'{% \(name) %}' missing for the tag opened here", line: line)
        }
        position += 1
    }

    private mutating func statement(_ keyword: String, _ cursor: Cursor, line: Int) throws -> JinjaNode {
        nesting += 1
        defer { nesting -= 1 }
        guard nesting <= Self.maximumNesting else {
            throw JinjaError.limit("blocks nested deeper than \(Self.maximumNesting) (line \(line))")
        }
        var cursor = cursor
        switch keyword {
        case "if":
            var branches: [(JinjaExpression, [JinjaNode])] = []
            var condition = try cursor.expression()
            try cursor.expectEnd()
            var otherwise: [JinjaNode] = []
            while true {
                let (body, end) = try parseBody(until: ["elif", "else", "endif"])
                guard let end else { throw JinjaError.syntax("'{% endif %}' missing for the tag opened here", line: line) }
                branches.append((condition, body))
                if end.0 == "elif" {
                    var next = Cursor(tokens: currentTokens, line: end.1)
                    condition = try next.expression()
                    try next.expectEnd()
                    position += 1
                    continue
                }
                if end.0 == "else" {
                    position += 1
                    let (elseBody, close) = try parseBody(until: ["endif"])
                    otherwise = elseBody
                    try expectEnd("endif", opened: line, close)
                } else {
                    position += 1
                }
                break
            }
            return .conditional(branches: branches, otherwise: otherwise, line: line)
        case "for":
            var targets = [try cursor.name()]
            while cursor.skip(",") { targets.append(try cursor.name()) }
            try cursor.expectName("in")
            let iterable = try cursor.expression(allowConditional: false)
            var condition: JinjaExpression?
            if cursor.skipName("if") { condition = try cursor.expression(allowConditional: false) }
            let isRecursive = cursor.skipName("recursive")
            try cursor.expectEnd()
            let (body, end) = try parseBody(until: ["else", "endfor"])
            var otherwise: [JinjaNode] = []
            if end?.0 == "else" {
                position += 1
                let (elseBody, close) = try parseBody(until: ["endfor"])
                otherwise = elseBody
                try expectEnd("endfor", opened: line, close)
            } else {
                try expectEnd("endfor", opened: line, end)
            }
            return .loop(JinjaLoop(targets: targets, iterable: iterable, condition: condition, body: body, otherwise: otherwise,
                                   isRecursive: isRecursive, line: line))
        case "set":
            let first = try cursor.name()
            if cursor.skip(".") {
                let attribute = try cursor.name()
                try cursor.expect("=")
                let value = try cursor.expression()
                try cursor.expectEnd()
                return .assignAttribute(object: first, attribute: attribute, value: value, line: line)
            }
            var targets = [first]
            while cursor.skip(",") { targets.append(try cursor.name()) }
            if cursor.atEnd {
                guard targets.count == 1 else { throw JinjaError.syntax("a block set takes one name", line: line) }
                let (body, end) = try parseBody(until: ["endset"])
                try expectEnd("endset", opened: line, end)
                return .assignBlock(name: first, body: body, line: line)
            }
            try cursor.expect("=")
            let value = try cursor.expression()
            try cursor.expectEnd()
            return .assign(targets: targets, value: value, line: line)
        case "macro":
            let name = try cursor.name()
            try cursor.expect("(")
            var parameters: [(String, JinjaExpression?)] = []
            while !cursor.skip(")") {
                if !parameters.isEmpty { try cursor.expect(",") }
                if cursor.skip(")") { break }
                let parameter = try cursor.name()
                parameters.append((parameter, cursor.skip("=") ? try cursor.expression() : nil))
            }
            try cursor.expectEnd()
            let (body, end) = try parseBody(until: ["endmacro"])
            try expectEnd("endmacro", opened: line, end)
            return .macro(name: name, parameters: parameters, body: body, line: line)
        case "break", "continue":
            try cursor.expectEnd()
            return .loopControl(isBreak: keyword == "break", line: line)
        case "generation":
            try cursor.expectEnd()
            let (body, end) = try parseBody(until: ["endgeneration"])
            try expectEnd("endgeneration", opened: line, end)
            return .block(body)
        case "endif", "endfor", "endmacro", "endset", "elif", "else", "endgeneration":
            throw JinjaError.syntax("unexpected '{% \(keyword) %}'", line: line)
        default:
            throw JinjaError.unsupported("the '\(keyword)' statement", line: line)
        }
    }
}

/// Reads one tag's tokens.
struct Cursor {
    let tokens: [JinjaToken]
    let line: Int
    var index = 0
    /// Expressions inside expressions (brackets, unary operators); bounded so the parser's recursion is.
    var depth = 0
    static let maximumDepth = 100

    mutating func enter() throws {
        depth += 1
        guard depth <= Self.maximumDepth else { throw JinjaError.limit("an expression nested deeper than \(Self.maximumDepth) (line \(currentLine))") }
    }

    init(tokens: [JinjaToken], line: Int) {
        self.tokens = tokens
        self.line = line
    }

    var atEnd: Bool { index >= tokens.count }
    private var current: JinjaToken? { index < tokens.count ? tokens[index] : nil }
    private var currentLine: Int { current?.line ?? tokens.last?.line ?? line }

    func error(_ message: String) -> JinjaError { .syntax(message, line: currentLine) }

    mutating func expectEnd() throws {
        if let current { throw error("unexpected '\(current.text)'") }
    }

    func isSymbol(_ symbol: String) -> Bool { current.map { $0.kind == .symbol && $0.text == symbol } ?? false }
    func isName(_ name: String) -> Bool { current.map { $0.kind == .name && $0.text == name } ?? false }

    mutating func skip(_ symbol: String) -> Bool {
        guard isSymbol(symbol) else { return false }
        index += 1
        return true
    }

    mutating func skipName(_ name: String) -> Bool {
        guard isName(name) else { return false }
        index += 1
        return true
    }

    mutating func expect(_ symbol: String) throws {
        guard skip(symbol) else { throw error("expected '\(symbol)'\(current.map { ", found '\($0.text)'" } ?? " at the end of the tag")") }
    }

    mutating func expectName(_ name: String) throws {
        guard skipName(name) else { throw error("expected '\(name)'") }
    }

    mutating func name() throws -> String {
        guard let current, current.kind == .name else { throw error("expected a name") }
        index += 1
        return current.text
    }

    // MARK: expressions

    mutating func expression(allowConditional: Bool = true) throws -> JinjaExpression {
        try enter()
        defer { depth -= 1 }
        let value = try or()
        guard allowConditional, skipName("if") else { return value }
        let condition = try or()
        let otherwise = skipName("else") ? try expression() : nil
        return .conditional(value, condition: condition, otherwise: otherwise)
    }

    private mutating func or() throws -> JinjaExpression {
        var left = try and()
        while skipName("or") { left = .or(left, try and()) }
        return left
    }

    private mutating func and() throws -> JinjaExpression {
        var left = try not()
        while skipName("and") { left = .and(left, try not()) }
        return left
    }

    private mutating func not() throws -> JinjaExpression {
        if isName("not") {
            index += 1
            try enter()
            defer { depth -= 1 }
            return .not(try not())
        }
        return try comparison()
    }

    private static func binaryOperator(_ token: JinjaToken) throws -> JinjaOperator {
        guard let known = JinjaOperator(rawValue: token.text) else {
            throw JinjaError.syntax("unexpected '\(token.text)'", line: token.line)
        }
        return known
    }

    private mutating func comparison() throws -> JinjaExpression {
        var left = try additive()
        while true {
            let line = currentLine
            if let current, current.kind == .symbol, ["==", "!=", "<", ">", "<=", ">="].contains(current.text) {
                index += 1
                left = .binary(try Self.binaryOperator(current), left, try additive(), line: line)
            } else if skipName("in") {
                left = .binary(.isIn, left, try additive(), line: line)
            } else if isName("not"), index + 1 < tokens.count, tokens[index + 1].kind == .name, tokens[index + 1].text == "in" {
                index += 2
                left = .binary(.notIn, left, try additive(), line: line)
            } else {
                return left
            }
        }
    }

    private mutating func additive() throws -> JinjaExpression {
        var left = try concatenation()
        while let current, current.kind == .symbol, current.text == "+" || current.text == "-" {
            index += 1
            left = .binary(try Self.binaryOperator(current), left, try concatenation(), line: current.line)
        }
        return left
    }

    private mutating func concatenation() throws -> JinjaExpression {
        var left = try multiplicative()
        while let current, current.kind == .symbol, current.text == "~" {
            index += 1
            left = .binary(.concatenate, left, try multiplicative(), line: current.line)
        }
        return left
    }

    private mutating func multiplicative() throws -> JinjaExpression {
        var left = try power()
        while let current, current.kind == .symbol, ["*", "/", "//", "%"].contains(current.text) {
            index += 1
            left = .binary(try Self.binaryOperator(current), left, try power(), line: current.line)
        }
        return left
    }

    private mutating func power() throws -> JinjaExpression {
        var left = try unary()
        while let current, current.kind == .symbol, current.text == "**" {
            index += 1
            left = .binary(.power, left, try unary(), line: current.line)
        }
        return left
    }

    private mutating func unary() throws -> JinjaExpression {
        if let current, current.kind == .symbol, current.text == "-" || current.text == "+" {
            index += 1
            return try filtersAndTests(.unary(current.text, try unary(withFilters: false), line: current.line))
        }
        return try filtersAndTests(try postfix(try primary()))
    }

    private mutating func unary(withFilters: Bool) throws -> JinjaExpression {
        if let current, current.kind == .symbol, current.text == "-" || current.text == "+" {
            index += 1
            try enter()
            defer { depth -= 1 }
            return .unary(current.text, try unary(withFilters: false), line: current.line)
        }
        return try postfix(try primary())
    }

    private mutating func primary() throws -> JinjaExpression {
        guard let token = current else { throw error("expected an expression at the end of the tag") }
        index += 1
        switch token.kind {
        case .string:
            var text = token.text
            // Adjacent literals join, as in Python.
            while let next = current, next.kind == .string { text += next.text; index += 1 }
            return .literal(.string(text))
        case .integer: return .literal(.int(token.integer))
        case .float: return .literal(.double(token.float))
        case .name:
            switch token.text {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(token.text, line: token.line)
            }
        case .symbol:
            switch token.text {
            case "(":
                if skip(")") { return .list([]) }
                let first = try expression()
                if isSymbol(",") {
                    var elements = [first]
                    while skip(",") {
                        if isSymbol(")") { break }
                        elements.append(try expression())
                    }
                    try expect(")")
                    return .list(elements)
                }
                try expect(")")
                return first
            case "[":
                var elements: [JinjaExpression] = []
                while !skip("]") {
                    if !elements.isEmpty { try expect(","); if skip("]") { break } }
                    elements.append(try expression())
                }
                return .list(elements)
            case "{":
                var pairs: [(JinjaExpression, JinjaExpression)] = []
                while !skip("}") {
                    if !pairs.isEmpty { try expect(","); if skip("}") { break } }
                    let key = try expression()
                    try expect(":")
                    pairs.append((key, try expression()))
                }
                return .dictionary(pairs)
            default:
                throw JinjaError.syntax("unexpected '\(token.text)'", line: token.line)
            }
        }
    }

    private mutating func postfix(_ base: JinjaExpression) throws -> JinjaExpression {
        var node = base
        while let token = current, token.kind == .symbol {
            if token.text == "." {
                index += 1
                guard let next = current else { throw error("expected an attribute after '.'") }
                index += 1
                if next.kind == .integer {
                    node = .item(node, .literal(.int(next.integer)), line: token.line)
                } else if next.kind == .name {
                    node = .attribute(node, next.text, line: token.line)
                } else {
                    throw JinjaError.syntax("expected an attribute after '.'", line: token.line)
                }
            } else if token.text == "[" {
                index += 1
                node = try subscriptTail(node, line: token.line)
            } else if token.text == "(" {
                index += 1
                let (arguments, keywords) = try callArguments()
                node = .call(node, arguments, keywords, line: token.line)
            } else {
                break
            }
        }
        return node
    }

    private mutating func subscriptTail(_ node: JinjaExpression, line: Int) throws -> JinjaExpression {
        var parts: [JinjaExpression?] = [nil]
        var isSlice = false
        while !skip("]") {
            if skip(":") {
                isSlice = true
                parts.append(nil)
                guard parts.count <= 3 else { throw error("a slice takes at most three parts") }
                continue
            }
            guard parts[parts.count - 1] == nil else { throw error("expected ']'") }
            parts[parts.count - 1] = try expression()
        }
        if !isSlice {
            guard let key = parts[0] else { throw error("an empty subscript") }
            return .item(node, key, line: line)
        }
        while parts.count < 3 { parts.append(nil) }
        return .slice(node, parts[0], parts[1], parts[2], line: line)
    }

    private mutating func callArguments() throws -> ([JinjaExpression], [(String, JinjaExpression)]) {
        var arguments: [JinjaExpression] = []
        var keywords: [(String, JinjaExpression)] = []
        while !skip(")") {
            if !arguments.isEmpty || !keywords.isEmpty {
                try expect(",")
                if skip(")") { break }
            }
            if let token = current, token.kind == .name, index + 1 < tokens.count, tokens[index + 1].kind == .symbol,
               tokens[index + 1].text == "=" {
                index += 2
                keywords.append((token.text, try expression()))
            } else {
                if isSymbol("*") || isSymbol("**") { throw JinjaError.unsupported("*args and **kwargs in a call", line: currentLine) }
                arguments.append(try expression())
            }
        }
        return (arguments, keywords)
    }

    private mutating func filtersAndTests(_ base: JinjaExpression) throws -> JinjaExpression {
        var node = base
        while true {
            if let token = current, token.kind == .symbol, token.text == "|" {
                index += 1
                var name = try self.name()
                while skip(".") { name += "." + (try self.name()) }
                var arguments: [JinjaExpression] = []
                var keywords: [(String, JinjaExpression)] = []
                if skip("(") { (arguments, keywords) = try callArguments() }
                node = .filter(node, name, arguments, keywords, line: token.line)
            } else if isName("is") {
                let line = currentLine
                index += 1
                let negated = skipName("not")
                let name = try testName()
                var arguments: [JinjaExpression] = []
                if skip("(") {
                    let (positional, keywords) = try callArguments()
                    guard keywords.isEmpty else { throw JinjaError.unsupported("keyword arguments to a test", line: line) }
                    arguments = positional
                } else if let token = current, [.string, .integer, .float].contains(token.kind)
                            || token.kind == .symbol && (token.text == "[" || token.text == "{")
                            || token.kind == .name && !["and", "or", "if", "else", "is", "in", "not"].contains(token.text) {
                    // `x is divisibleby 3`, `x is sameas false`: one argument without parentheses.
                    arguments = [try postfix(try primary())]
                }
                node = .test(node, name, arguments, negated: negated, line: line)
            } else {
                return node
            }
        }
    }

    private mutating func testName() throws -> String {
        // `is none`, `is true`: names that are also literals.
        guard let current, current.kind == .name || current.kind == .symbol && ["==", "!=", "<", ">", "<=", ">="].contains(current.text) else {
            throw error("expected a test name after 'is'")
        }
        index += 1
        return current.text
    }
}
