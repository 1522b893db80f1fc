import TokcJinja

/// gpt-oss's prompt format, harmony, as openai-harmony (0.0.8, `HARMONY_GPT_OSS`) renders a conversation, with an
/// OpenAI chat request mapped onto harmony messages as the harmony guide describes:
///
/// - first a system message with harmony's defaults (`SystemContent.new()`: model identity, knowledge cutoff
///   2024-06, reasoning medium, the channels analysis/commentary/final; no date, so the prompt is the same
///   every day), plus "Calls to these tools must go to the commentary channel: 'functions'." when there are tools;
/// - a leading system or developer message becomes a developer message `# Instructions`, and the request's
///   tools go into that developer message as a TypeScript-like `namespace functions` (harmony's rendering of
///   the JSON schemas); a later system or developer message becomes another developer message in place;
/// - user messages as they are (each text part on its own); an assistant reply on channel `final`; an
///   assistant's tool calls as a `commentary` preamble (its text, if any) and one message per call to
///   `functions.<name>` with content type `json` and the arguments verbatim, ended by `<|call|>`; a tool result
///   from `functions.<name of the call with that id>` to the assistant on `commentary`;
/// - then `<|start|>assistant` when a reply is wanted (`add_generation_prompt`, default true).
///
/// Every piece of text (role, recipient, channel, content type, each content) is encoded on its own with
/// o200k_base's ordinary encoding, as harmony does; the formatting tokens are control ids. Text in a request is
/// never read for control tokens.
public enum HarmonyChatEncoding {
    public static func encode(_ request: JinjaValue, tokenizer: Tokenizer) throws(TokcError) -> ChatPrompt {
        let ids = try ids(request, tokenizer: tokenizer)
        let text = String(decoding: try tokenizer.decode(ids), as: UTF8.self)
        return ChatPrompt(text: text, ids: ids, contentTokens: tokenizer.count(ChatTemplate.rawContents(request)))
    }

    public static func ids(_ request: JinjaValue, tokenizer: Tokenizer) throws(TokcError) -> [TokenID] {
        guard case .dictionary(let body) = request else { throw .invalidRequest("a chat request must be a JSON object") }
        guard case .array(let list)? = body["messages"] else { throw .invalidRequest("a chat request needs a \"messages\" list") }
        var tools: [JinjaValue] = []
        switch body["tools"] {
        case nil, .none?: break
        case .array(let items)?: tools = items
        default: throw .invalidRequest("\"tools\" is not a list")
        }
        var renderer = try Renderer(tokenizer: tokenizer)
        renderer.message(role: "system", content: [systemText(hasFunctionTools: !tools.isEmpty)])

        var index = 0
        var instructions: String?
        if case .dictionary(let first)? = list.first, case .string(let role)? = first["role"], role == "system" || role == "developer" {
            instructions = ChatTemplate.contentText(first["content"] ?? .none)
            index = 1
        }
        if instructions != nil || !tools.isEmpty {
            renderer.message(role: "developer", content: [try developerText(instructions: instructions, tools: tools)])
        }
        var callNames: [String: String] = [:]
        while index < list.count {
            defer { index += 1 }
            guard case .dictionary(let fields) = list[index] else { throw .invalidRequest("messages[\(index)] is not an object") }
            guard case .string(let role)? = fields["role"] else { throw .invalidRequest("messages[\(index)] has no \"role\" string") }
            let content = fields["content"] ?? .none
            switch role {
            case "system", "developer":
                renderer.message(role: "developer", content: [try developerText(instructions: ChatTemplate.contentText(content), tools: [])])
            case "user":
                renderer.message(role: "user", content: textContents(content))
            case "assistant":
                guard case .array(let calls)? = fields["tool_calls"], !calls.isEmpty else {
                    renderer.message(role: "assistant", channel: "final", content: textContents(content))
                    continue
                }
                if !ChatTemplate.contentText(content).isEmpty {
                    renderer.message(role: "assistant", channel: "commentary", content: textContents(content))
                }
                for (callIndex, call) in calls.enumerated() {
                    guard case .dictionary(let callFields) = call, case .dictionary(let function)? = callFields["function"],
                          case .string(let name)? = function["name"], case .string(let arguments)? = function["arguments"] else {
                        throw .invalidRequest("messages[\(index)].tool_calls[\(callIndex)]: each call needs function.name and function.arguments strings")
                    }
                    if case .string(let id)? = callFields["id"] { callNames[id] = name }
                    renderer.message(role: "assistant", recipient: "functions." + name, channel: "commentary", contentType: "json",
                                     content: [arguments])
                }
            case "tool":
                var callID = ""
                if case .string(let id)? = fields["tool_call_id"] { callID = id }
                guard let name = callNames[callID] else {
                    throw .templateRefused("tool message '\(callID)' has no matching earlier tool call, so its harmony author functions.<name> is unknown")
                }
                renderer.message(role: "tool", name: "functions." + name, recipient: "assistant", channel: "commentary",
                                 content: [ChatTemplate.contentText(content)])
            default:
                throw .templateRefused("unknown role '\(role)'")
            }
        }
        if body["add_generation_prompt"]?.isTruthy ?? true {
            renderer.ids.append(renderer.start)
            renderer.text("assistant")
        }
        return renderer.ids
    }

    /// A user's or assistant's content: a string, or one text per text part (harmony renders each on its own).
    private static func textContents(_ content: JinjaValue) -> [String] {
        guard case .array(let parts) = content else { return [ChatTemplate.contentText(content)] }
        return parts.compactMap { part in
            guard case .dictionary(let fields) = part, case .string("text")? = fields["type"] else { return nil }
            if case .string(let text)? = fields["text"] { return text }
            return ""
        }
    }

    private struct Renderer {
        let tokenizer: Tokenizer
        let start, message, end, call, channel: TokenID
        var ids: [TokenID] = []

        init(tokenizer: Tokenizer) throws(TokcError) {
            self.tokenizer = tokenizer
            func id(_ text: String) throws(TokcError) -> TokenID {
                guard let id = tokenizer.specialTokens.id(of: text) else {
                    throw .invalidTemplate("vocabulary '\(tokenizer.name)' has no \(text) token, so it cannot encode harmony (use o200k_harmony)")
                }
                return id
            }
            start = try id("<|start|>"); message = try id("<|message|>"); end = try id("<|end|>")
            call = try id("<|call|>"); channel = try id("<|channel|>")
        }

        mutating func text(_ text: String) {
            ids += tokenizer.encode(text)
        }

        /// `<|start|>role[:name] to=recipient<|channel|>channel contentType<|message|>contents<|end|>` (a tool's
        /// messages name the tool in place of the role; an assistant's message to a recipient ends with `<|call|>`).
        mutating func message(role: String, name: String? = nil, recipient: String? = nil, channel channelName: String? = nil,
                              contentType: String? = nil, content: [String]) {
            ids.append(start)
            text(role == "tool" ? (name ?? "") : role)
            if let recipient, recipient != "all" { text(" to=" + recipient) }
            if let channelName {
                ids.append(channel)
                text(channelName)
            }
            if let contentType { text(" " + contentType) }
            ids.append(message)
            for piece in content { text(piece) }
            ids.append(role == "assistant" && recipient != nil ? call : end)
        }
    }

    // MARK: Harmony's system and developer texts

    static func systemText(hasFunctionTools: Bool) -> String {
        var channels = "# Valid channels: analysis, commentary, final. Channel must be included for every message."
        if hasFunctionTools { channels += "\nCalls to these tools must go to the commentary channel: 'functions'." }
        return ["You are ChatGPT, a large language model trained by OpenAI.\nKnowledge cutoff: 2024-06", "Reasoning: medium", channels]
            .joined(separator: "\n\n")
    }

    static func developerText(instructions: String?, tools: [JinjaValue]) throws(TokcError) -> String {
        var sections: [String] = []
        if let instructions { sections += ["# Instructions", instructions] }
        if !tools.isEmpty { sections.append(try toolsSection(tools)) }
        return sections.joined(separator: "\n\n")
    }

    /// The `# Tools` section of one namespace, `functions`, holding the request's tools.
    static func toolsSection(_ tools: [JinjaValue]) throws(TokcError) -> String {
        var lines = ["## functions\n", "namespace functions {\n"]
        for (index, tool) in tools.enumerated() {
            guard case .dictionary(let fields) = tool, case .dictionary(let function)? = fields["function"],
                  case .string(let name)? = function["name"] else {
                throw .invalidRequest("tools[\(index)]: a tool needs function.name")
            }
            var description = ""
            if case .string(let text)? = function["description"] { description = text }
            for line in rustLines(description) { lines.append("// " + line) }
            switch function["parameters"] {
            case nil, .none?: lines.append("type \(name) = () => any;\n")
            case let parameters?: lines.append("type \(name) = (_: \(typeScript(parameters, indent: ""))) => any;\n")
            }
        }
        lines.append("} // namespace functions")
        return ["# Tools", lines.joined(separator: "\n")].joined(separator: "\n\n")
    }

    /// Rust's `str::lines`: split at "\n", a "\r" before it dropped, no empty last line.
    static func rustLines(_ text: String) -> [String] {
        // On bytes: Swift's Character would take "\r\n" as one.
        let bytes = Array(text.utf8)
        var lines: [String] = []
        var start = 0
        for (index, byte) in bytes.enumerated() where byte == 0x0A {
            let end = index > start && bytes[index - 1] == 0x0D ? index - 1 : index
            lines.append(String(decoding: bytes[start..<end], as: UTF8.self))
            start = index + 1
        }
        if start < bytes.count { lines.append(String(decoding: bytes[start...], as: UTF8.self)) }
        return lines
    }

    /// Harmony's rendering of a JSON schema as a TypeScript type (`json_schema_to_typescript`), its layout included.
    static func typeScript(_ schema: JinjaValue, indent: String) -> String {
        let object = schema.object
        if case .array(let variants)? = object?["oneOf"] {
            var output = ""
            for variant in variants {
                output += "\n\(indent) | "
                output += nullable(typeScript(variant, indent: indent + "   "), variant)
                var comments: [String] = []
                if case .string(let description)? = variant.object?["description"] { comments.append(description) }
                // Here (unlike in a property) an enum's string default keeps its JSON quotes.
                if let fallback = variant.object?["default"] {
                    if case .string(let text) = fallback, !isEnum(variant) { comments.append("default: \"\(text)\"") } else {
                        comments.append("default: " + compactJSON(fallback))
                    }
                }
                if !comments.isEmpty { output += " // " + comments.joined(separator: " ") }
            }
            return output
        }
        if case .array(let types)? = object?["type"] {
            let names = types.compactMap { type -> String? in
                guard case .string(let name) = type else { return nil }
                return name == "integer" ? "number" : name
            }
            if !names.isEmpty { return names.joined(separator: " | ") }
        }
        guard case .string(let type)? = object?["type"] else { return "any" }
        switch type {
        case "object":
            var output = ""
            if case .string(let description)? = object?["description"] { output += "\(indent)// \(description)\n" }
            output += "{\n"
            if case .dictionary(let properties)? = object?["properties"] {
                var required: Set<String> = []
                if case .array(let names)? = object?["required"] {
                    for case .string(let name) in names { required.insert(name) }
                }
                for (key, property) in properties.pairs {
                    let fields = property.object
                    let optional = required.contains(key) ? "" : "?"
                    if case .string(let title)? = fields?["title"] { output += "\(indent)// \(title)\n\(indent)//\n" }
                    let variants: [JinjaValue]? = { if case .array(let list)? = fields?["oneOf"] { list } else { nil } }()
                    if fields?["oneOf"] == nil, case .string(let description)? = fields?["description"] {
                        output += "\(indent)// \(description)\n"
                    }
                    if case .array(let examples)? = fields?["examples"], !examples.isEmpty {
                        output += "\(indent)// Examples:\n"
                        for case .string(let example) in examples { output += "\(indent)// - \"\(example)\"\n" }
                    }
                    if let variants {
                        output += oneOfProperty(key: key, optional: optional, property: property, variants: variants, indent: indent)
                        continue
                    }
                    output += "\(indent)\(key)\(optional): "
                    output += nullable(typeScript(property, indent: indent + "    "), property) + ","
                    if let fallback = fields?["default"] { output += " // " + defaultComment(fallback, schema: property) }
                    output += "\n"
                }
            }
            return output + "\(indent)}"
        case "string":
            if case .array(let values)? = object?["enum"] {
                let quoted = values.compactMap { value -> String? in
                    if case .string(let text) = value { return "\"\(text)\"" }
                    return nil
                }
                if !quoted.isEmpty { return quoted.joined(separator: " | ") }
            }
            return "string"
        case "number", "integer": return "number"
        case "boolean": return "boolean"
        case "array":
            if let items = object?["items"] { return typeScript(items, indent: indent) + "[]" }
            return "Array<any>"
        default: return "any"
        }
    }

    /// A property whose schema is a `oneOf`: its comments above it, its name, then one line per variant.
    private static func oneOfProperty(key: String, optional: String, property: JinjaValue, variants: [JinjaValue],
                                      indent: String) -> String {
        var output = ""
        var propertyDescription: String?
        if case .string(let description)? = property.object?["description"] { propertyDescription = description }
        var firstVariantDescription: String?
        if case .string(let description)? = variants.first?.object?["description"] { firstVariantDescription = description }
        var describedAbove = false
        if let propertyDescription, propertyDescription != firstVariantDescription {
            output += "\(indent)// \(propertyDescription)\n"
            describedAbove = true
        }
        if let fallback = property.object?["default"] { output += "\(indent)// " + defaultComment(fallback, schema: property) + "\n" }
        output += "\(indent)\(key)\(optional):\n"
        for (index, variant) in variants.enumerated() {
            output += "\(indent) | " + nullable(typeScript(variant, indent: indent + "   "), variant)
            var comments: [String] = []
            if !(index == 0 && describedAbove), case .string(let description)? = variant.object?["description"],
               description != propertyDescription {
                comments.append(description)
            }
            if let fallback = variant.object?["default"] { comments.append(defaultComment(fallback, schema: variant)) }
            if !comments.isEmpty { output += " // " + comments.joined(separator: " ") }
            output += "\n"
        }
        return output + "\(indent),\n"
    }

    /// `T | null` for a schema marked `nullable` (unless `T` already says null).
    private static func nullable(_ type: String, _ schema: JinjaValue) -> String {
        guard case .bool(true)? = schema.object?["nullable"], !type.contains("null") else { return type }
        return type + " | null"
    }

    /// `default: "text"` for a string default (bare when the schema is an enum), the JSON value otherwise.
    private static func defaultComment(_ value: JinjaValue, schema: JinjaValue) -> String {
        if case .string(let text) = value { return isEnum(schema) ? "default: \(text)" : "default: \"\(text)\"" }
        return "default: " + compactJSON(value)
    }

    private static func isEnum(_ schema: JinjaValue) -> Bool {
        if case .array(let values)? = schema.object?["enum"] { return !values.isEmpty }
        return false
    }

    /// serde_json's compact `Display` of a value (no spaces; floats in ryu's shortest form).
    static func compactJSON(_ value: JinjaValue) -> String {
        switch value {
        case .none, .undefined, .namespace, .callable: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .int(let number): return String(number)
        case .double(let number): return number.isFinite ? ShortestDecimal(number).ryuText : "null"
        case .string:
            // The same escapes as Python's json.dumps without ASCII escaping: `\b`, `\f`, `\n`, `\r`, `\t`, `\uXXXX`.
            return (try? value.pythonJSON(asciiOnly: false)) ?? "null"
        case .array(let values): return "[" + values.map(compactJSON).joined(separator: ",") + "]"
        case .dictionary(let dictionary):
            return "{" + dictionary.pairs.map { compactJSON(.string($0.0)) + ":" + compactJSON($0.1) }.joined(separator: ",") + "}"
        }
    }
}

private extension JinjaValue {
    var object: JinjaDictionary? {
        if case .dictionary(let dictionary) = self { return dictionary }
        return nil
    }
}
