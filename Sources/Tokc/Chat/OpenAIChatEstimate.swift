import TokcJinja

/// OpenAI's published way to count a chat request for its hosted models (the cookbook's
/// `num_tokens_from_messages`, the GPT-4o branch): 3 tokens per message, the tokens of every string field
/// of it (role, content, name, tool_call_id), 1 more per name, and 3 for the reply's priming. An estimate,
/// not the count OpenAI bills: OpenAI does not publish its chat format. Adapted, as the chat references
/// are, to requests the cookbook's code cannot take: text parts are joined with "", a null content counts 0,
/// a tool call counts its name and arguments. The request's `tools` are not counted (the rule has nothing
/// for them), and special-token text counts as ordinary text.
public enum OpenAIChatEstimate {
    public static let note = "OpenAI's published estimate for its hosted models (3 tokens per message, 1 per name, 3 for the reply; tool definitions not counted), not a measured count"

    public static func count(_ request: JinjaValue, tokenizer: Tokenizer) throws(TokcError) -> (tokens: Int, contentTokens: Int) {
        guard case .dictionary(let body) = request else { throw .invalidRequest("a chat request must be a JSON object") }
        guard case .array(let messages)? = body["messages"] else { throw .invalidRequest("a chat request needs a \"messages\" list") }
        var tokens = 0
        for (index, message) in messages.enumerated() {
            guard case .dictionary(let fields) = message else { throw .invalidRequest("messages[\(index)] is not an object") }
            tokens += 3
            for (key, value) in fields.pairs {
                switch (key, value) {
                case ("tool_calls", .array(let calls)):
                    for call in calls {
                        guard case .dictionary(let callFields) = call, case .dictionary(let function)? = callFields["function"],
                              case .string(let name)? = function["name"], case .string(let arguments)? = function["arguments"] else {
                            throw .invalidRequest("messages[\(index)].tool_calls: each call needs function.name and function.arguments strings")
                        }
                        tokens += tokenizer.count(name) + tokenizer.count(arguments)
                    }
                case ("tool_calls", .none):
                    continue
                case ("content", _):
                    tokens += tokenizer.count(ChatTemplate.contentText(value))
                case (_, .string(let text)):
                    tokens += tokenizer.count(text)
                    if key == "name" { tokens += 1 }
                default:
                    throw .invalidRequest("messages[\(index)].\(key) is a \(PythonTypeName.of(value)), which OpenAI's counting rule does not count")
                }
            }
        }
        return (tokens + 3, tokenizer.count(ChatTemplate.rawContents(request)))
    }
}

enum PythonTypeName {
    static func of(_ value: JinjaValue) -> String {
        switch value {
        case .none: return "null"
        case .bool: return "boolean"
        case .int, .double: return "number"
        case .string: return "string"
        case .array: return "list"
        case .dictionary, .namespace: return "object"
        case .undefined, .callable: return "value"
        }
    }
}

/// How a vocabulary counts chat requests: through a chat template, through the request encoding its family
/// publishes as code (Mistral's, gpt-oss's harmony), or (OpenAI's hosted models, whose format is not published)
/// by OpenAI's estimate.
public enum ChatCounting: Sendable {
    case template(ChatTemplate)
    case mistral(MistralChatEncoding)
    case harmony
    case openAIEstimate

    /// The vocabularies of OpenAI's hosted chat models, counted by OpenAI's rule when no template is given.
    public static let openAIVocabularies: Set<String> = ["o200k_base", "cl100k_base"]

    /// The shipped vocabularies whose family encodes requests in code rather than with a template: each Mistral
    /// vocabulary by its tokenizer version (the Tekken file says v3 in its config), gpt-oss's by harmony.
    public static let requestEncodings: [String: ChatCounting] = [
        "mistral-v3": .mistral(MistralChatEncoding(version: .v3)), "mistral-v7": .mistral(MistralChatEncoding(version: .v7)),
        "tekken": .mistral(MistralChatEncoding(version: .v3)), "o200k_harmony": .harmony,
    ]

    /// A shipped vocabulary's request encoding, or a Mistral file's by mistral-common's own rule: a SentencePiece
    /// file's suffix (`tokenizer.model.v7`) or a Tekken file's `config.version` names the version. A Mistral
    /// version tokc does not encode is an error naming the ones it does.
    public static func requestEncoding(for nameOrPath: String) throws(TokcError) -> ChatCounting? {
        if let known = requestEncodings[nameOrPath] { return known }
        guard FileIO.isFile(nameOrPath) else { return nil }
        var version: String?
        if let suffix = nameOrPath.split(separator: ".").last, nameOrPath.contains(".model."), suffix.first == "v" {
            version = String(suffix)
        } else {
            let head = try FileIO.readPrefix(nameOrPath, count: 4096)
            guard head.first == UInt8(ascii: "{"), head.firstRange(of: Array("\"config\"".utf8)) != nil,
                  let key = head.firstRange(of: Array("\"version\"".utf8)) else { return nil }
            let rest = head[key.upperBound...].drop { $0 == 0x20 || $0 == UInt8(ascii: ":") || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
            guard rest.first == UInt8(ascii: "\"") else { return nil }
            version = String(decoding: rest.dropFirst().prefix { $0 != UInt8(ascii: "\"") }, as: UTF8.self)
        }
        guard let version else { return nil }
        guard let known = MistralChatEncoding.Version(rawValue: version) else {
            let supported = MistralChatEncoding.Version.allCases.map(\.rawValue).joined(separator: ", ")
            throw .invalidTemplate("\(nameOrPath) is a Mistral tokenizer of version \(version); tokc encodes Mistral requests for versions \(supported)")
        }
        return .mistral(MistralChatEncoding(version: known))
    }

    /// The prompt's tokens alone (pricing and budgets need no more).
    public func promptTokens(_ request: JinjaValue, tokenizer: Tokenizer, allowSpecial: Bool = false) throws(TokcError) -> Int {
        switch self {
        case .template(let template): return try template.count(request, tokenizer: tokenizer, allowSpecial: allowSpecial)
        case .mistral(let encoding): return try encoding.ids(request, tokenizer: tokenizer).count
        case .harmony: return try HarmonyChatEncoding.ids(request, tokenizer: tokenizer).count
        case .openAIEstimate: return try OpenAIChatEstimate.count(request, tokenizer: tokenizer).tokens
        }
    }

    /// The prompt's tokens and the messages' own.
    public func count(_ request: JinjaValue, tokenizer: Tokenizer, allowSpecial: Bool = false) throws(TokcError) -> (tokens: Int, contentTokens: Int) {
        if let prompt = try encode(request, tokenizer: tokenizer, allowSpecial: allowSpecial) { return (prompt.tokens, prompt.contentTokens) }
        return try OpenAIChatEstimate.count(request, tokenizer: tokenizer)
    }

    /// The prompt itself (nil for OpenAI's estimate, which has none). `allowSpecial` is for templates only: Mistral's
    /// and harmony's encodings never read a request's text for control tokens.
    public func encode(_ request: JinjaValue, tokenizer: Tokenizer, allowSpecial: Bool = false) throws(TokcError) -> ChatPrompt? {
        switch self {
        case .template(let template): return try template.encode(request, tokenizer: tokenizer, allowSpecial: allowSpecial)
        case .mistral(let encoding): return try encoding.encode(request, tokenizer: tokenizer)
        case .harmony: return try HarmonyChatEncoding.encode(request, tokenizer: tokenizer)
        case .openAIEstimate: return nil
        }
    }

    /// What renders the prompt, for reports: "mistral-v3" (Mistral's request encoding of that version), "harmony",
    /// or nil for a template (named by its caller) and OpenAI's estimate.
    public var encodingName: String? {
        switch self {
        case .mistral(let encoding): return "mistral-" + encoding.version.rawValue
        case .harmony: return "harmony"
        case .template, .openAIEstimate: return nil
        }
    }

    public var isApproximate: Bool {
        if case .openAIEstimate = self { return true }
        return false
    }

    /// Why a chat count is an estimate beyond its vocabulary (empty: it is not): OpenAI's rule; or, for a model
    /// counted with a vocabulary's shipped template rather than one the caller gave, that the template is its
    /// source model's chat format, not known to be `model`'s (Qwen 3 shares Qwen 2.5's vocabulary, not its template).
    /// Mistral's and harmony's encodings go with the tokenizer version the family rules give the model, so they
    /// carry no such caveat. `remedy` follows the template caveat where the caller can offer one (the CLI's `--template`).
    public func notes(model: String?, vocabulary: String, templateGiven: Bool, remedy: String? = nil) -> [String] {
        if isApproximate { return [OpenAIChatEstimate.note] }
        guard case .template = self, let model, !templateGiven else { return [] }
        return ["rendered with the \(vocabulary) vocabulary's shipped template, which may not be \(model)'s own chat format"
                + (remedy.map { "; \($0)" } ?? "")]
    }
}

extension VocabularyRegistry {
    /// How `vocabulary` counts chat requests: its chat template, its family's request encoding (Mistral, harmony),
    /// or OpenAI's estimate for OpenAI's vocabularies; an error naming the way out for the others.
    public func chatCounting(for vocabulary: String) throws(TokcError) -> ChatCounting {
        if let template = try chatTemplate(for: vocabulary) { return .template(template) }
        if let encoding = try ChatCounting.requestEncoding(for: vocabulary) { return encoding }
        if ChatCounting.openAIVocabularies.contains(vocabulary) { return .openAIEstimate }
        throw .invalidTemplate("vocabulary '\(vocabulary)' has no chat template of its own; pass --template FILE (a .jinja file or the model's tokenizer_config.json)")
    }
}
