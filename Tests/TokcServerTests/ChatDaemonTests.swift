import Foundation
import Testing
import Tokc
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
}
