#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
import TokcJinja

/// A request's prompt as a model sees it: the text its chat template renders, its ids, and how many of them
/// are the messages' own text (`contentTokens`: every message's content, encoded alone as ordinary text)
/// against what the template adds (`templateTokens`: role headers, separators, tool schemas, the generation
/// prompt; the difference, so merges across a boundary land there).
public struct ChatPrompt: Sendable, Equatable {
    public let text: String
    public let ids: [TokenID]
    public let contentTokens: Int
    public var tokens: Int { ids.count }
    public var templateTokens: Int { ids.count - contentTokens }
}

final class ControlTokenMemo: Sendable {
    let tokens = Mutex<[String: ChatTokens]>([:])
}

/// What marking and cutting a prompt need of a tokenizer's added tokens, worked out once per tokenizer.
struct ChatTokens: Sendable {
    /// The template's control tokens, longest first, as scalars.
    let control: [[Unicode.Scalar]]
    /// Which bytes begin a control token (a string with none of them, and no marker, needs no marking).
    let startsControl: [Bool]
    /// Every added token, longest first, as scalars (the markers may wrap any of them).
    let added: [[Unicode.Scalar]]
    /// The bytes `startsControl` marks, when they are few: each is then looked for with `memchr`.
    let fewFirstBytes: [UInt8]?

    init(control: [[Unicode.Scalar]], startsControl: [Bool], added: [[Unicode.Scalar]]) {
        self.control = control
        self.startsControl = startsControl
        self.added = added
        let marked = (0..<256).filter { startsControl[$0] }.map(UInt8.init)
        fewFirstBytes = marked.count <= 4 ? marked : nil
    }

    /// Whether `text` holds a byte a control token or a marker begins with (most strings hold none).
    func mayHoldControl(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            guard let base = bytes.baseAddress else { return false }
            if let fewFirstBytes {
                return fewFirstBytes.contains { memchr(base, Int32($0), bytes.count) != nil }
            }
            return bytes.contains { startsControl[Int($0)] }
        }
    }
}

/// A chat template (Jinja, as in a model's `tokenizer_config.json` or a GGUF's `tokenizer.chat_template`) over
/// a tokenizer: renders an OpenAI chat request as transformers does and counts it as
/// `apply_chat_template(..., tokenize=True, sanitize_control_tokens=True)` counts it. The template's own
/// control tokens are control ids; the same text inside a message is ordinary text (tokc's safe default, as
/// everywhere), unless `allowSpecial` asks for the library default of transformers, which matches added
/// tokens anywhere. Parse once; `encode` is safe to call from many threads.
public struct ChatTemplate: Sendable {
    public let source: String
    let template: JinjaTemplate
    let literalTexts: [String]
    /// `bos_token`, `eos_token`, … as the template sees them.
    public let specialTokenVariables: [String: String]
    /// Added tokens that are not special, for a vocabulary file that cannot say so itself (a `.tiktoken`).
    public let nonSpecialTokens: Set<String>
    /// Each tokenizer's control and added tokens as marking and cutting need them: worked out once, not per request.
    private let controlTokenMemo = ControlTokenMemo()

    public init(source: String, specialTokenVariables: [String: String] = [:], nonSpecialTokens: Set<String> = []) throws(TokcError) {
        do {
            template = try JinjaTemplate(source)
        } catch let error as JinjaError {
            throw .invalidTemplate(error.description)
        } catch {
            throw .invalidTemplate("\(error)")
        }
        self.source = source
        literalTexts = template.literalTexts
        self.specialTokenVariables = specialTokenVariables
        self.nonSpecialTokens = nonSpecialTokens
    }

    /// The prompt `request` (an OpenAI chat-completions body) renders to, as text.
    public func render(_ request: JinjaValue, limits: JinjaLimits = JinjaLimits()) throws(TokcError) -> String {
        try run { try template.render(try ChatTemplateInput.variables(request: request, specialTokens: specialTokenVariables), limits: limits) }
    }

    /// The prompt's text and ids.
    public func encode(_ request: JinjaValue, tokenizer: Tokenizer, allowSpecial: Bool = false,
                       limits: JinjaLimits = JinjaLimits()) throws(TokcError) -> ChatPrompt {
        let (text, ids, _) = try prompt(request, tokenizer: tokenizer, allowSpecial: allowSpecial, limits: limits, idsWanted: true)
        return ChatPrompt(text: text, ids: ids, contentTokens: tokenizer.count(Self.rawContents(request)))
    }

    /// The prompt's tokens alone: no ids kept, the contents not counted apart (what pricing and budgets need).
    public func count(_ request: JinjaValue, tokenizer: Tokenizer, allowSpecial: Bool = false,
                      limits: JinjaLimits = JinjaLimits()) throws(TokcError) -> Int {
        try prompt(request, tokenizer: tokenizer, allowSpecial: allowSpecial, limits: limits, idsWanted: false).count
    }

    /// The rendered prompt, its ids when `idsWanted` (else none: a prompt without markers is only counted), and
    /// how many tokens it is.
    private func prompt(_ request: JinjaValue, tokenizer: Tokenizer, allowSpecial: Bool, limits: JinjaLimits,
                        idsWanted: Bool) throws(TokcError) -> (text: String, ids: [TokenID], count: Int) {
        // The special-token variables are the template's own; only the request's strings are marked below.
        var variables = try run { try ChatTemplateInput.variables(request: request, specialTokens: specialTokenVariables) }
        if allowSpecial {
            let text = try run { try template.render(variables, limits: limits) }
            if !idsWanted { return (text, [], tokenizer.count(text, allowedSpecial: .all)) }
            let ids = tokenizer.encode(text, allowedSpecial: .all)
            return (text, ids, ids.count)
        }
        // transformers' sanitize_control_tokens: wrap every control token in the request's strings in private-use
        // markers, render, then encode the marked ones as text and everything else with added tokens matched.
        let tokens = chatTokens(of: tokenizer)
        let mark = { (text: String) in Self.mark(text, tokens: tokens) }
        for key in ["messages", "tools", "documents"] {
            // Rebuilt only where some string could change (most requests hold no control token at all).
            if let value = variables[key], value.anyString(tokens.mayHoldControl) {
                variables[key] = value.mappingStrings(mark)
            }
        }
        let rendered = try run { try template.render(variables, limits: limits) }
        let pieces = Self.split(rendered, addedTokens: tokens.added)
        let first = pieces.first.flatMap { $0 } ?? ""
        if pieces.count == 1 && !idsWanted { return (first, [], tokenizer.count(first, allowedSpecial: .all)) }
        var ids = tokenizer.encode(first, allowedSpecial: .all)
        let newline = tokenizer.encode("\n", allowedSpecial: .all)
        var text = first
        for (index, piece) in pieces.enumerated().dropFirst() {
            guard let piece, !piece.isEmpty else { continue }
            text += piece
            let asText = index % 2 == 1
            let policy: SpecialTokenPolicy = asText ? .none : .all
            var pieceIDs = tokenizer.encode("\n" + piece, allowedSpecial: policy)
            if pieceIDs.starts(with: newline) {
                pieceIDs.removeFirst(newline.count)
            } else {
                pieceIDs = tokenizer.encode(piece, allowedSpecial: policy)
            }
            if asText, let id = tokenizer.specialTokens.id(of: piece), pieceIDs.contains(id) {
                throw .invalidTemplate("can't sanitize '\(piece)': the tokenizer produces it from plain text")
            }
            ids += pieceIDs
        }
        return (text, ids, ids.count)
    }

    private func run<Result>(_ body: () throws -> Result) throws(TokcError) -> Result {
        do {
            return try body()
        } catch let error as JinjaError {
            switch error {
            case .raised(let message): throw .templateRefused(message)
            case .json(let message): throw .invalidRequest(message)
            default: throw .invalidTemplate(error.description)
            }
        } catch {
            throw .invalidTemplate("\(error)")
        }
    }

    /// The added tokens transformers treats as the template's own: the special ones, and the others that occur
    /// in the template's literal text and are not whitespace.
    func controlTokens(of tokenizer: Tokenizer) -> [String] {
        tokenizer.specialTokens.all.map { $0.text }.filter { token in
            if !tokenizer.nonSpecialAddedTokens.contains(token) && !nonSpecialTokens.contains(token) { return true }
            let isSpace = !token.isEmpty && token.unicodeScalars.allSatisfy { $0.properties.isWhitespace }
            return !isSpace && literalTexts.contains { Array($0.utf8).firstRange(of: Array(token.utf8)) != nil }
        }.sorted { $0.utf8.count > $1.utf8.count }
    }

    func chatTokens(of tokenizer: Tokenizer) -> ChatTokens {
        let key = tokenizer.name + "\u{0}" + String(tokenizer.specialTokens.count)
        if let known = controlTokenMemo.tokens.withLock({ $0[key] }) { return known }
        let control = controlTokens(of: tokenizer)
        var startsControl = [Bool](repeating: false, count: 256)
        for token in control { if let first = token.utf8.first { startsControl[Int(first)] = true } }
        startsControl[0xF3] = true  // the markers' first byte
        let added = tokenizer.specialTokens.all.map { $0.text }.sorted { $0.utf8.count > $1.utf8.count }
        let tokens = ChatTokens(control: control.map { Array($0.unicodeScalars) }, startsControl: startsControl,
                                added: added.map { Array($0.unicodeScalars) })
        controlTokenMemo.tokens.withLock { $0[key] = tokens }
        return tokens
    }

    /// `text` with any markers removed, then every control token (longest first, left to right) wrapped in them.
    static func mark(_ text: String, tokens: ChatTokens) -> String {
        // Most strings hold no control token's first byte and no marker: as they are.
        if !tokens.mayHoldControl(text) { return text }
        let scalars = Array(text.unicodeScalars.filter { $0 != "\u{F0000}" && $0 != "\u{F0001}" })
        var output = String.UnicodeScalarView()
        var index = 0
        outer: while index < scalars.count {
            for token in tokens.control where !token.isEmpty && index + token.count <= scalars.count
                && scalars[index..<(index + token.count)].elementsEqual(token) {
                output.append("\u{F0000}")
                output.append(contentsOf: token)
                output.append("\u{F0001}")
                index += token.count
                continue outer
            }
            output.append(scalars[index])
            index += 1
        }
        return String(output)
    }

    /// The rendered prompt cut at the markers: text, marked token (nil for a lone marker), text, …
    static func split(_ rendered: String, addedTokens tokens: [[Unicode.Scalar]]) -> [String?] {
        var probe = rendered
        // No marker can be in it (memchr: the rendered prompt is the longest string of the request's way).
        if probe.withUTF8({ bytes in bytes.baseAddress.map { memchr($0, 0xF3, bytes.count) == nil } ?? true }) { return [rendered] }
        let scalars = Array(rendered.unicodeScalars)
        var pieces: [String?] = []
        var current = String.UnicodeScalarView()
        var index = 0
        outer: while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "\u{F0000}" {
                for token in tokens where !token.isEmpty && index + token.count + 1 < scalars.count
                    && scalars[(index + 1)..<(index + 1 + token.count)].elementsEqual(token)
                    && scalars[index + 1 + token.count] == "\u{F0001}" {
                    pieces.append(String(current))
                    pieces.append(String(String.UnicodeScalarView(token)))
                    current = String.UnicodeScalarView()
                    index += token.count + 2
                    continue outer
                }
            }
            if scalar == "\u{F0000}" || scalar == "\u{F0001}" {
                pieces.append(String(current))
                pieces.append(nil)
                current = String.UnicodeScalarView()
                index += 1
                continue
            }
            current.append(scalar)
            index += 1
        }
        pieces.append(String(current))
        return pieces
    }

    /// Every message's own content, concatenated (text parts joined with ""): what the template's share is
    /// measured against.
    static func rawContents(_ request: JinjaValue) -> String {
        guard case .dictionary(let body) = request, case .array(let messages)? = body["messages"] else { return "" }
        var text = ""
        for message in messages {
            if case .dictionary(let fields) = message { text += contentText(fields["content"] ?? .none) }
        }
        return text
    }

    /// A message content's text: a string, or its text parts joined with "" (null and anything else: "").
    static func contentText(_ content: JinjaValue) -> String {
        switch content {
        case .string(let text): return text
        case .array(let parts):
            var text = ""
            for part in parts {
                if case .dictionary(let fields) = part, case .string("text")? = fields["type"], case .string(let piece)? = fields["text"] { text += piece }
            }
            return text
        default: return ""
        }
    }
}
