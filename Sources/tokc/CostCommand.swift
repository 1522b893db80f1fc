import ArgumentParser
import Foundation
import Tokc
import TokcProtocol
import TokcServer

struct CostCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cost",
        abstract: "Price files as a prompt for a model: tokens, dollars, and whether they fit its context window.",
        discussion: """
            Prices and context windows come from Vocabularies/models.json (every chat, completion, responses and \
            embedding model of LiteLLM's table, dated, under LiteLLM's keys: gpt-4o, azure/gpt-4o, \
            together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo); --prices lays a newer table over it (tokc's format \
            or LiteLLM's model_prices_and_context_window.json). Which vocabulary counts a model comes from the family \
            rules of Vocabularies/model-families.json: a model whose own tokenizer tokc does not ship is counted with \
            a stand-in and reported as an estimate, with the reason.
            """
    )

    @Option(name: .long, help: "The model, as the price table names it (gpt-4o, claude-sonnet-4-5, ...).")
    var model: String?

    @Option(name: .long, help: ArgumentHelp("Count with this vocabulary instead of the model's; the result is marked approximate unless it is the model's own.", valueName: "name"))
    var vocab: String?

    @Option(name: .long, help: ArgumentHelp("A price table laid over the shipped one.", valueName: "file"))
    var prices: String?

    @Option(name: .long, help: "Expected output tokens, priced at the model's output price.")
    var outputTokens = 0

    @Option(name: .long, help: "Token budget to check the input against (default: the model's input context window).")
    var budget: Int?

    @Flag(name: .long, help: "Recognise the vocabulary's special tokens in the input.")
    var allowSpecial = false

    @Flag(name: .long, help: "List the models the price table knows, with their vocabularies and prices.")
    var list = false

    @Option(name: .long, help: ArgumentHelp("With --list: only this provider's models (LiteLLM's name: azure, bedrock, together_ai ...).", valueName: "name"))
    var provider: String?

    @Option(name: .long, help: ArgumentHelp("With --list: only families whose name contains this (qwen, llama 3, mistral ...).", valueName: "text"))
    var family: String?

    @Flag(name: .long, help: "With --list: only models counted exactly.")
    var exact = false

    @Flag(name: .long, help: "With --list: per family and per provider, how many models are counted exactly, approximately, or not at all.")
    var summary = false

    @Flag(name: .long, help: "Print the JSON object the daemon's cost operation returns.")
    var json = false

    @Flag(name: .long, help: "Each file is a chat request (an OpenAI chat-completions body) or JSON Lines of them: price the prompts the model's chat template renders, one item each.")
    var chat = false

    @Option(name: .long, help: ArgumentHelp("With --chat: the chat template, a .jinja file or a tokenizer_config.json (default: the vocabulary's own).", valueName: "file"))
    var template: String?

    @Argument(help: ArgumentHelp("Files that make up the prompt; '-' is standard input.", valueName: "file"))
    var files: [String] = []

    func validate() throws {
        if !list && model == nil { throw ValidationError("give --model NAME, or --list to see the models") }
        if !list && (provider != nil || family != nil || exact || summary) {
            throw ValidationError("--provider, --family, --exact and --summary filter --list")
        }
        if list && model != nil { throw ValidationError("--list lists models; give no --model with it") }
        if let budget, budget <= 0 { throw ValidationError("--budget must be a positive number of tokens") }
        if outputTokens < 0 { throw ValidationError("--output-tokens must not be negative") }
        if template != nil && !chat { throw ValidationError("--template goes with --chat") }
    }

    func run() throws {
        let catalog = try ModelCatalog.load(pricesFile: prices)
        if list { return try printList(catalog) }
        let pricing = try ModelPricing(model: model ?? "", vocabulary: vocab, catalog: catalog)
        let budget = self.budget ?? pricing.defaultBudget
        var paths = files.isEmpty ? ["-"] : files
        var counts: [Tokenizer.BudgetedCount] = []
        var chatNote: String?
        if chat {
            let counting: ChatCounting = try template.map { .template(try ChatTemplate.load(file: $0)) }
                ?? VocabularyRegistry.standard.chatCounting(for: pricing.tokenizer.name)
            let notes = counting.notes(model: pricing.model.name, vocabulary: pricing.tokenizer.name, templateGiven: template != nil,
                                       remedy: "pass --template for the model's")
            chatNote = notes.isEmpty ? nil : notes.joined(separator: "; ")
            var labels: [String] = []
            for path in paths {
                for (label, request) in try ChatRequests.read(path) {
                    let tokens = try counting.promptTokens(request, tokenizer: pricing.tokenizer, allowSpecial: allowSpecial)
                    counts.append(Tokenizer.BudgetedCount(tokens: tokens, budget: budget, bytesWithinBudget: 0))
                    labels.append(label)
                }
            }
            paths = labels
        } else {
            for path in paths {
                let bytes = try FileIO.readAll(path)
                counts.append(bytes.withUnsafeBufferPointer {
                    pricing.tokenizer.count($0, budget: budget, allowedSpecial: allowSpecial ? .all : .none)
                })
            }
        }
        let estimate = pricing.estimate(counts, budget: budget, outputTokens: outputTokens)
        if json {
            var response = CostResponse(estimate)
            if let chatNote {
                response.approximate = true
                response.note = [response.note, chatNote].compactMap { $0 }.joined(separator: "; ")
            }
            try Output.write(Array(try JSONEncoder.protocol.encode(response)) + [UInt8(ascii: "\n")])
        } else {
            try printReport(estimate, paths: paths, chatNote: chatNote)
        }
        try Output.finish()
    }

    private func printReport(_ estimate: CostEstimate, paths: [String], chatNote: String? = nil) throws {
        let pricing = estimate.pricing
        let model = pricing.model
        let approximate = pricing.approximate || chatNote != nil
        let kind = pricing.approximate ? "ESTIMATE: \(pricing.note ?? "not the model's own tokenizer")" : chatNote.map { "ESTIMATE: \($0)" } ?? "exact"
        try Output.line("\(model.name): counted with \(pricing.tokenizer.name) (\(kind))")
        // Columns: an 8-character label, the token count right-aligned, then the rest.
        let width = max(6, String(max(estimate.inputTokens, estimate.outputTokens)).count)
        func row(_ label: String, _ tokens: Int?, _ rest: String) throws {
            let label = label + String(repeating: " ", count: 8 - label.count)
            try Output.line(label + (tokens.map { pad($0, width) } ?? String(repeating: " ", count: width)) + rest)
        }
        for (path, item) in zip(paths, estimate.items) {
            let verdict = item.fits ? "fits" : chat ? "over budget" : "over budget: the first \(estimate.budget) tokens end at byte \(item.bytesWithinBudget)"
            try row("", item.tokens, " \(path)  \(verdict)")
        }
        let budgetName = self.budget == nil ? "context window" : "budget"
        let fits = estimate.fits ? "fits the \(budgetName) of \(estimate.budget) tokens" : "exceeds the \(budgetName) of \(estimate.budget) tokens"
        try row("input", estimate.inputTokens, " tokens  \(dollars(estimate.inputCostUSD))  (\(perMillion(model.inputUSDPerMillion)))  \(fits)")
        if estimate.outputTokens > 0 {
            try row("output", estimate.outputTokens, " tokens  \(dollars(estimate.outputCostUSD))  (\(perMillion(model.outputUSDPerMillion)))")
        }
        try row("total", nil, (approximate ? "       ~ " : "         ") + dollars(estimate.costUSD))
        try Output.line("prices: \(model.priceSource ?? "unknown source")\(model.priceDate.map { ", as of \($0)" } ?? "")")
    }

    private func printList(_ catalog: ModelCatalog) throws {
        let models = catalog.models.filter { model in
            (provider.map { model.provider?.lowercased() == $0.lowercased() } ?? true)
                && (family.map { (model.family ?? "").lowercased().contains($0.lowercased()) } ?? true)
                && (!exact || (model.vocabulary != nil && !model.approximate))
        }
        if summary { return try printSummary(models) }
        if json {
            let response = ModelsResponse(id: .none, pricesFrom: catalog.pricesFrom, models: models.map(ModelsResponse.Model.init))
            try Output.write(Array(try JSONEncoder.protocol.encode(response)) + [UInt8(ascii: "\n")])
            return try Output.finish()
        }
        let width = models.map(\.name.count).max() ?? 0
        for model in models {
            let name = model.name + String(repeating: " ", count: width - model.name.count)
            let vocabulary = model.vocabulary.map { model.approximate ? "\($0) (estimate)" : $0 } ?? "no vocabulary"
            let window = model.maxInputTokens.map { "\($0) tokens" } ?? "window unknown"
            try Output.line("\(name)  \(vocabulary)  \(perMillion(model.inputUSDPerMillion)) in, \(perMillion(model.outputUSDPerMillion)) out  \(window)")
        }
        try Output.line("prices: \(catalog.pricesFrom)")
        try Output.finish()
    }

    /// Per family, then per provider: models counted exactly, approximately (a stand-in vocabulary), not at all.
    private func printSummary(_ models: [ModelCatalog.Model]) throws {
        struct Tally { var exact = 0, approximate = 0, none = 0 }
        func tally(by key: (ModelCatalog.Model) -> String) -> [(String, Tally)] {
            var tallies: [String: Tally] = [:]
            for model in models {
                if model.vocabulary == nil { tallies[key(model), default: Tally()].none += 1 }
                else if model.approximate { tallies[key(model), default: Tally()].approximate += 1 }
                else { tallies[key(model), default: Tally()].exact += 1 }
            }
            return tallies.sorted { ($0.value.exact + $0.value.approximate + $0.value.none, $1.key) > ($1.value.exact + $1.value.approximate + $1.value.none, $0.key) }
        }
        func table(_ title: String, _ rows: [(String, Tally)]) throws {
            let width = max(title.count, rows.map(\.0.count).max() ?? 0)
            func line(_ name: String, _ a: String, _ b: String, _ c: String, _ d: String) throws {
                try Output.line(name + String(repeating: " ", count: width - name.count) + [a, b, c, d].map { String(repeating: " ", count: max(0, 7 - $0.count)) + $0 }.joined(separator: "  "))
            }
            try line(title, "models", "exact", "approx", "none")
            for (name, tally) in rows {
                try line(name, String(tally.exact + tally.approximate + tally.none), String(tally.exact), String(tally.approximate), String(tally.none))
            }
        }
        try table("family", tally { $0.family ?? "(no rule)" })
        try Output.line("")
        try table("provider", tally { $0.provider ?? "(none)" })
        let exactCount = models.filter { $0.vocabulary != nil && !$0.approximate }.count
        try Output.line("")
        try Output.line("\(exactCount) of \(models.count) models counted exactly (\(String(format: "%.1f", models.isEmpty ? 0 : 100 * Double(exactCount) / Double(models.count)))%)")
        try Output.finish()
    }

    private func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: " ", count: max(0, width - text.count)) + text
    }

    private func dollars(_ value: Double?) -> String {
        guard let value else { return "price unknown" }
        return "$" + String(format: "%.6f", value)
    }

    private func perMillion(_ value: Double?) -> String {
        guard let value else { return "price unknown" }
        return "$" + String(format: "%.2f", value) + "/M"
    }
}
