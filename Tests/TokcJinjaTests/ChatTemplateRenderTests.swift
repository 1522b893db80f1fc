import Foundation
import Testing
import Tokc
import TokcJinja
import TokcTestSupport

/// Real chat templates on the public conversations, against transformers' renders
/// (`../shared/reference/chat/renders/<template>.jsonl`, made by transformers 5.23.0's `apply_chat_template`
/// after its `transformers serve` conversion of each OpenAI request): the same text, or the template's own
/// error message. Skipped, saying so, where `../shared` is absent.
private enum Shared {
    static let chat = References.repositoryRoot + "/../shared/reference/chat"
    static let vocabularies = References.repositoryRoot + "/../shared/reference/vocab-more"
}

@Suite(.enabled(if: FileManager.default.fileExists(atPath: Shared.chat + "/renders"), "../shared/reference/chat is absent"))
struct ChatTemplateRenderTests {
    static func jsonLines(_ path: String) throws -> [JinjaDictionary] {
        let data = try #require(FileManager.default.contents(atPath: path), "\(path)")
        return try data.split(separator: UInt8(ascii: "\n")).map { line in
            guard case .dictionary(let record) = try JinjaValue.parseJSON(Array(line), what: path) else { throw JinjaError.json("\(path): not an object") }
            return record
        }
    }

    static func string(_ value: JinjaValue?) -> String? {
        if case .string(let text)? = value { return text }
        return nil
    }

    /// A Hugging Face template (its `tokenizer_config.json`, or the `.jinja` file beside it) and the special
    /// tokens transformers passes to it from that config.
    static func huggingFaceTemplate(_ name: String) throws -> (String, [String: String]) {
        let configPath = Shared.vocabularies + "/\(name).tokenizer_config.json"
        guard case .dictionary(let config) = try JinjaValue.parseJSON(Array(try #require(FileManager.default.contents(atPath: configPath)))) else {
            throw JinjaError.json("config")
        }
        var specials: [String: String] = [:]
        for key in ["bos_token", "eos_token", "unk_token", "pad_token"] {
            if let text = string(config[key]) { specials[key] = text }
            if case .dictionary(let token)? = config[key], let text = string(token["content"]) { specials[key] = text }
        }
        let separate = Shared.vocabularies + "/\(name).chat_template.jinja"
        if FileManager.default.fileExists(atPath: separate) {
            return (try String(contentsOfFile: separate, encoding: .utf8), specials)
        }
        return (try #require(string(config["chat_template"]), "\(name): no chat_template"), specials)
    }

    @Test(arguments: ["qwen2.5", "qwen3", "qwen3.5", "glm-4", "minimax-m3"])
    func huggingFaceTemplates(name: String) throws {
        let (source, specials) = try Self.huggingFaceTemplate(name)
        let template = try JinjaTemplate(source)
        let conversations = try Self.jsonLines(Shared.chat + "/conversations-public.jsonl")
        let renders = try Self.jsonLines(Shared.chat + "/renders/\(name).jsonl")
        #expect(renders.count == conversations.count)
        for (conversation, render) in zip(conversations, renders) {
            let id = Self.string(conversation["id"]) ?? "?"
            #expect(Self.string(render["conversation_id"]) == id)
            let variables = try ChatTemplateInput.variables(request: .dictionary(conversation), specialTokens: specials)
            if let expected = Self.string(render["text"]) {
                let rendered = try? template.render(variables)
                #expect(rendered == expected, "\(name) \(id)")
            } else {
                let message = try #require(Self.string(render["error"]))
                #expect(throws: JinjaError.raised(message), "\(name) \(id)") { try template.render(variables) }
            }
        }
    }

    /// A GGUF file's own template (`tokenizer.chat_template`) with the special tokens its ids name, as
    /// transformers' `render_jinja_template` was given them.
    static func ggufTemplate(_ name: String) throws -> (String, [String: String]) {
        let metadata = try GGUFMetadata.read(path: Shared.vocabularies + "/ggml-vocab-\(name).gguf")
        guard case .string(let template)? = metadata["tokenizer.chat_template"],
              case .strings(let tokens)? = metadata["tokenizer.ggml.tokens"] else { throw JinjaError.json("\(name): no template") }
        var specials: [String: String] = [:]
        for (variable, key) in [("bos_token", "tokenizer.ggml.bos_token_id"), ("eos_token", "tokenizer.ggml.eos_token_id"),
                                ("unk_token", "tokenizer.ggml.unknown_token_id"), ("pad_token", "tokenizer.ggml.padding_token_id")] {
            var id: Int?
            switch metadata[key] {
            case .unsigned(let value)?: id = Int(value)
            case .signed(let value)?: id = Int(value)
            default: break
            }
            if let id, tokens.indices.contains(id) { specials[variable] = String(decoding: tokens[id], as: UTF8.self) }
        }
        return (String(decoding: template, as: UTF8.self), specials)
    }

    @Test(arguments: ["gemma-4", "qwen2", "qwen35", "phi-3", "command-r"])
    func ggufTemplates(name: String) throws {
        let (source, specials) = try Self.ggufTemplate(name)
        let template = try JinjaTemplate(source)
        let conversations = try Self.jsonLines(Shared.chat + "/conversations-public.jsonl")
        let renders = try Self.jsonLines(Shared.chat + "/renders/gguf-\(name).jsonl")
        #expect(renders.count == conversations.count)
        for (conversation, render) in zip(conversations, renders) {
            let id = Self.string(conversation["id"]) ?? "?"
            let variables = try ChatTemplateInput.variables(request: .dictionary(conversation), specialTokens: specials)
            if let expected = Self.string(render["text"]) {
                let rendered = try? template.render(variables)
                #expect(rendered == expected, "gguf-\(name) \(id)")
            } else {
                let message = try #require(Self.string(render["error"]))
                #expect(throws: JinjaError.raised(message), "gguf-\(name) \(id)") { try template.render(variables) }
            }
        }
    }
}
