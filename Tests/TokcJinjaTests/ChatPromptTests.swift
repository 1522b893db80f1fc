import Foundation
import Testing
import Tokc
import TokcJinja
import TokcTestSupport

/// Prompt ids against transformers' (`apply_chat_template(..., tokenize=True, sanitize_control_tokens=True)`,
/// and the library default that matches added tokens anywhere), with each reference's own tokenizer file opened
/// by path. Skipped, saying so, where `../shared` is absent.
@Suite(.enabled(if: FileManager.default.fileExists(atPath: References.repositoryRoot + "/../shared/reference/chat/renders"),
                "../shared/reference/chat is absent"))
struct ChatPromptTests {
    static let chat = References.repositoryRoot + "/../shared/reference/chat"
    static let vocabularies = References.repositoryRoot + "/../shared/reference/vocab-more"

    static func ids(_ value: JinjaValue?) -> [TokenID]? {
        guard case .array(let list)? = value else { return nil }
        return list.compactMap { if case .int(let id) = $0 { return TokenID(id) } else { return nil } }
    }

    static func integer(_ value: JinjaValue?) -> Int? {
        if case .int(let number)? = value { return number }
        return nil
    }

    /// (template name in renders/, tokenizer file, template source and its special-token variables)
    static func cases() throws -> [(String, String, String, [String: String])] {
        var result: [(String, String, String, [String: String])] = []
        for name in ["qwen2.5", "qwen3", "qwen3.5", "glm-4", "minimax-m3"] {
            let (source, specials) = try ChatTemplateRenderTests.huggingFaceTemplate(name)
            result.append((name, vocabularies + "/\(name).tokenizer.json", source, specials))
        }
        let (gemma, specials) = try ChatTemplateRenderTests.ggufTemplate("gemma-4")
        result.append(("gguf-gemma-4", vocabularies + "/ggml-vocab-gemma-4.gguf", gemma, specials))
        return result
    }

    @Test func promptIdsAsTransformersCountsThem() throws {
        let conversations = try ChatTemplateRenderTests.jsonLines(Self.chat + "/conversations-public.jsonl")
        for (name, file, source, specials) in try Self.cases() {
            let tokenizer = try VocabularyRegistry.standard.load(file)
            let template = try ChatTemplate(source: source, specialTokenVariables: specials)
            let renders = try ChatTemplateRenderTests.jsonLines(Self.chat + "/renders/\(name).jsonl")
            for (conversation, render) in zip(conversations, renders) {
                let label = "\(name) \(ChatTemplateRenderTests.string(conversation["id"]) ?? "?")"
                guard let expected = Self.ids(render["ids"]) else {
                    #expect(throws: TokcError.templateRefused(ChatTemplateRenderTests.string(render["error"]) ?? "")) {
                        try template.encode(.dictionary(conversation), tokenizer: tokenizer)
                    }
                    continue
                }
                let prompt = try template.encode(.dictionary(conversation), tokenizer: tokenizer)
                #expect(prompt.ids == expected, "\(label)")
                #expect(try template.count(.dictionary(conversation), tokenizer: tokenizer) == expected.count, "\(label) count")
                #expect(prompt.text == ChatTemplateRenderTests.string(render["text"]), "\(label)")
                #expect(prompt.contentTokens == Self.integer(render["content_tokens"]), "\(label) content tokens")
                let parsed = try template.encode(.dictionary(conversation), tokenizer: tokenizer, allowSpecial: true)
                #expect(parsed.ids == (Self.ids(render["ids_special_parsed"]) ?? expected), "\(label) special parsed")
            }
        }
    }

    /// What `tokc count --chat --vocab NAME` uses: the shipped vocabulary with its shipped template
    /// (`Vocabularies/templates/`), against the same references; command-r's has text only.
    @Test(arguments: [("qwen2.5", "qwen2.5"), ("qwen3.5", "qwen3.5"), ("glm-4", "glm-4"), ("minimax-m3", "minimax-m3"),
                      ("gemma-4", "gguf-gemma-4"), ("command-r", "gguf-command-r")])
    func shippedVocabulariesWithTheirTemplates(vocabulary: String, render: String) throws {
        let tokenizer = try Tokenizer.named(vocabulary)
        let template = try #require(try VocabularyRegistry.standard.chatTemplate(for: vocabulary))
        let conversations = try ChatTemplateRenderTests.jsonLines(Self.chat + "/conversations-public.jsonl")
        let renders = try ChatTemplateRenderTests.jsonLines(Self.chat + "/renders/\(render).jsonl")
        for (conversation, reference) in zip(conversations, renders) {
            let label = "\(vocabulary) \(ChatTemplateRenderTests.string(conversation["id"]) ?? "?")"
            if let message = ChatTemplateRenderTests.string(reference["error"]) {
                #expect(throws: TokcError.templateRefused(message), "\(label)") { try template.encode(.dictionary(conversation), tokenizer: tokenizer) }
                continue
            }
            let prompt = try template.encode(.dictionary(conversation), tokenizer: tokenizer)
            #expect(prompt.text == ChatTemplateRenderTests.string(reference["text"]), "\(label)")
            if let expected = Self.ids(reference["ids"]) {
                #expect(prompt.ids == expected, "\(label)")
                #expect(prompt.contentTokens == Self.integer(reference["content_tokens"]), "\(label)")
            }
        }
    }

    /// Mistral's request encoding (mistral-common 1.13.1) and gpt-oss's harmony (openai-harmony 0.0.8): text, ids
    /// and content tokens of every conversation, and each refusal with mistral-common's own message; with the
    /// reference's own file opened by path and with the shipped vocabulary the encoding goes with.
    @Test(arguments: [("mistral-v3", "/mistral-v3.tokenizer.model.v3", "mistral-v3"),
                      ("mistral-v7", "/mistral-v7.tokenizer.model.v7", "mistral-v7"),
                      ("mistral-v3-tekken", "/tekken_240718.json", "tekken"),
                      ("gpt-oss-harmony", nil, "o200k_harmony")])
    func requestEncodingsAsTheirLibrariesEncode(render: String, file: String?, shipped: String) throws {
        let conversations = try ChatTemplateRenderTests.jsonLines(Self.chat + "/conversations-public.jsonl")
        let renders = try ChatTemplateRenderTests.jsonLines(Self.chat + "/renders/\(render).jsonl")
        #expect(renders.count == 41)
        var cases = [(try Tokenizer.named(shipped), try VocabularyRegistry.standard.chatCounting(for: shipped))]
        if let file {
            let path = Self.vocabularies + file
            cases.append((try VocabularyRegistry.standard.load(path), try VocabularyRegistry.standard.chatCounting(for: path)))
        }
        for (tokenizer, counting) in cases {
            #expect(counting.encodingName == (render == "gpt-oss-harmony" ? "harmony" : String(render.prefix(10))))
            for (conversation, reference) in zip(conversations, renders) {
                let label = "\(render) \(tokenizer.name) \(ChatTemplateRenderTests.string(conversation["id"]) ?? "?")"
                if let message = ChatTemplateRenderTests.string(reference["error"]) {
                    #expect(throws: TokcError.templateRefused(message), "\(label)") {
                        try counting.encode(.dictionary(conversation), tokenizer: tokenizer)
                    }
                    continue
                }
                let prompt = try #require(try counting.encode(.dictionary(conversation), tokenizer: tokenizer))
                #expect(prompt.ids == Self.ids(reference["ids"]), "\(label)")
                #expect(prompt.text == ChatTemplateRenderTests.string(reference["text"]), "\(label)")
                #expect(prompt.contentTokens == Self.integer(reference["content_tokens"]), "\(label) content tokens")
                #expect(try counting.promptTokens(.dictionary(conversation), tokenizer: tokenizer) == prompt.tokens, "\(label) count")
            }
        }
    }

    /// OpenAI's hosted models: the cookbook's published estimate, as the references computed it with tiktoken.
    @Test func openAIEstimateAsTheCookbookComputesIt() throws {
        let tokenizer = try Tokenizer.named("o200k_base")
        #expect(try VocabularyRegistry.standard.chatCounting(for: "o200k_base").isApproximate)
        let conversations = try ChatTemplateRenderTests.jsonLines(Self.chat + "/conversations-public.jsonl")
        let renders = try ChatTemplateRenderTests.jsonLines(Self.chat + "/renders/openai-cookbook.jsonl")
        #expect(renders.count == 41)
        for (conversation, render) in zip(conversations, renders) {
            let label = ChatTemplateRenderTests.string(conversation["id"]) ?? "?"
            let (tokens, contentTokens) = try OpenAIChatEstimate.count(.dictionary(conversation), tokenizer: tokenizer)
            #expect(tokens == Self.integer(render["count"]), "\(label)")
            #expect(contentTokens == Self.integer(render["content_tokens"]), "\(label)")
        }
    }
}
