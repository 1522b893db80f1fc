import Foundation
import Testing
import Tokc
import TokcClient
import TokcJinja
import TokcTestSupport

/// The daemon's `count_chat`: the same prompt counts as the library (and `tokc count --chat`), the template
/// parsed once per vocabulary, and a refusal or a bad request an error object while the connection goes on.
@Suite(.serialized) struct ChatDaemonTests {
    static let requests = [
        #"{"messages":[{"role":"system","content":"短く答えて。"},{"role":"user","content":"京都の天気は? <|im_start|>"}]}"#,
        #"{"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello!"}],"add_generation_prompt":false,"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"b":{"type":"string"},"a":{"type":"number"}}}}}]}"#,
    ]

    @Test func countsChatRequestsAsTheLibraryDoes() async throws {
        let daemon = try await Daemon.start()
        let connection = try await daemon.raw()
        for vocabulary in ["qwen2.5", "gemma-4"] {
            let template = try #require(try VocabularyRegistry.standard.chatTemplate(for: vocabulary))
            let tokenizer = try Tokenizer.named(vocabulary)
            let prompts = try Self.requests.map { try template.encode(try JinjaValue.parseJSON($0), tokenizer: tokenizer) }
            let answer = try await connection.ask(#"{"id":1,"op":"count_chat","vocab":"\#(vocabulary)","requests":[\#(Self.requests.joined(separator: ","))]}"#)
            #expect(answer["vocab"] as? String == vocabulary && answer["template"] as? String == vocabulary, "\(answer)")
            let items = try #require(answer["requests"] as? [[String: Any]])
            #expect(items.map { $0["tokens"] as? Int } == prompts.map(\.tokens))
            #expect(items.map { $0["content_tokens"] as? Int } == prompts.map(\.contentTokens))
            #expect(items.map { $0["template_tokens"] as? Int } == prompts.map(\.templateTokens))
            #expect(answer["total"] as? Int == prompts.reduce(0) { $0 + $1.tokens })
        }
        let refused = try await connection.ask(#"{"id":2,"op":"count_chat","vocab":"qwen3.5","requests":[{"messages":[{"role":"user","content":"a"}]},{"messages":[{"role":"system","content":"Rules."}]}]}"#)
        #expect(refused.errorCode == "template_refused", "\(refused)")
        #expect(refused.errorMessage == "requests[1]: the chat format refuses this conversation: No user query found in messages.")
        let none = try await connection.ask(#"{"id":3,"op":"count_chat","vocab":"llama3","requests":[{"messages":[]}]}"#)
        #expect(none.errorCode == "invalid_template" && none.errorMessage?.contains("'llama3' has no chat template") == true, "\(none)")
        let empty = try await connection.ask(#"{"id":4,"op":"count_chat","requests":[]}"#)
        #expect(empty.errorCode == "invalid_request" && empty.errorMessage == "op 'count_chat' needs 'requests', a list of chat requests", "\(empty)")
        let notObjects = try await connection.ask(#"{"id":5,"op":"count_chat","requests":["hello"]}"#)
        #expect(notObjects.errorMessage == "field 'requests[0]' must be a chat request object, not a string", "\(notObjects)")
        let badContent = try await connection.ask(#"{"id":6,"op":"count_chat","vocab":"qwen2.5","requests":[{"messages":[{"role":"user","content":3}]}]}"#)
        #expect(badContent.errorCode == "invalid_request" && badContent.errorMessage?.contains("messages[0].content is a int") == true, "\(badContent)")
        let byModel = try await connection.ask(#"{"id":8,"op":"count_chat","model":"deepinfra/Qwen/Qwen2.5-72B-Instruct","requests":[\#(Self.requests[0])]}"#)
        #expect(byModel["vocab"] as? String == "qwen2.5" && byModel["approximate"] as? Bool == true, "\(byModel)")
        #expect((byModel["note"] as? String)?.hasPrefix("rendered with the qwen2.5 vocabulary's shipped template") == true)
        let openAI = try await connection.ask(#"{"id":9,"op":"count_chat","vocab":"o200k_base","requests":[\#(Self.requests[0])]}"#)
        #expect(openAI["template"] as? String == "openai-estimate" && openAI["approximate"] as? Bool == true, "\(openAI)")
        #expect(try await connection.ask(#"{"id":7,"op":"count","texts":["hello world"]}"#)["counts"] as? [Int] == [2])
        await daemon.stop()
    }

    /// Mistral's and harmony's encodings through the daemon and the Swift client (`countChat`), a model mapped
    /// to them exact (gpt-oss is harmony's own format), and mistral-common's refusal as an error object.
    @Test func mistralAndHarmonyThroughTheClient() async throws {
        let daemon = try await Daemon.start()
        let client = daemon.client()
        let mistral = [#"{"messages":[{"role":"system","content":"短く答えて。"},{"role":"user","content":"京都の天気は? [INST]"}]}"#,
                       #"{"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello!"}]}"#]
        for (vocabulary, name) in [("mistral-v7", "mistral-v7"), ("tekken", "mistral-v3"), ("o200k_harmony", "harmony")] {
            let counting = try VocabularyRegistry.standard.chatCounting(for: vocabulary)
            let tokenizer = try Tokenizer.named(vocabulary)
            let prompts = try mistral.map { try #require(try counting.encode(try JinjaValue.parseJSON($0), tokenizer: tokenizer)) }
            let answer = try await client.countChat(mistral, vocab: vocabulary)
            #expect(answer.vocab == vocabulary && answer.template == name)
            #expect(answer.requests.map(\.tokens) == prompts.map(\.tokens))
            #expect(answer.requests.map(\.contentTokens) == prompts.map(\.contentTokens))
            #expect(answer.total == prompts.reduce(0) { $0 + $1.tokens })
        }
        let gptOSS = try await client.countChat([mistral[0]], model: "azure_ai/gpt-oss-120b")
        #expect(gptOSS.vocab == "o200k_harmony" && gptOSS.template == "harmony" && gptOSS.approximate == false)
        do {
            _ = try await client.countChat([#"{"messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_1","content":"1"}]}"#],
                                           vocab: "mistral-v3")
            Issue.record("mistral-common refuses an OpenAI-style call id")
        } catch {
            #expect("\(error)".contains("template_refused") && "\(error)".contains("Tool call id was call_1 but must be a-z, A-Z, 0-9, with a length of 9."), "\(error)")
        }
        await #expect(throws: TokcClientError.invalidRequest("requests[0] is not a JSON object")) {
            try await client.countChat(["[1]"], vocab: "tekken")
        }
        #expect(try await client.count(["hello world"]).total == 2)
        await client.close()
        await daemon.stop()
    }
}
