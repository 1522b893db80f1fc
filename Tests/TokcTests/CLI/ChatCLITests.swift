import Foundation
import Testing
import Tokc
import TokcJinja
import TokcTestSupport

/// `tokc count --chat`: requests in, prompt tokens out, the same figures as the library's `ChatTemplate`, and
/// a template's refusal as its own words with exit status 2.
@Suite struct ChatCLITests {
    static let request = #"""
    {"messages": [{"role": "system", "content": "あなたは旅行の相談役です。"},
      {"role": "user", "content": [{"type": "text", "text": "京都の天気は?"}, {"type": "text", "text": "<|im_start|>は普通の文字"}]},
      {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
        "function": {"name": "get_weather", "arguments": "{\"city\":\"Kyoto\",\"unit\":\"c\"}"}}]},
      {"role": "tool", "tool_call_id": "call_1", "content": "晴れ、12°C"}],
     "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather now",
       "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
                      "required": ["city"]}}}]}
    """#

    static func expected(_ vocabulary: String, _ text: String = request) throws -> ChatPrompt {
        let template = try #require(try VocabularyRegistry.standard.chatTemplate(for: vocabulary))
        return try template.encode(try JinjaValue.parseJSON(text), tokenizer: try Tokenizer.named(vocabulary))
    }

    @Test func countsARequestAsTheLibraryDoes() throws {
        let file = try CLITests.temporaryFile(Array(Self.request.utf8), name: "request.json")
        for vocabulary in ["qwen2.5", "glm-4", "gemma-4"] {
            let prompt = try Self.expected(vocabulary)
            // The template adds role headers and the generation prompt; Qwen's and Gemma's also the tool schema
            // and the call (GLM-4's template writes neither).
            #expect(prompt.templateTokens > (vocabulary == "glm-4" ? 5 : 100), "\(vocabulary)")
            let run = try CLITests.tokc(["count", "--chat", "--vocab", vocabulary, "--json", file])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.text == #"{"vocab":"\#(vocabulary)","template":"\#(vocabulary)","requests":[{"source":\#(JSONStrings.quote(file)),"tokens":\#(prompt.tokens),"content_tokens":\#(prompt.contentTokens),"template_tokens":\#(prompt.templateTokens)}],"total":\#(prompt.tokens)}"# + "\n")
        }
        let shown = try CLITests.tokc(["count", "--chat", "--show-prompt", "--vocab", "qwen2.5", file])
        let prompt = try Self.expected("qwen2.5")
        #expect(shown.text == prompt.text + "\n\(prompt.tokens) \(file)\n")
        // The user's "<|im_start|>" is text, not the control token the template writes.
        #expect(prompt.ids.filter { $0 == 151644 }.count == prompt.text.components(separatedBy: "<|im_start|>").count - 2)
    }

    /// Mistral's and harmony's encodings through the CLI: the library's figures, the encoding named as the
    /// template, and mistral-common's refusal of an OpenAI-style call id (Mistral wants 9 characters) as the error.
    @Test func mistralAndHarmonyEncodeRequestsAsTheLibraryDoes() throws {
        let file = try CLITests.temporaryFile(Array(Self.request.utf8), name: "request.json")
        let mistralRequest = Self.request.replacingOccurrences(of: "call_1", with: "abcDEF123")
        let mistralFile = try CLITests.temporaryFile(Array(mistralRequest.utf8), name: "mistral.json")
        for (vocabulary, name, path) in [("mistral-v7", "mistral-v7", mistralFile), ("tekken", "mistral-v3", mistralFile),
                                         ("o200k_harmony", "harmony", file)] {
            let counting = try VocabularyRegistry.standard.chatCounting(for: vocabulary)
            let prompt = try #require(try counting.encode(try JinjaValue.parseJSON(vocabulary == "o200k_harmony" ? Self.request : mistralRequest),
                                                          tokenizer: try Tokenizer.named(vocabulary)))
            #expect(prompt.templateTokens > 50, "\(vocabulary)")
            let run = try CLITests.tokc(["count", "--chat", "--vocab", vocabulary, "--json", path])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.text == #"{"vocab":"\#(vocabulary)","template":"\#(name)","requests":[{"source":\#(JSONStrings.quote(path)),"tokens":\#(prompt.tokens),"content_tokens":\#(prompt.contentTokens),"template_tokens":\#(prompt.templateTokens)}],"total":\#(prompt.tokens)}"# + "\n")
        }
        let refused = try CLITests.tokc(["count", "--chat", "--vocab", "mistral-v3", file])
        #expect(refused.status == 2)
        #expect(refused.stderr == "tokc: error: the chat format refuses this conversation: Tool call id was call_1 but must be a-z, A-Z, 0-9, with a length of 9.\n")
    }

    @Test func jsonLinesCountEachRequestAndTheTotal() throws {
        let one = #"{"messages":[{"role":"user","content":"Hello"}]}"#
        let two = #"{"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello!"}],"add_generation_prompt":false}"#
        let file = try CLITests.temporaryFile(Array((one + "\n\n" + two + "\n").utf8), name: "requests.jsonl")
        let a = try Self.expected("qwen2.5", one).tokens, b = try Self.expected("qwen2.5", two).tokens
        let run = try CLITests.tokc(["count", "--chat", "--vocab", "qwen2.5", file])
        let width = String(a + b).count
        func padded(_ n: Int) -> String { String(repeating: " ", count: width - String(n).count) + String(n) }
        #expect(run.text == "\(padded(a)) \(file):1\n\(padded(b)) \(file):3\n\(a + b) total\n")
    }

    @Test func errorsAreTheTemplatesOwnAndNameTheLine() throws {
        let systemOnly = try CLITests.temporaryFile(Array(#"{"messages":[{"role":"system","content":"Rules."}]}"#.utf8), name: "s.json")
        let refused = try CLITests.tokc(["count", "--chat", "--vocab", "qwen3.5", systemOnly])
        #expect(refused.status == 2)
        #expect(refused.stderr == "tokc: error: the chat format refuses this conversation: No user query found in messages.\n")
        let none = try CLITests.tokc(["count", "--chat", "--vocab", "llama3", systemOnly])
        #expect(none.status == 2)
        #expect(none.stderr.contains("vocabulary 'llama3' has no chat template of its own; pass --template FILE"))
        let broken = try CLITests.temporaryFile(Array("{\"messages\":[]}\n{\"messages\": [oops]}\n".utf8), name: "b.jsonl")
        let bad = try CLITests.tokc(["count", "--chat", "--vocab", "qwen2.5", broken])
        #expect(bad.status == 2)
        #expect(bad.stderr.hasPrefix("tokc: error: \(broken):2: expected a chat request: a JSON object"))
        let template = try CLITests.temporaryFile(Array("{% for m in messages %}{{ m.content }}{% endfor %}{% include 'x' %}".utf8), name: "t.jinja")
        let unsupported = try CLITests.tokc(["count", "--chat", "--template", template, systemOnly])
        #expect(unsupported.status == 2)
        #expect(unsupported.stderr == "tokc: error: chat template: template line 1: not supported: the 'include' statement\n")
    }
}

/// The CLI's JSON string quoting, for expected output.
enum JSONStrings {
    static func quote(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

/// `tokc cost --chat`: one item per request, priced with the model's vocabulary and its template.
@Suite struct ChatCostCLITests {
    @Test func pricesEachRequestsPrompt() throws {
        let request = #"{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"京都の天気は?"}]}"#
        let file = try CLITests.temporaryFile(Array((request + "\n" + request + "\n").utf8), name: "cost.jsonl")
        let prompt = try ChatCLITests.expected("qwen2.5", request)
        let run = try CLITests.tokc(["cost", "--chat", "--model", "deepinfra/Qwen/Qwen2.5-72B-Instruct", "--json", file])
        #expect(run.status == 0, "\(run.stderr)")
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout)) as? [String: Any])
        #expect(answer["input_tokens"] as? Int == 2 * prompt.tokens)
        #expect((answer["items"] as? [[String: Any]])?.map { $0["tokens"] as? Int } == [prompt.tokens, prompt.tokens])
        // The vocabulary is the model's own, but its shipped template is not known to be this model's format.
        #expect(answer["vocab"] as? String == "qwen2.5" && answer["approximate"] as? Bool == true)
        #expect((answer["note"] as? String)?.hasPrefix("rendered with the qwen2.5 vocabulary's shipped template") == true)
        let withTemplate = try CLITests.tokc(["cost", "--chat", "--model", "deepinfra/Qwen/Qwen2.5-72B-Instruct", "--json",
                                              "--template", Fixtures.repositoryRoot + "/Vocabularies/templates/qwen2.5.json", file])
        let given = try #require(try JSONSerialization.jsonObject(with: Data(withTemplate.stdout)) as? [String: Any])
        #expect(given["approximate"] as? Bool == false && given["input_tokens"] as? Int == 2 * prompt.tokens)
        let counted = try CLITests.tokc(["count", "--chat", "--model", "deepinfra/Qwen/Qwen2.5-72B-Instruct", "--json", file])
        #expect(counted.text.hasPrefix(#"{"vocab":"qwen2.5","template":"qwen2.5","model":"deepinfra/Qwen/Qwen2.5-72B-Instruct","approximate":true,"note":"rendered with the qwen2.5 vocabulary's shipped template"#))
        let openAI = try CLITests.tokc(["cost", "--chat", "--model", "gpt-4o", file])
        #expect(openAI.text.hasPrefix("gpt-4o: counted with o200k_base (ESTIMATE: OpenAI's published estimate for its hosted models"))
    }
}
