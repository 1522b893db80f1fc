import TokcJinja

/// Mistral's chat request encoding, as mistral-common (1.13) encodes an OpenAI chat-completions request
/// (`ChatCompletionRequest.from_openai`, then `encode_chat_completion`) for its tokenizer versions v3
/// (SentencePiece `.model.v3`, and Tekken files of version v3) and v7. Mistral publishes no chat template
/// for these; the encoding is code, in four steps, each reproduced here:
///
/// 1. **Conversion**: `developer` becomes `system`; content is a string or text parts; a tool call keeps its
///    id (`"null"` when absent) and its arguments string.
/// 2. **Validation**, in the mode the references use: `finetuning` when the last message is the assistant's
///    (its reply is encoded with `</s>`), `test` otherwise. Role order, tool-call ids (`^[a-zA-Z0-9]{9}$`),
///    function names, and (v3) an assistant message with both content and tool calls are refused with
///    mistral-common's own messages. Not reproduced: its check that each tool's `parameters` is a valid
///    JSON Schema (draft 7).
/// 3. **Normalisation**: consecutive messages of one role are merged (texts joined with "\n\n"); v3 moves all
///    system messages into one system prompt (joined with "\n\n") and puts an empty user message first when
///    the first is not a user's; tool results and call arguments that are JSON are re-serialised (v3).
/// 4. **Encoding**: `<s>`, then per message: user `[INST]…[/INST]` (the last one also carries the tools as
///    `[AVAILABLE_TOOLS]…[/AVAILABLE_TOOLS]` before it and, v3, the system prompt inside it), assistant text
///    (trailing spaces cut) or `[TOOL_CALLS]` and JSON, then `</s>`; tool results as `[TOOL_RESULTS]` JSON
///    (v3) or `[TOOL_RESULTS] id [TOOL_CONTENT] text` (v7); v7 system messages as `[SYSTEM_PROMPT]…`. Each
///    text is encoded on its own, so a SentencePiece vocabulary gives each its own leading `▁`; text in a
///    request is never read for control tokens (`[INST]` in a message is text).
public struct MistralChatEncoding: Sendable, Equatable {
    public enum Version: String, Sendable, CaseIterable {
        case v3, v7
    }

    public let version: Version

    public init(version: Version) {
        self.version = version
    }

    /// The prompt `request` encodes to: ids, the text mistral-common shows for them (`Tokenized.text`:
    /// SentencePiece pieces as they are, `▁` and `<0x0A>` included; Tekken's decoded text with its control
    /// tokens), and the contents' own tokens.
    public func encode(_ request: JinjaValue, tokenizer: Tokenizer) throws(TokcError) -> ChatPrompt {
        let ids = try ids(request, tokenizer: tokenizer)
        return ChatPrompt(text: Self.text(of: ids, tokenizer: tokenizer), ids: ids,
                          contentTokens: tokenizer.count(ChatTemplate.rawContents(request)))
    }

    /// The prompt's ids alone.
    public func ids(_ request: JinjaValue, tokenizer: Tokenizer) throws(TokcError) -> [TokenID] {
        let (messages, tools) = try Self.convert(request)
        let finetuning = messages.last.map { if case .assistant = $0 { true } else { false } } ?? false
        try validate(messages, tools: tools, finetuning: finetuning)
        let (normalized, systemPrompt) = normalize(messages)
        return try encodeInstruct(normalized, systemPrompt: systemPrompt, tools: tools, tokenizer: tokenizer)
    }

    // MARK: 1. The request, as from_openai converts it

    /// A message's content: a string, or the texts of its text parts.
    enum Content: Equatable {
        case text(String)
        case parts([String])

        /// Python's truth of the content (a list of empty parts is true).
        var isTruthy: Bool {
            switch self {
            case .text(let text): return !text.isEmpty
            case .parts(let parts): return !parts.isEmpty
            }
        }

        var pieces: [String] {
            switch self {
            case .text(let text): return [text]
            case .parts(let parts): return parts
            }
        }
    }

    struct ToolCall: Equatable {
        var id: String
        var name: String
        var arguments: String
    }

    enum Message: Equatable {
        case system(Content)
        case user(Content)
        case assistant(Content?, [ToolCall]?)
        case tool(Content, callID: String?, name: String?)

        var role: String {
            switch self {
            case .system: return "system"
            case .user: return "user"
            case .assistant: return "assistant"
            case .tool: return "tool"
            }
        }
    }

    static func convert(_ request: JinjaValue) throws(TokcError) -> ([Message], [JinjaValue]?) {
        guard case .dictionary(let body) = request else { throw .invalidRequest("a chat request must be a JSON object") }
        guard case .array(let list)? = body["messages"] else { throw .invalidRequest("a chat request needs a \"messages\" list") }
        var messages: [Message] = []
        for (index, item) in list.enumerated() {
            guard case .dictionary(let fields) = item else { throw .invalidRequest("messages[\(index)] is not an object") }
            guard case .string(let role)? = fields["role"] else { throw .invalidRequest("messages[\(index)] has no \"role\" string") }
            let content = try Self.content(fields["content"], at: index)
            switch role {
            case "system", "developer", "user":
                guard let content else {
                    throw .invalidRequest("messages[\(index)]: a \(role) message needs content (a string or a list of text parts)")
                }
                messages.append(role == "user" ? .user(content) : .system(content))
            case "assistant":
                var calls: [ToolCall]?
                switch fields["tool_calls"] {
                case nil, .none?: calls = nil
                case .array(let items)?: calls = try items.enumerated().map { (callIndex, call) throws(TokcError) in try Self.toolCall(call, at: "messages[\(index)].tool_calls[\(callIndex)]") }
                default: throw .invalidRequest("messages[\(index)].tool_calls is not a list")
                }
                messages.append(.assistant(content, calls))
            case "tool":
                guard let content else { throw .invalidRequest("messages[\(index)]: a tool message needs content") }
                guard let callID = fields["tool_call_id"] else { throw .invalidRequest("messages[\(index)]: a tool message needs \"tool_call_id\"") }
                messages.append(.tool(content, callID: try Self.optionalString(callID, at: "messages[\(index)].tool_call_id"),
                                      name: try Self.optionalString(fields["name"] ?? .none, at: "messages[\(index)].name")))
            default:
                throw .templateRefused("Unknown message role: \(role)")
            }
        }
        var tools: [JinjaValue]?
        switch body["tools"] {
        case nil, .none?: tools = nil
        case .array(let items)?: tools = try items.enumerated().map { (toolIndex, tool) throws(TokcError) in try Self.tool(tool, at: toolIndex) }
        default: throw .invalidRequest("\"tools\" is not a list")
        }
        return (messages, tools)
    }

    private static func content(_ value: JinjaValue?, at index: Int) throws(TokcError) -> Content? {
        switch value {
        case nil, .none?: return nil
        case .string(let text)?: return .text(text)
        case .array(let parts)?:
            var texts: [String] = []
            for (partIndex, part) in parts.enumerated() {
                guard case .dictionary(let fields) = part, case .string("text")? = fields["type"], case .string(let text)? = fields["text"] else {
                    throw .invalidRequest("messages[\(index)].content[\(partIndex)]: only text parts are counted")
                }
                texts.append(text)
            }
            return .parts(texts)
        case let other?:
            throw .invalidRequest("messages[\(index)].content is a \(PythonTypeName.of(other)), not a string or a list of parts")
        }
    }

    private static func optionalString(_ value: JinjaValue, at path: String) throws(TokcError) -> String? {
        switch value {
        case .none: return nil
        case .string(let text): return text
        default: throw .invalidRequest("\(path) is not a string")
        }
    }

    private static func toolCall(_ value: JinjaValue, at path: String) throws(TokcError) -> ToolCall {
        guard case .dictionary(let fields) = value, case .dictionary(let function)? = fields["function"],
              case .string(let name)? = function["name"] else {
            throw .invalidRequest("\(path): a tool call needs function.name")
        }
        var arguments: String
        switch function["arguments"] {
        case nil, .none?: arguments = "{}"
        case .string(let text)?: arguments = text
        case .dictionary(let object)?:
            // FunctionCall's validator writes a mapping with json.dumps' defaults (ASCII escapes).
            arguments = try Self.json(.dictionary(object), asciiOnly: true)
        default: throw .invalidRequest("\(path).function.arguments is not a string")
        }
        return ToolCall(id: try optionalString(fields["id"] ?? .none, at: "\(path).id") ?? "null", name: name, arguments: arguments)
    }

    /// A tool as `Tool.from_openai` keeps it and `model_dump` (without `strict`) writes it.
    private static func tool(_ value: JinjaValue, at index: Int) throws(TokcError) -> JinjaValue {
        guard case .dictionary(let fields) = value, case .dictionary(let function)? = fields["function"],
              case .string(let name)? = function["name"] else {
            throw .invalidRequest("tools[\(index)]: a tool needs function.name")
        }
        var description = ""
        switch function["description"] {
        case nil, .none?: break
        case .string(let text)?: description = text
        default: throw .invalidRequest("tools[\(index)].function.description is not a string")
        }
        var parameters = JinjaValue.dictionary(JinjaDictionary())
        switch function["parameters"] {
        case nil, .none?: break
        case .dictionary(let schema)?: parameters = .dictionary(schema)
        default: throw .invalidRequest("tools[\(index)].function.parameters is not an object")
        }
        return .dictionary([("type", .string("function")),
                            ("function", .dictionary([("name", .string(name)), ("description", .string(description)),
                                                      ("parameters", parameters)]))])
    }

    // MARK: 2. Validation (MistralRequestValidatorV3 for v3, V5 for v7)

    private func validate(_ messages: [Message], tools: [JinjaValue]?, finetuning: Bool) throws(TokcError) {
        guard let last = messages.last else { throw .templateRefused("Conversation must have at least one message") }
        if messages.count == 1, !["user", "system"].contains(last.role) {
            throw .templateRefused("Conversation must start with a user message or system message")
        }
        if finetuning || messages.count > 1 {
            if !finetuning, case .assistant = last {
                throw .templateRefused("Expected last role User or Tool (or Assistant with prefix) for serving but got assistant")
            }
            if finetuning, case .assistant(_, let calls?) = last {
                for call in calls { try validate(call, isLastMessage: true, finetuning: finetuning) }
            }
        }
        let allowed: [String: Set<String>] = ["system": ["user", "assistant", "system"], "user": ["assistant", "system", "user"],
                                              "assistant": ["assistant", "user", "tool"], "tool": ["assistant", "tool", "user"]]
        for (previous, current) in zip(messages, messages.dropFirst()) where !(allowed[previous.role]?.contains(current.role) ?? false) {
            throw .templateRefused("Unexpected role '\(current.role)' after role '\(previous.role)'")
        }
        // Every assistant's tool calls answered by as many tool messages before the next assistant message (the
        // first message is not looked at, as mistral-common skips it).
        var expectedResults = 0
        for message in messages.dropFirst() {
            switch message {
            case .tool: expectedResults -= 1
            case .assistant(_, let calls):
                if expectedResults != 0 { throw .templateRefused("Not the same number of function calls and responses") }
                if let calls { expectedResults = calls.count }
            default: break
            }
        }
        if finetuning && expectedResults < 0 { throw .templateRefused("More tool responses than tool calls") }
        for (index, message) in messages.enumerated() {
            switch message {
            case .assistant(let content, let calls):
                if version == .v3 && (content?.isTruthy ?? false) == !(calls ?? []).isEmpty {
                    throw .templateRefused("Assistant message must have either content or tool_calls, but not both.")
                }
                for call in calls ?? [] { try validate(call, isLastMessage: index == messages.count - 1, finetuning: finetuning) }
            case .tool(_, let callID, let name):
                if let name, !Self.isFunctionName(name) { throw .templateRefused(Self.functionNameMessage(name)) }
                guard let callID else { throw .templateRefused("Tool call id has to be defined.") }
                if !Self.isCallID(callID) { throw .templateRefused(Self.callIDMessage(callID)) }
            case .system, .user: break
            }
        }
        for tool in tools ?? [] {
            if case .dictionary(let fields) = tool, case .dictionary(let function)? = fields["function"],
               case .string(let name)? = function["name"], !Self.isFunctionName(name) {
                throw .templateRefused(Self.functionNameMessage(name))
            }
        }
    }

    private func validate(_ call: ToolCall, isLastMessage: Bool, finetuning: Bool) throws(TokcError) {
        if call.id == "null" {
            if !finetuning {
                throw .templateRefused("Tool call id 'null' is only allowed for the last assistant message in finetuning mode.")
            }
            if !isLastMessage {
                throw .templateRefused("Tool call id of assistant message that is not last has to be defined in finetuning mode.")
            }
        } else if !Self.isCallID(call.id) {
            throw .templateRefused(Self.callIDMessage(call.id))
        }
        if !Self.isFunctionName(call.name) { throw .templateRefused(Self.functionNameMessage(call.name)) }
    }

    /// `re.match(r"^[a-zA-Z0-9]{9}$", id)` (Python's `$` also matches before one final newline).
    static func isCallID(_ id: String) -> Bool {
        let bytes = Self.droppingFinalNewline(id)
        return bytes.count == 9 && bytes.allSatisfy(Self.isAlphanumeric)
    }

    /// `re.match(r"^[a-zA-Z0-9_-]{1,64}$", name)`.
    static func isFunctionName(_ name: String) -> Bool {
        let bytes = Self.droppingFinalNewline(name)
        return (1...64).contains(bytes.count) && bytes.allSatisfy { Self.isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    private static func droppingFinalNewline(_ text: String) -> ArraySlice<UInt8> {
        let bytes = ArraySlice(text.utf8)
        return bytes.last == 0x0A ? bytes.dropLast() : bytes
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
    }

    static func callIDMessage(_ id: String) -> String { "Tool call id was \(id) but must be a-z, A-Z, 0-9, with a length of 9." }

    static func functionNameMessage(_ name: String) -> String {
        "Function name was \(name) but must be a-z, A-Z, 0-9, or contain underscores and dashes, with a maximum length of 64."
    }

    // MARK: 3. Normalisation (InstructRequestNormalizer, V7)

    enum Normalized {
        case system(String)
        case user(String)
        case assistant(String, [ToolCall]?)
        case tool(String, callID: String)

        var isUser: Bool { if case .user = self { true } else { false } }
    }

    /// The texts of `contents` (strings and parts alike) that are not empty, joined with "\n\n".
    private static func joined(_ contents: [Content?]) -> String {
        contents.flatMap { $0?.pieces ?? [] }.filter { !$0.isEmpty }.joined(separator: "\n\n")
    }

    private func normalize(_ messages: [Message]) -> ([Normalized], systemPrompt: String?) {
        var systemPrompt: String?
        if version == .v3 {
            var prompts: [String] = []
            for case .system(let content) in messages where content.isTruthy { prompts.append(Self.joined([content])) }
            systemPrompt = prompts.isEmpty ? nil : prompts.joined(separator: "\n\n")
        }
        var normalized: [Normalized] = []
        var start = 0
        while start < messages.count {
            var end = start + 1
            while end < messages.count && messages[end].role == messages[start].role { end += 1 }
            let group = messages[start..<end]
            switch group.first! {
            case .user:
                normalized.append(.user(Self.joined(group.map { if case .user(let content) = $0 { content } else { nil } })))
            case .system:
                if version == .v7 {
                    for case .system(let content) in group { normalized.append(.system(Self.joined([content]))) }
                }
            case .assistant:
                var calls: [ToolCall] = []
                var contents: [Content?] = []
                for case .assistant(let content, let messageCalls) in group {
                    contents.append(content)
                    for var call in messageCalls ?? [] {
                        call.arguments = Self.normalizedJSON(call.arguments)
                        calls.append(call)
                    }
                }
                normalized.append(.assistant(Self.joined(contents), calls.isEmpty ? nil : calls))
            case .tool:
                for case .tool(let content, let callID, _) in group {
                    let text = Self.joined([content])
                    // The validator has refused a tool message without an id.
                    normalized.append(.tool(version == .v3 ? Self.normalizedJSON(text) : text, callID: callID ?? ""))
                }
            }
            start = end
        }
        if normalized.isEmpty || (version == .v3 && !normalized[0].isUser) { normalized.insert(.user(""), at: 0) }
        return (normalized, systemPrompt)
    }

    /// `_normalize_json_content`: "" becomes "{}", JSON is written again (`json.dumps(..., ensure_ascii=False)`),
    /// anything else stays as it is.
    private static func normalizedJSON(_ text: String) -> String {
        if text.isEmpty { return "{}" }
        guard let value = try? JinjaValue.parseJSON(text), let written = try? json(value, asciiOnly: false) else { return text }
        return written
    }

    /// `_parse_json_content`: the JSON value of `text`, or the string itself.
    private static func parsedJSON(_ text: String) -> JinjaValue {
        (try? JinjaValue.parseJSON(text)) ?? .string(text)
    }

    private static func json(_ value: JinjaValue, asciiOnly: Bool) throws(TokcError) -> String {
        do {
            return try value.pythonJSON(asciiOnly: asciiOnly)
        } catch {
            throw .invalidRequest("\(error)")
        }
    }

    // MARK: 4. Encoding (InstructTokenizerV3, V7)

    private struct Controls {
        let bos, eos, beginInstruction, endInstruction, toolCalls, beginTools, endTools, beginResults, endResults: TokenID
        let beginSystem, endSystem, toolContent: TokenID?

        init(_ tokenizer: Tokenizer, version: Version) throws(TokcError) {
            func id(_ text: String) throws(TokcError) -> TokenID {
                guard let id = tokenizer.specialTokens.id(of: text) else {
                    throw .invalidTemplate("vocabulary '\(tokenizer.name)' has no \(text) control token, so it is not a Mistral \(version.rawValue) tokenizer")
                }
                return id
            }
            bos = try id("<s>"); eos = try id("</s>")
            beginInstruction = try id("[INST]"); endInstruction = try id("[/INST]")
            toolCalls = try id("[TOOL_CALLS]")
            beginTools = try id("[AVAILABLE_TOOLS]"); endTools = try id("[/AVAILABLE_TOOLS]")
            beginResults = try id("[TOOL_RESULTS]"); endResults = try id("[/TOOL_RESULTS]")
            if version == .v7 {
                beginSystem = try id("[SYSTEM_PROMPT]"); endSystem = try id("[/SYSTEM_PROMPT]"); toolContent = try id("[TOOL_CONTENT]")
            } else {
                beginSystem = nil; endSystem = nil; toolContent = nil
            }
        }
    }

    private func encodeInstruct(_ messages: [Normalized], systemPrompt: String?, tools: [JinjaValue]?,
                                tokenizer: Tokenizer) throws(TokcError) -> [TokenID] {
        let controls = try Controls(tokenizer, version: version)
        let text = { (text: String) in tokenizer.encode(text) }
        let lastUser = messages.lastIndex { $0.isUser }
        var ids = [controls.bos]
        for (index, message) in messages.enumerated() {
            switch message {
            case .user(let content):
                let isLast = index == lastUser
                if isLast, let tools, !tools.isEmpty {
                    ids.append(controls.beginTools)
                    ids += text(try Self.json(.array(tools), asciiOnly: false))
                    ids.append(controls.endTools)
                }
                ids.append(controls.beginInstruction)
                if isLast, let systemPrompt { ids += text(systemPrompt + "\n\n" + content) } else { ids += text(content) }
                ids.append(controls.endInstruction)
            case .system(let content):
                // Only v7 keeps system messages (v3 has made them the system prompt).
                if let begin = controls.beginSystem, let end = controls.endSystem { ids += [begin] + text(content) + [end] }
            case .tool(let content, let callID):
                if version == .v3 {
                    let result = JinjaValue.dictionary([("content", Self.parsedJSON(content)), ("call_id", .string(callID))])
                    ids += [controls.beginResults] + text(try Self.json(result, asciiOnly: false)) + [controls.endResults]
                } else if let toolContent = controls.toolContent {
                    ids += [controls.beginResults] + text(callID) + [toolContent] + text(content) + [controls.endResults]
                }
            case .assistant(let content, let calls):
                switch version {
                case .v3:
                    if let calls, !content.isEmpty {
                        // Merged from consecutive assistant messages; mistral-common's message shows the merged message.
                        let described = calls.map { call in
                            "ToolCall(id=\(JinjaValue.string(call.id).pythonRepr), type='function', function=FunctionCall(name=\(JinjaValue.string(call.name).pythonRepr), arguments=\(JinjaValue.string(call.arguments).pythonRepr)))"
                        }
                        throw .templateRefused("Cannot have tool calls and content defined in the same assistant message role='assistant' content=\(JinjaValue.string(content).pythonRepr) tool_calls=[\(described.joined(separator: ", "))] prefix=False")
                    }
                    if let calls {
                        ids += try toolCallIDs(calls, controls: controls, tokenizer: tokenizer)
                    } else if !content.isEmpty {
                        ids += text(Self.droppingTrailingSpaces(content))
                    } else {
                        throw .templateRefused("Invalid assistant message: ")
                    }
                case .v7:
                    if content.isEmpty && calls == nil {
                        throw .templateRefused("Invalid assistant message: role='assistant' content=\(JinjaValue.string(content).pythonRepr) tool_calls=None prefix=False")
                    }
                    if !content.isEmpty { ids += text(Self.droppingTrailingSpaces(content)) }
                    if let calls { ids += try toolCallIDs(calls, controls: controls, tokenizer: tokenizer) }
                }
                ids.append(controls.eos)
            }
        }
        return ids
    }

    private func toolCallIDs(_ calls: [ToolCall], controls: Controls, tokenizer: Tokenizer) throws(TokcError) -> [TokenID] {
        let prepared: [JinjaValue] = calls.map { call in
            var fields: [(String, JinjaValue)] = [("name", .string(call.name)), ("arguments", Self.parsedJSON(call.arguments))]
            if !call.id.isEmpty && call.id != "null" { fields.append(("id", .string(call.id))) }
            return .dictionary(fields)
        }
        return [controls.toolCalls] + tokenizer.encode(try Self.json(.array(prepared), asciiOnly: false))
    }

    /// `str.rstrip(" ")`.
    private static func droppingTrailingSpaces(_ text: String) -> String {
        var bytes = Array(text.utf8)
        while bytes.last == 0x20 { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `Tokenized.text`: a SentencePiece vocabulary's pieces as they are; otherwise (Tekken) each run of ordinary
    /// ids decoded (ill-formed UTF-8 as U+FFFD) and each control token by its text.
    static func text(of ids: [TokenID], tokenizer: Tokenizer) -> String {
        if let sentencePiece = tokenizer.detokenizer.sentencePiece {
            var bytes: [UInt8] = []
            for id in ids where Int(id) < sentencePiece.pieces.count { bytes += sentencePiece.pieces[Int(id)] }
            return String(decoding: bytes, as: UTF8.self)
        }
        var text = ""
        var run: [UInt8] = []
        for id in ids {
            if let special = tokenizer.specialTokens.bytes(of: id) {
                text += String(decoding: run, as: UTF8.self)
                run.removeAll(keepingCapacity: true)
                text += String(decoding: special, as: UTF8.self)
            } else {
                _ = tokenizer.appendBytes(of: id, to: &run)
            }
        }
        return text + String(decoding: run, as: UTF8.self)
    }
}
