/// A model, the tokenizer that counts for it, and whether that count is exact: what `tokc cost` and the
/// daemon's `cost` resolve a model name to before counting anything.
public struct ModelPricing: Sendable {
    public let model: ModelCatalog.Model
    public let tokenizer: Tokenizer
    /// False only when `tokenizer` is the model's own: a proxy, or a vocabulary the caller chose, is an estimate.
    public let approximate: Bool
    /// Why the count is approximate and which vocabulary stood in; nil when exact.
    public let note: String?

    /// Resolves `modelName` through `catalog`. `vocabulary` names a vocabulary to count with instead of the
    /// model's; the result is then approximate unless it is the model's own exact one. A model with no known
    /// vocabulary and none named throws `noTokenizer`: tokc never picks a proxy the table does not name.
    public init(
        model modelName: String, vocabulary: String? = nil, catalog: ModelCatalog,
        registry: VocabularyRegistry = .standard
    ) throws(TokcError) {
        try self.init(model: modelName, vocabulary: vocabulary, catalog: catalog) { name throws(TokcError) in
            try registry.load(name)
        }
    }

    /// Resolves as above, loading vocabularies through `load` (a daemon's own cache of named vocabularies).
    public init(
        model modelName: String, vocabulary: String?, catalog: ModelCatalog,
        load: (String) throws(TokcError) -> Tokenizer
    ) throws(TokcError) {
        let model = try catalog.model(named: modelName)
        let own = model.approximate ? nil : model.vocabulary
        guard let chosen = vocabulary ?? model.vocabulary else {
            throw .noTokenizer(model: model.name, note: model.tokenizerNote)
        }
        self.model = model
        self.tokenizer = try load(chosen)
        self.approximate = chosen != own
        switch (approximate, vocabulary) {
        case (false, _):
            note = nil
        case (true, nil):
            note = model.tokenizerNote ?? "\(chosen) stands in for \(model.name)'s tokenizer"
        case (true, let named?):
            note = "counted with \(named), not \(model.name)'s own tokenizer" + (own.map { " (\($0))" } ?? " (not public)")
        }
    }

    /// The cost of texts already counted against `budget`, plus `outputTokens` expected output tokens.
    public func estimate(_ counts: [Tokenizer.BudgetedCount], budget: Int, outputTokens: Int = 0) -> CostEstimate {
        CostEstimate(pricing: self, items: counts, budget: budget, outputTokens: outputTokens)
    }

    /// The token budget a request gets when it names none: the model's input context window.
    public var defaultBudget: Int { model.maxInputTokens ?? Int.max }
}

/// What a prompt costs on one model: tokens, dollars, and whether it fits the budget.
public struct CostEstimate: Sendable {
    public let pricing: ModelPricing
    /// One count per text, each against the same budget.
    public let items: [Tokenizer.BudgetedCount]
    /// The token budget each text, and all of them together, are measured against.
    public let budget: Int
    public let outputTokens: Int

    public var inputTokens: Int { items.reduce(0) { $0 + $1.tokens } }
    /// True when all the texts together fit the budget, as one prompt would.
    public var fits: Bool { inputTokens <= budget }
    public var inputCostUSD: Double? { pricing.model.inputCost(tokens: inputTokens) }
    public var outputCostUSD: Double? { pricing.model.outputCost(tokens: outputTokens) }
    /// Input plus output; nil when the table lacks a price that is needed (an output price with no output tokens
    /// is not needed).
    public var costUSD: Double? {
        guard let input = inputCostUSD else { return nil }
        if outputTokens == 0 { return input }
        return outputCostUSD.map { input + $0 }
    }
}
