import Foundation
import Testing
@testable import Tokc

/// The family rules (`Vocabularies/model-families.json`) on real keys of the shipped price table, the traps
/// first; and the shipped `models.json`, built by `scripts/make-models-json.py` with Python's `re`, classified
/// model for model as tokc's PCRE2 classifies it.
@Suite struct ModelFamiliesTests {
    static let registry = VocabularyRegistry(folders: [Fixtures.repositoryRoot + "/Vocabularies"])

    static func families() throws -> ModelFamilies {
        try #require(try ModelFamilies.load(registry: registry))
    }

    /// (key, provider, family, vocabulary, exact), keys and providers as LiteLLM's table has them.
    static let cases: [(String, String?, String, String, Bool)] = [
        ("together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo", "together_ai", "Llama 3", "llama3", true),
        ("bedrock/us-east-1/meta.llama3-70b-instruct-v1:0", "bedrock", "Llama 3", "llama3", true),
        // Llama 4 is not Llama 3's vocabulary.
        ("deepinfra/meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8", "deepinfra", "Llama 4", "llama4", true),
        ("us.meta.llama4-scout-17b-instruct-v1:0", "bedrock_converse", "Llama 4", "llama4", true),
        ("deepinfra/meta-llama/Llama-Guard-4-12B", "deepinfra", "Llama Guard 4", "llama4", false),
        ("ollama/llama2:13b", "ollama", "Llama 2", "llama2", true),
        ("perplexity/codellama-70b-instruct", "perplexity", "Llama 2", "llama2", true),
        // Mixtral 8x7B and 8x22B use different Mistral tokenizers (v1 and v3), and so do Mistral 7B v0.2 and v0.3.
        ("fireworks_ai/accounts/fireworks/models/mixtral-8x22b-instruct", "fireworks_ai", "Mistral v3", "mistral-v3", true),
        ("bedrock/us-west-2/mistral.mixtral-8x7b-instruct-v0:1", "bedrock", "Mistral v1", "mistral-v1", true),
        ("together_ai/mistralai/Mistral-7B-Instruct-v0.3", "together_ai", "Mistral v3", "mistral-v3", true),
        ("replicate/mistralai/mistral-7b-instruct-v0.2", "replicate", "Mistral v1", "mistral-v1", true),
        // A fine-tune adds its own tokens; unchecked, it is an estimate, whatever its base.
        ("together_ai/NousResearch/Nous-Hermes-2-Mixtral-8x7B-DPO", "together_ai", "Mistral 7B and Mixtral 8x7B (other)", "mistral-v1", false),
        ("perplexity/mistral-7b-instruct", "perplexity", "Mistral 7B and Mixtral 8x7B (other)", "mistral-v1", false),
        // Tokenizer v2 counts text as v3 does (docs/model-family-evidence.md).
        ("mistral.mistral-large-2402-v1:0", "bedrock", "Mistral v2", "mistral-v3", true),
        ("vertex_ai/mistral-large-2411", "vertex_ai-mistral_models", "Mistral v7", "mistral-v7", true),
        ("deepinfra/mistralai/Mistral-Nemo-Instruct-2407", "deepinfra", "Mistral Tekken v3", "tekken", true),
        // Qwen 3.5 is not the Qwen 2.5 vocabulary; Qwen 3 is.
        ("deepinfra/Qwen/Qwen3.5-27B", "deepinfra", "Qwen 3.5", "qwen3.5", true),
        ("databricks/databricks-qwen35-122b-a10b", "databricks", "Qwen 3.5", "qwen3.5", true),
        ("novita/qwen/qwen3-8b-fp8", "novita", "Qwen 2-3", "qwen2.5", true),
        ("deepinfra/Qwen/Qwen2.5-72B-Instruct", "deepinfra", "Qwen 2-3", "qwen2.5", true),
        ("fireworks_ai/accounts/fireworks/models/qwen2p5-coder-32b-instruct", "fireworks_ai", "Qwen 2-3", "qwen2.5", true),
        ("dashscope/qwen-plus-2025-09-11", "dashscope", "Qwen Turbo, Plus, Max", "qwen2.5", true),
        ("dashscope/qwen-flash", "dashscope", "Qwen (hosted)", "qwen2.5", false),
        ("dashscope/qwen3.8-max", "dashscope", "Qwen (later than 3.6)", "qwen3.5", false),
        // gpt-oss is not o200k_base's special tokens.
        ("groq/openai/gpt-oss-20b", "groq", "gpt-oss", "o200k_harmony", true),
        ("azure/gpt-4o", "azure", "OpenAI o200k", "o200k_base", true),
        ("gpt-4o", "openai", "OpenAI o200k", "o200k_base", true),
        ("azure/gpt-35-turbo-16k-0613", "azure", "OpenAI cl100k", "cl100k_base", true),
        ("azure/gpt-6-sol", "azure", "OpenAI (other)", "o200k_base", false),
        // A distilled model has its base model's vocabulary, whoever made it.
        ("deepinfra/deepseek-ai/DeepSeek-R1-Distill-Llama-70B", "deepinfra", "DeepSeek R1 Distill Llama", "llama3", true),
        ("novita/deepseek/deepseek-r1-0528-qwen3-8b", "novita", "DeepSeek R1 Distill Qwen", "qwen2.5", true),
        ("deepinfra/deepseek-ai/DeepSeek-V3.2", "deepinfra", "DeepSeek V3", "deepseek-v3", true),
        ("deepseek/deepseek-chat", "deepseek", "DeepSeek V3", "deepseek-v3", true),
        ("fireworks_ai/accounts/fireworks/models/deepseek-coder-7b-base", "fireworks_ai", "DeepSeek (other)", "deepseek-v3", false),
        // GLM-4.7 and GLM-5 are another vocabulary; the provider's own name does not make a model Qwen.
        ("zai/glm-4.5v", "zai", "GLM-4", "glm-4", true),
        ("qwencloud/glm-5.2", "qwencloud", "GLM-4.7 and 5", "glm-4.7", true),
        ("cloudflare/@cf/zai-org/glm-4.7-flash", "cloudflare", "GLM-4.7 and 5", "glm-4.7", true),
        ("baseten/zai-org/GLM-4.6", "baseten", "GLM-4 (other)", "glm-4", false),
        ("aiand/zai-org/glm-5.3", "aiand", "GLM (other)", "glm-4.7", false),
        ("bedrock/eu-south-1/minimax.minimax-m2.1", "bedrock", "MiniMax", "minimax-m3", true),
        ("vercel_ai_gateway/cohere/command-r", "vercel_ai_gateway", "Command R", "command-r", true),
        ("command-r-plus-08-2024", "cohere_chat", "Cohere (other)", "command-r", false),
        ("deepinfra/google/gemma-4-31B-it", "deepinfra", "Gemma 4", "gemma-4", true),
        ("together_ai/google/gemma-2-27b-it", "together_ai", "Gemma (other)", "gemma-4", false),
        ("bedrock/us-east-1/anthropic.claude-v2:1", "bedrock", "Claude 2", "claude-legacy", true),
        ("claude-sonnet-4-5", "anthropic", "Claude", "o200k_base", false),
        ("gemini/gemini-2.5-pro", "gemini", "Gemini", "o200k_base", false),
        // Google's SDK counts these three with Gemma 4's tokenizer, and names no other Gemini model so.
        ("vertex_ai/gemini-3.5-flash", "vertex_ai", "Gemini (Gemma 4 tokenizer)", "gemma-4", true),
        ("databricks/databricks-gemini-3-1-flash-lite", "databricks", "Gemini (Gemma 4 tokenizer)", "gemma-4", true),
        ("gemini/gemini-3.5-flash-lite", "gemini", "Gemini", "o200k_base", false),
        ("gemini/gemini-3.1-pro-preview-customtools", "gemini", "Gemini", "o200k_base", false),
        // Kimi K2 to K3 share one tiktoken.model and pattern; K2.7 is not K2's date suffix, K2.8 and K3.1 unchecked.
        ("moonshot/kimi-k2.5", "moonshot", "Kimi K2 and K3", "kimi-k2", true),
        ("together_ai/moonshotai/Kimi-K2-Instruct", "together_ai", "Kimi K2 and K3", "kimi-k2", true),
        ("novita/moonshotai/kimi-k2-0905", "novita", "Kimi K2 and K3", "kimi-k2", true),
        ("bedrock/us-east-1/moonshotai.kimi-k2-thinking", "bedrock", "Kimi K2 and K3", "kimi-k2", true),
        ("fireworks_ai/accounts/fireworks/routers/kimi-k2p6-fast", "fireworks_ai", "Kimi K2 and K3", "kimi-k2", true),
        ("databricks/databricks-kimi-k2-7", "databricks", "Kimi K2 and K3", "kimi-k2", true),
        ("morph/morph-kimik3", "morph", "Kimi K2 and K3", "kimi-k2", true),
        ("tencent/kimi-k2.8-preview", "tencent", "Kimi and Moonshot (other)", "kimi-k2", false),
        ("moonshot/kimi-k3.1-pro", "moonshot", "Kimi and Moonshot (other)", "kimi-k2", false),
        ("moonshot/moonshot-v1-8k", "moonshot", "Kimi and Moonshot (other)", "kimi-k2", false),
    ]

    @Test func rulesOnRealKeys() throws {
        let families = try Self.families()
        for (key, provider, family, vocabulary, exact) in Self.cases {
            let rule = try #require(families.rule(forModel: key, provider: provider), "\(key)")
            #expect(rule.family == family, "\(key): \(rule.family)")
            #expect(rule.vocabulary == vocabulary && rule.exact == exact, "\(key): \(rule.vocabulary ?? "none"), exact \(rule.exact)")
        }
    }

    /// Every rule names a shipped vocabulary and gives its evidence; exact ones are not the catch-all.
    @Test func everyRuleNamesAVocabularyAndItsEvidence() throws {
        let families = try Self.families()
        let known = Set(try Self.registry.vocabularies().map(\.entry.name))
        #expect(families.rules.count == Set(families.rules.map(\.family)).count, "family names repeat")
        for rule in families.rules {
            if let vocabulary = rule.vocabulary { #expect(known.contains(vocabulary), "\(rule.family): \(vocabulary)") }
            #expect(rule.evidence.count > 20, "\(rule.family)")
        }
        #expect(families.rules.last?.pattern == "." && families.rules.last?.exact == false)
    }

    /// `models.json` (Python's `re`) and tokc (PCRE2) classify every model of the shipped table alike.
    @Test func theShippedTableFollowsTheRules() throws {
        let families = try Self.families()
        let catalog = try ModelCatalog.load(registry: Self.registry)
        #expect(catalog.models.count > 3_000)
        var disagreements: [String] = []
        for model in catalog.models {
            let rule = families.rule(forModel: model.name, provider: model.provider)
            if rule?.family != model.family || rule?.vocabulary != model.vocabulary || rule.map({ !$0.exact }) != model.approximate {
                disagreements.append("\(model.name): file \(model.family ?? "none"), tokc \(rule?.family ?? "none")")
            }
            if model.approximate { #expect(model.tokenizerNote != nil, "\(model.name) is approximate without saying why") }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(10))")
    }

    /// A model of a newer LiteLLM table that the shipped one lacks gets the rule that matches it.
    @Test func aNewModelOfANewerTableGetsItsFamilyRule() throws {
        let path = try Fixtures.writeScratch("""
            {"newhost/meta-llama/Llama-3.1-8B-Instruct": {"input_cost_per_token": 1e-07, "litellm_provider": "newhost", "mode": "chat"},
             "newhost/Qwen/Qwen3.5-9B": {"input_cost_per_token": 2e-07, "litellm_provider": "newhost", "mode": "chat"}}
            """.utf8, name: "newer-prices")
        let catalog = try ModelCatalog.load(registry: Self.registry, pricesFile: path)
        let llama = try catalog.model(named: "newhost/meta-llama/Llama-3.1-8B-Instruct")
        #expect(llama.family == "Llama 3" && llama.vocabulary == "llama3" && !llama.approximate)
        let qwen = try catalog.model(named: "newhost/Qwen/Qwen3.5-9B")
        #expect(qwen.family == "Qwen 3.5" && qwen.vocabulary == "qwen3.5")
        #expect(abs((qwen.inputUSDPerMillion ?? 0) - 0.2) < 1e-12)
    }

    @Test func aBrokenRulesFileNamesTheProblem() throws {
        #expect(throws: TokcError.invalidVocabulary(path: "f.json", reason: "the pattern of family 'x' does not compile: \(TokcError.invalidPattern(pattern: "(", offset: 1, reason: "missing closing parenthesis"))")) {
            try ModelFamilies.parse(Array(#"{"format_version": 1, "rules": [{"family": "x", "pattern": "(", "vocabulary": null, "exact": false, "evidence": "e"}]}"#.utf8), path: "f.json")
        }
        #expect(throws: TokcError.malformedFile(path: "f.json", line: 1, expected: "format_version 1, not 2")) {
            try ModelFamilies.parse(Array(#"{"format_version": 2, "rules": []}"#.utf8), path: "f.json")
        }
    }
}
