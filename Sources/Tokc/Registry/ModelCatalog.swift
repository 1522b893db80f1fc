import Foundation

/// Which vocabulary counts an LLM's tokens, how many it takes, and what they cost: `models.json`.
///
/// Two tables meet here, and they stay separate facts. Prices and context windows come from a price table
/// (shipped: LiteLLM's, with its date, every chat, completion, responses and embedding model of it); the
/// vocabulary of each model comes from tokc's family rules (`ModelFamilies`, `model-families.json`), which also
/// classify the models of a newer table laid over the shipped one. A model whose tokenizer tokc does not ship
/// is listed with a stand-in vocabulary and `approximate: true`, and the rule's evidence says why; a model with
/// no vocabulary at all cannot be counted, and asking is an error, never a silent fallback.
public struct ModelCatalog: Sendable, Equatable {
    public struct Model: Codable, Sendable, Equatable {
        public var name: String
        public var provider: String?
        /// The family rule that gave the vocabulary (`ModelFamilies`), if one did.
        public var family: String?
        /// The vocabulary that counts this model's tokens; nil when tokc knows none.
        public var vocabulary: String?
        /// True when `vocabulary` is a stand-in for a tokenizer that is not public: counts are estimates.
        public var approximate: Bool
        /// Why the count is approximate, for the user.
        public var tokenizerNote: String?
        /// The context window for input, in tokens.
        public var maxInputTokens: Int?
        public var maxOutputTokens: Int?
        public var inputUSDPerMillion: Double?
        public var outputUSDPerMillion: Double?
        /// Where the price was read, and on what day.
        public var priceSource: String?
        public var priceDate: String?

        public init(
            name: String, provider: String? = nil, family: String? = nil, vocabulary: String?, approximate: Bool = false,
            tokenizerNote: String? = nil, maxInputTokens: Int? = nil, maxOutputTokens: Int? = nil,
            inputUSDPerMillion: Double? = nil, outputUSDPerMillion: Double? = nil,
            priceSource: String? = nil, priceDate: String? = nil
        ) {
            self.name = name
            self.provider = provider
            self.family = family
            self.vocabulary = vocabulary
            self.approximate = approximate
            self.tokenizerNote = tokenizerNote
            self.maxInputTokens = maxInputTokens
            self.maxOutputTokens = maxOutputTokens
            self.inputUSDPerMillion = inputUSDPerMillion
            self.outputUSDPerMillion = outputUSDPerMillion
            self.priceSource = priceSource
            self.priceDate = priceDate
        }

        enum CodingKeys: String, CodingKey {
            case name, provider, family, vocabulary, approximate
            case tokenizerNote = "tokenizer_note"
            case maxInputTokens = "max_input_tokens"
            case maxOutputTokens = "max_output_tokens"
            case inputUSDPerMillion = "input_usd_per_million"
            case outputUSDPerMillion = "output_usd_per_million"
            case priceSource = "price_source"
            case priceDate = "price_date"
        }

        /// The price of `tokens` input tokens in US dollars; nil when the table has no input price.
        /// Takes the family, vocabulary and exactness of the first rule of `families` that matches this model; a
        /// model no rule matches has no vocabulary.
        mutating func classify(with families: ModelFamilies) {
            guard let rule = families.rule(forModel: name, provider: provider) else {
                (family, vocabulary, approximate, tokenizerNote) = (nil, nil, true, "no family rule matches this model")
                return
            }
            (family, vocabulary, approximate) = (rule.family, rule.vocabulary, !rule.exact)
            tokenizerNote = rule.exact ? nil : rule.evidence
        }

        public func inputCost(tokens: Int) -> Double? {
            inputUSDPerMillion.map { Double(tokens) * $0 / 1_000_000 }
        }

        /// The price of `tokens` output tokens in US dollars; nil when the table has no output price.
        public func outputCost(tokens: Int) -> Double? {
            outputUSDPerMillion.map { Double(tokens) * $0 / 1_000_000 }
        }
    }

    /// Models in file order.
    public private(set) var models: [Model]
    /// Where the prices came from, for humans (`LiteLLM … (litellm==1.109.1, MIT)`, plus any override file).
    public private(set) var pricesFrom: String
    private var index: [String: Int]

    public init(models: [Model], pricesFrom: String) {
        self.models = []
        self.index = [:]
        self.pricesFrom = pricesFrom
        for model in models { insert(model) }
    }

    private mutating func insert(_ model: Model) {
        if let position = index[model.name] {
            models[position] = model
        } else {
            index[model.name] = models.count
            models.append(model)
        }
    }

    /// The model called `name`. Unknown names throw `unknownModel` with the closest names.
    public func model(named name: String) throws(TokcError) -> Model {
        if let position = index[name] { return models[position] }
        throw .unknownModel(name: name, similar: similarNames(to: name))
    }

    /// Up to five known names closest to `name` by edit distance (`gpt4o` → `gpt-4o`, …).
    private func similarNames(to name: String) -> [String] {
        let target = Array(name.lowercased().utf8)
        let limit = max(3, target.count / 3)
        let scored = models.map { (name: $0.name, distance: Self.editDistance(target, Array($0.name.lowercased().utf8))) }
        return scored.filter { $0.distance <= limit }
            .sorted { ($0.distance, $0.name) < ($1.distance, $1.name) }.prefix(5).map(\.name)
    }

    /// Levenshtein distance over bytes, one row at a time.
    private static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        var previous = Array(0...b.count)
        var current = previous
        for (i, x) in a.enumerated() {
            current[0] = i + 1
            for (j, y) in b.enumerated() {
                current[j + 1] = Swift.min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// The catalog with `other`'s prices laid over this one. Models in both take `other`'s prices and context
    /// windows; they keep this catalog's vocabulary unless `other` names one (a tokc-format file does, a LiteLLM
    /// table does not). Models only in `other` are added as they are, except that a model of a table without
    /// vocabularies gets the one `families` gives it (the first family rule that matches its key), or none.
    public func overriding(with other: ModelCatalog, tokenizersFromOther: Bool, families: ModelFamilies? = nil) -> ModelCatalog {
        var merged = self
        for var model in other.models {
            if !tokenizersFromOther {
                if let base = index[model.name].map({ models[$0] }) {
                    model.family = base.family
                    model.vocabulary = base.vocabulary
                    model.approximate = base.approximate
                    model.tokenizerNote = base.tokenizerNote
                } else if let families {
                    model.classify(with: families)
                }
            }
            merged.insert(model)
        }
        merged.pricesFrom = pricesFrom + "; overridden by " + other.pricesFrom
        return merged
    }

    // MARK: - Files

    /// The two price tables tokc reads.
    public enum Format: Sendable, Equatable {
        /// tokc's `models.json`: `{"format_version": 1, "models": [...]}`, vocabularies included.
        case tokc
        /// LiteLLM's `model_prices_and_context_window.json`: `{name: {input_cost_per_token, ...}}`, prices only.
        case litellm
    }

    /// Parses a price table in either format; `path` names the file in errors.
    public static func parse(_ content: [UInt8], path: String) throws(TokcError) -> (catalog: ModelCatalog, format: Format) {
        let data = Data(content)
        let top: Any
        do {
            top = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw JSONErrors.syntaxError(in: data, path: path)
        }
        guard let object = top as? [String: Any] else {
            throw .malformedFile(path: path, line: 1, expected: "a JSON object: tokc's models.json or LiteLLM's price table")
        }
        if object["format_version"] != nil {
            do {
                let file = try JSONDecoder().decode(CatalogFile.self, from: data)
                guard file.formatVersion == 1 else {
                    throw TokcError.malformedFile(path: path, line: 1, expected: "format_version 1, not \(file.formatVersion)")
                }
                return (ModelCatalog(models: file.models, pricesFrom: file.pricesFrom ?? path), .tokc)
            } catch let error as DecodingError {
                throw .malformedFile(path: path, line: 1, expected: JSONErrors.describe(error))
            } catch let error as TokcError {
                throw error
            } catch {
                throw .malformedFile(path: path, line: 1, expected: "a tokc models.json (\(error))")
            }
        }
        return (ModelCatalog(models: litellmModels(object), pricesFrom: path), .litellm)
    }

    /// Loads the catalog: the first `models.json` in the registry's folders, then `pricesFile` laid over it.
    public static func load(
        registry: VocabularyRegistry = .standard, pricesFile: String? = nil
    ) throws(TokcError) -> ModelCatalog {
        guard let folder = registry.folders.first(where: { FileIO.isFile($0 + "/models.json") }) else {
            throw .unreadableFile(path: "Vocabularies/models.json", reason: "no vocabulary folder has a models.json; set TOKC_HOME to the tokc checkout or install with scripts/install.sh")
        }
        let path = folder + "/models.json"
        var catalog = try parse(try FileIO.readAll(path), path: path).catalog
        let families = try ModelFamilies.load(registry: registry)
        // The shipped table names each model's family; why an approximate one is approximate is its rule's evidence.
        if let families {
            for position in catalog.models.indices where catalog.models[position].approximate && catalog.models[position].tokenizerNote == nil {
                catalog.models[position].tokenizerNote = catalog.models[position].family.flatMap { families.rule(family: $0)?.evidence }
            }
        }
        if let pricesFile {
            let (override, format) = try parse(try FileIO.readAll(pricesFile), path: pricesFile)
            catalog = catalog.overriding(with: override, tokenizersFromOther: format == .tokc, families: families)
        }
        return catalog
    }

    /// LiteLLM entries that have a per-token input price. Its `sample_spec` documents the fields with strings in
    /// place of numbers, and other entries vary, so each field is read only when it has the expected type.
    private static func litellmModels(_ object: [String: Any]) -> [Model] {
        func number(_ value: Any?) -> Double? { (value as? NSNumber)?.doubleValue }
        var result: [Model] = []
        for name in object.keys.sorted() {
            guard let spec = object[name] as? [String: Any], let input = number(spec["input_cost_per_token"]) else { continue }
            result.append(Model(
                name: name, provider: spec["litellm_provider"] as? String, vocabulary: nil,
                maxInputTokens: number(spec["max_input_tokens"]).map { Int($0) },
                maxOutputTokens: number(spec["max_output_tokens"]).map { Int($0) },
                inputUSDPerMillion: input * 1_000_000,
                outputUSDPerMillion: number(spec["output_cost_per_token"]).map { $0 * 1_000_000 },
                priceSource: spec["source"] as? String, priceDate: nil))
        }
        return result
    }

    private struct CatalogFile: Codable {
        var formatVersion: Int
        var pricesFrom: String?
        var models: [Model]
        enum CodingKeys: String, CodingKey {
            case models
            case formatVersion = "format_version"
            case pricesFrom = "prices_from"
        }
    }
}
