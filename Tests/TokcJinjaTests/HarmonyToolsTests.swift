import Foundation
import Testing
@testable import Tokc
import TokcJinja
import TokcTestSupport

/// Harmony's rendering of tool schemas beyond what the public conversations reach (oneOf at the top and in
/// properties, defaults of every kind, enums, nullable, type lists, titles and examples, nested objects and
/// arrays, CRLF and multi-line descriptions, a tool without parameters), against openai-harmony 0.0.8's own
/// prompts (`Tests/Fixtures/harmony-tools.jsonl`, made by `scripts/make-harmony-fixtures.py`).
@Suite struct HarmonyToolsTests {
    @Test func toolSchemasRenderAsHarmonyRendersThem() throws {
        let tokenizer = try Tokenizer.named("o200k_harmony")
        let lines = try ChatTemplateRenderTests.jsonLines(References.repositoryRoot + "/Tests/Fixtures/harmony-tools.jsonl")
        #expect(lines.count == 6)
        for line in lines {
            guard let tools = line["tools"] else { Issue.record("a fixture line without tools"); continue }
            let request = JinjaValue.dictionary([
                ("messages", .array([.dictionary([("role", .string("user")), ("content", .string("Use a tool."))])])), ("tools", tools),
            ])
            let prompt = try HarmonyChatEncoding.encode(request, tokenizer: tokenizer)
            #expect(prompt.text == ChatTemplateRenderTests.string(line["text"]))
            #expect(prompt.ids == ChatPromptTests.ids(line["ids"]))
        }
    }

    @Test func serdeNumbersAndRustLines() {
        #expect(HarmonyChatEncoding.compactJSON(.double(1e20)) == "1e20")
        #expect(HarmonyChatEncoding.compactJSON(.double(1e-7)) == "1e-7")
        #expect(HarmonyChatEncoding.compactJSON(.double(0.00001)) == "0.00001")
        #expect(HarmonyChatEncoding.compactJSON(.double(1e16)) == "1e16")
        #expect(HarmonyChatEncoding.compactJSON(.double(1e15)) == "1000000000000000.0")
        #expect(HarmonyChatEncoding.compactJSON(.double(-2.5)) == "-2.5")
        #expect(HarmonyChatEncoding.compactJSON(.string("a\u{8}\u{1}")) == #""a\b\u0001""#)
        #expect(HarmonyChatEncoding.rustLines("a\r\nb\rc\n\nd\r") == ["a", "b\rc", "", "d\r"])
        #expect(HarmonyChatEncoding.rustLines("x\n") == ["x"])
        #expect(HarmonyChatEncoding.rustLines("") == [])
    }
}

