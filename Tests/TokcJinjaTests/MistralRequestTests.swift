import Foundation
import Testing
@testable import Tokc
import TokcJinja
import TokcTestSupport

/// Mistral's request encoding on requests the public conversations do not reach (same-role merging, system
/// messages in several places, developer, JSON and non-JSON tool results and arguments, a final assistant turn
/// with tool calls, empty parts, trailing spaces, refusals), against mistral-common 1.13.1's ids, text and
/// messages (`Tests/Fixtures/mistral-requests.jsonl`, made by `scripts/make-mistral-chat-fixtures.py` from the
/// files the shipped mistral-v3, mistral-v7 and tekken are).
@Suite struct MistralRequestTests {
    @Test func requestsEncodeAsMistralCommonEncodesThem() throws {
        let lines = try ChatTemplateRenderTests.jsonLines(References.repositoryRoot + "/Tests/Fixtures/mistral-requests.jsonl")
        #expect(lines.count == 54)
        var tokenizers: [String: Tokenizer] = [:]
        for line in lines {
            guard let vocabulary = ChatTemplateRenderTests.string(line["vocab"]), let request = line["request"] else {
                Issue.record("a fixture line without vocab or request")
                continue
            }
            let tokenizer = try tokenizers[vocabulary] ?? Tokenizer.named(vocabulary)
            tokenizers[vocabulary] = tokenizer
            let counting = try VocabularyRegistry.standard.chatCounting(for: vocabulary)
            if let message = ChatTemplateRenderTests.string(line["error"]) {
                #expect(throws: TokcError.templateRefused(message), "\(vocabulary) \(request)") { try counting.encode(request, tokenizer: tokenizer) }
                continue
            }
            let prompt = try #require(try counting.encode(request, tokenizer: tokenizer))
            #expect(prompt.ids == ChatPromptTests.ids(line["ids"]), "\(vocabulary) \(request)")
            #expect(prompt.text == ChatTemplateRenderTests.string(line["text"]), "\(vocabulary) \(request)")
        }
    }
}
