/// The variables a chat template is rendered with, from an OpenAI chat-completions request, converted as
/// transformers serve converts one (`get_processor_inputs_from_messages` for text models) before it calls
/// `apply_chat_template`: tool-call `arguments` JSON strings become objects; a list of text parts becomes
/// their texts joined with " "; null content becomes ""; an assistant message with `tool_calls` loses its
/// content; only `role`, `content`, `tool_calls` and `tool_call_id` are kept (so `name` goes), and a key whose
/// value is null is dropped, as `apply_chat_template` drops it. `tools` is
/// passed as given, `add_generation_prompt` defaults to true, and the tokenizer's special-token strings
/// (`bos_token`, `eos_token`, …) are variables too.
public enum ChatTemplateInput {
    public static func variables(request: JinjaValue, specialTokens: [String: String] = [:]) throws -> [String: JinjaValue] {
        guard case .dictionary(let body) = request else { throw JinjaError.json("a chat request must be a JSON object") }
        guard case .array(let messages)? = body["messages"] else { throw JinjaError.json("a chat request needs a \"messages\" list") }
        var converted: [JinjaValue] = []
        for (index, message) in messages.enumerated() {
            guard case .dictionary(let fields) = message else { throw JinjaError.json("messages[\(index)] is not an object") }
            guard case .string(let role)? = fields["role"] else { throw JinjaError.json("messages[\(index)] has no \"role\" string") }
            // The commonest message, {"role": …, "content": "…"} in that order, is already what the conversion
            // makes: kept as it is, not rebuilt.
            if fields.hasKeys(inOrder: "role", "content"), case .string? = fields["content"] {
                converted.append(message)
                continue
            }
            // Key order as transformers builds the dict: role, content, tool_calls, tool_call_id.
            var out = JinjaDictionary()
            out["role"] = .string(role)
            out["content"] = .string("")
            let calls = fields["tool_calls"]
            if calls == nil {
                switch fields["content"] {
                case nil, .none?: break
                case .string(let text)?: out["content"] = .string(text)
                case .array(let parts)?:
                    var texts: [String] = []
                    for (partIndex, part) in parts.enumerated() {
                        guard case .dictionary(let partFields) = part, case .string(let type)? = partFields["type"] else {
                            throw JinjaError.json("messages[\(index)].content[\(partIndex)] is not a content part")
                        }
                        guard ["text", "input_text", "output_text"].contains(type), case .string(let text)? = partFields["text"] else {
                            throw JinjaError.json("messages[\(index)].content[\(partIndex)]: only text parts are counted, not '\(type)'")
                        }
                        texts.append(text)
                    }
                    out["content"] = .string(texts.joined(separator: " "))
                case let other?:
                    throw JinjaError.json("messages[\(index)].content is a \(other.typeName), not a string or a list of parts")
                }
            } else if case .array(let list)? = calls {
                // transformers serve keeps no content beside tool calls (it is "").
                var convertedCalls: [JinjaValue] = []
                for (callIndex, call) in list.enumerated() {
                    guard case .dictionary(var callFields) = call else {
                        throw JinjaError.json("messages[\(index)].tool_calls[\(callIndex)] is not an object")
                    }
                    let nested = callFields["function"].flatMap { value -> JinjaDictionary? in
                        if case .dictionary(let function) = value { return function } else { return nil }
                    }
                    var function = nested ?? callFields
                    if case .string(let arguments)? = function["arguments"] {
                        function["arguments"] = try JinjaValue.parseJSON(arguments, what: "messages[\(index)].tool_calls[\(callIndex)].function.arguments")
                    }
                    if nested != nil { callFields["function"] = .dictionary(function) } else { callFields = function }
                    convertedCalls.append(.dictionary(callFields))
                }
                out["tool_calls"] = .array(convertedCalls)
            } else if let calls, case .none = calls {
                // apply_chat_template drops keys whose value is None.
            } else {
                throw JinjaError.json("messages[\(index)].tool_calls is not a list")
            }
            if let callID = fields["tool_call_id"] {
                if case .none = callID {} else { out["tool_call_id"] = callID }
            }
            converted.append(.dictionary(out))
        }
        var variables: [String: JinjaValue] = ["messages": .array(converted)]
        if let tools = body["tools"], case .array(let list) = tools, !list.isEmpty { variables["tools"] = tools } else { variables["tools"] = JinjaValue.none }
        variables["add_generation_prompt"] = .bool(body["add_generation_prompt"]?.isTruthy ?? true)
        for (name, value) in specialTokens { variables[name] = .string(value) }
        return variables
    }
}
