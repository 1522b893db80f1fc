import Foundation
import Testing
@testable import Tokc

@Suite struct ModelCatalogTests {
    static let registry = VocabularyRegistry(folders: [Fixtures.repositoryRoot + "/Vocabularies"])

    static func write(_ text: String) throws -> String {
        try Fixtures.writeScratch(text.utf8, name: "prices")
    }

    @Test func theShippedTableMapsModelsToVocabulariesWithDatedPrices() throws {
        let catalog = try ModelCatalog.load(registry: Self.registry)
        let gpt4o = try catalog.model(named: "gpt-4o")
        #expect(gpt4o.vocabulary == "o200k_base" && !gpt4o.approximate)
        #expect(gpt4o.inputUSDPerMillion == 2.5 && gpt4o.outputUSDPerMillion == 10 && gpt4o.maxInputTokens == 128_000)
        #expect(gpt4o.priceDate == "2026-11-23" && gpt4o.priceSource != nil)
        #expect(try catalog.model(named: "gpt-4").vocabulary == "cl100k_base")
        #expect(try catalog.model(named: "text-embedding-3-small").vocabulary == "cl100k_base")
        let claude = try catalog.model(named: "claude-sonnet-4-5")
        #expect(claude.vocabulary == "o200k_base" && claude.approximate && claude.tokenizerNote != nil)
        // Every model has a date and a source, and every vocabulary it names exists.
        let known = Set(try Self.registry.vocabularies().map(\.entry.name))
        for model in catalog.models {
            #expect(model.priceDate != nil && model.priceSource != nil, "\(model.name)")
            if let vocabulary = model.vocabulary { #expect(known.contains(vocabulary), "\(model.name)") }
        }
    }

    @Test func unknownModelsSuggestTheClosestNames() throws {
        let catalog = try ModelCatalog.load(registry: Self.registry)
        #expect(throws: TokcError.unknownModel(name: "gpt4o", similar: ["gpt-4o", "gpt-4", "gpt-5", "gpt-4.1"])) {
            try catalog.model(named: "gpt4o")
        }
    }

    @Test func pricingIsExactOnlyWithTheModelsOwnVocabulary() throws {
        let catalog = try ModelCatalog.load(registry: Self.registry)
        let own = try ModelPricing(model: "gpt-4o", catalog: catalog, registry: Self.registry)
        #expect(!own.approximate && own.note == nil && own.tokenizer.name == "o200k_base")
        let sameByName = try ModelPricing(model: "gpt-4o", vocabulary: "o200k_base", catalog: catalog, registry: Self.registry)
        #expect(!sameByName.approximate)
        let other = try ModelPricing(model: "gpt-4o", vocabulary: "cl100k_base", catalog: catalog, registry: Self.registry)
        #expect(other.approximate && other.note == "counted with cl100k_base, not gpt-4o's own tokenizer (o200k_base)")
        let proxy = try ModelPricing(model: "gemini-2.5-pro", catalog: catalog, registry: Self.registry)
        #expect(proxy.approximate && proxy.note == "Google does not publish Gemini's tokenizer; o200k_base stands in")
        // A model a tokc-format table lists with no vocabulary cannot be counted unless one is named.
        let path = try Self.write("""
            {"format_version": 1, "models": [{"name": "mystery", "vocabulary": null, "approximate": true,
              "tokenizer_note": "nobody knows", "input_usd_per_million": 1}]}
            """)
        let withMystery = try ModelCatalog.load(registry: Self.registry, pricesFile: path)
        #expect(throws: TokcError.noTokenizer(model: "mystery", note: "nobody knows")) {
            try ModelPricing(model: "mystery", catalog: withMystery, registry: Self.registry)
        }
        let named = try ModelPricing(model: "mystery", vocabulary: "o200k_base", catalog: withMystery, registry: Self.registry)
        #expect(named.approximate && named.note == "counted with o200k_base, not mystery's own tokenizer (not public)")
    }

    @Test func estimateAddsInputAndOutputAndChecksTheBudget() throws {
        let catalog = try ModelCatalog.load(registry: Self.registry)
        let pricing = try ModelPricing(model: "gpt-4o", catalog: catalog, registry: Self.registry)
        let counts = [
            pricing.tokenizer.count("hello world", budget: 3),
            pricing.tokenizer.count("one two three four", budget: 3),
        ]
        #expect(counts[0] == Tokenizer.BudgetedCount(tokens: 2, budget: 3, bytesWithinBudget: 11))
        #expect(counts[1] == Tokenizer.BudgetedCount(tokens: 4, budget: 3, bytesWithinBudget: "one two three".utf8.count))
        let estimate = pricing.estimate(counts, budget: 3, outputTokens: 100)
        #expect(estimate.inputTokens == 6 && !estimate.fits)
        #expect(estimate.inputCostUSD == 6 * 2.5 / 1_000_000)
        #expect(estimate.costUSD == 6 * 2.5 / 1_000_000 + 100 * 10.0 / 1_000_000)
    }

    @Test func budgetBytesCoverSpecialTokensAndSplitCharacters() throws {
        let tokenizer = try Self.registry.load("o200k_base")
        let text = "a<|endoftext|>東京"
        let ids = tokenizer.encode(text, allowedSpecial: .all)
        for budget in 1...ids.count + 1 {
            let counted = tokenizer.count(text, budget: budget, allowedSpecial: .all)
            #expect(counted.tokens == ids.count)
            #expect(counted.bytesWithinBudget == (try tokenizer.decode(ids.prefix(budget))).count)
        }
    }

    @Test func aLiteLLMTableOverridesPricesButKeepsTheVocabularies() throws {
        let path = try Self.write("""
            {"sample_spec": {"max_input_tokens": "max input tokens, if the provider specifies it", "input_cost_per_token": 0},
             "gpt-4o": {"input_cost_per_token": 1e-06, "output_cost_per_token": 4e-06, "max_input_tokens": 64000, "litellm_provider": "openai"},
             "brand-new": {"input_cost_per_token": 3e-06, "litellm_provider": "someone"}}
            """)
        let catalog = try ModelCatalog.load(registry: Self.registry, pricesFile: path)
        let gpt4o = try catalog.model(named: "gpt-4o")
        #expect(gpt4o.vocabulary == "o200k_base" && !gpt4o.approximate)
        #expect(gpt4o.inputUSDPerMillion == 1 && gpt4o.outputUSDPerMillion == 4 && gpt4o.maxInputTokens == 64_000)
        #expect(try catalog.model(named: "gpt-4").inputUSDPerMillion == 30, "models the override lacks keep the shipped price")
        // A model the shipped table lacks gets its family rule: here none but the catch-all, an estimate.
        let added = try catalog.model(named: "brand-new")
        #expect(added.family == "other" && added.vocabulary == "o200k_base" && added.approximate && added.inputUSDPerMillion == 3)
        #expect(catalog.pricesFrom.hasSuffix("overridden by \(path)"))
    }

    @Test func aTokcFormatTableCanRemapVocabularies() throws {
        let path = try Self.write("""
            {"format_version": 1, "prices_from": "my table", "models": [
              {"name": "gpt-4o", "vocabulary": "cl100k_base", "approximate": false, "input_usd_per_million": 9}]}
            """)
        let catalog = try ModelCatalog.load(registry: Self.registry, pricesFile: path)
        let gpt4o = try catalog.model(named: "gpt-4o")
        #expect(gpt4o.vocabulary == "cl100k_base" && gpt4o.inputUSDPerMillion == 9 && gpt4o.maxInputTokens == nil)
    }

    @Test func malformedTablesNameTheFileAndLine() throws {
        let broken = try Self.write("{\n\"format_version\": 1,\n\"models\": [\n{\"name\": }\n]}")
        #expect {
            try ModelCatalog.load(registry: Self.registry, pricesFile: broken)
        } throws: { error in
            guard case let .malformedFile(path, line, expected) = error as? TokcError else { return false }
            return path == broken && line == 4 && expected.hasPrefix("valid JSON")
        }
        let wrongType = try Self.write(#"{"format_version": 1, "models": [{"name": "x", "vocabulary": 3, "approximate": false}]}"#)
        #expect(throws: TokcError.malformedFile(path: wrongType, line: 1, expected: "a value of type String at .models[0].vocabulary")) {
            try ModelCatalog.load(registry: Self.registry, pricesFile: wrongType)
        }
        let array = try Self.write("[1, 2]")
        #expect(throws: TokcError.malformedFile(path: array, line: 1, expected: "a JSON object: tokc's models.json or LiteLLM's price table")) {
            try ModelCatalog.load(registry: Self.registry, pricesFile: array)
        }
    }
}
