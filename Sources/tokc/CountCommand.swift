import ArgumentParser
import Foundation
import Tokc
import TokcClient
import TokcJinja

struct CountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "count",
        abstract: "Count the tokens of files.",
        discussion: "Prints the tokens of each file and, for several files, the total. '-' or no file reads standard input."
    )

    @Option(name: .long, help: "Tokenizer scheme; its default vocabulary is used unless --vocab names one.")
    var scheme: Scheme = .bpe

    @OptionGroup var vocabulary: VocabularyOptions

    @Flag(name: .long, help: #"Print {"vocab":…, "files":[{"path":…, "bytes":…, "tokens":…}], "total":…}."#)
    var json = false

    @Option(name: .long, help: ArgumentHelp("Threads for a long input (default: all cores). The text is cut only where the vocabulary's split guarantees the same ids; vocabularies that cannot be cut use one.", valueName: "n"))
    var threads: Int?

    /// `--threads`, or every core.
    var threadCount: Int { threads ?? ProcessInfo.processInfo.activeProcessorCount }

    @Option(name: .long, help: ArgumentHelp("Ask the daemon on this socket ('tokc serve') instead of loading the vocabulary here.", valueName: "path"))
    var socket: String?

    @Flag(name: .long, help: "Each file is a chat request (an OpenAI chat-completions body: messages, tools, add_generation_prompt) or JSON Lines of them: count the prompt the model's chat template renders.")
    var chat = false

    @Option(name: .long, help: ArgumentHelp("With --chat: the chat template, a .jinja file or a tokenizer_config.json (default: the vocabulary's own, for the shipped ones that have one and for GGUF files).", valueName: "file"))
    var template: String?

    @Flag(name: .long, help: "With --chat: print each rendered prompt (with --json, as \"prompt\").")
    var showPrompt = false

    @Option(name: .long, help: ArgumentHelp("With --chat: the model, as the price table names it; its vocabulary (and that vocabulary's template) counts, marked approximate where it is not the model's own.", valueName: "name"))
    var model: String?

    @Argument(help: ArgumentHelp("Files to count; '-' is standard input.", valueName: "file"))
    var files: [String] = []

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if !chat && (template != nil || showPrompt || model != nil) { throw ValidationError("--template, --show-prompt and --model go with --chat") }
        if chat && socket != nil { throw ValidationError("--chat counts here; the daemon's chat requests are not served yet") }
        if socket != nil && vocabulary.pattern != nil {
            throw ValidationError("--pattern applies to a vocabulary file loaded here, not to the daemon's named vocabularies")
        }
        if socket != nil && vocabulary.pretokenizer != .vocabulary {
            throw ValidationError("--pretokenizer applies to a vocabulary loaded here; the daemon counts with its vocabularies as they are")
        }
        // A name wins over a file of the same name, as in VocabularyRegistry.load.
        if socket != nil, let vocab = vocabulary.vocab, FileIO.isFile(vocab),
           (try? VocabularyRegistry.standard.vocabularies())?.contains(where: { $0.entry.name == vocab }) != true {
            throw ValidationError("--vocab \(vocab) is a file, and the daemon loads vocabularies by name only (as 'tokc vocab list' shows them); count without --socket, or list the file in a manifest of the daemon's TOKC_VOCAB_PATH")
        }
    }

    func run() async throws {
        if chat { return try countChat() }
        let paths = files.isEmpty ? ["-"] : files
        let (vocab, counts) = if let socket { try await countByDaemon(socket, paths: paths) } else { try countHere(paths: paths) }
        let total = counts.reduce(0) { $0 + $1.tokens }
        if json {
            let files = counts.map { #"{"path":\#(JSONText.quote($0.path)),"bytes":\#($0.bytes),"tokens":\#($0.tokens)}"# }
            try Output.line(#"{"vocab":\#(JSONText.quote(vocab)),"files":[\#(files.joined(separator: ","))],"total":\#(total)}"#)
        } else {
            let width = String(total).count
            for count in counts {
                try Output.line(String(repeating: " ", count: width - String(count.tokens).count) + "\(count.tokens) \(count.path)")
            }
            if counts.count > 1 { try Output.line("\(total) total") }
        }
        try Output.finish()
    }

    private typealias Counted = (path: String, bytes: Int, tokens: Int)

    /// `--chat`: every request of every file through the template; one line (or JSON object) per request.
    private func countChat() throws {
        let registry = VocabularyRegistry.standard
        let tokenizer: Tokenizer
        let vocabName: String
        var pricing: ModelPricing?
        if let model {
            pricing = try ModelPricing(model: model, vocabulary: vocabulary.vocab, catalog: try ModelCatalog.load(pricesFile: nil))
            tokenizer = pricing!.tokenizer
            vocabName = tokenizer.name
        } else {
            tokenizer = try vocabulary.load(scheme: scheme)
            vocabName = try vocabulary.vocab ?? registry.defaultVocabulary(for: scheme)
        }
        let counting: ChatCounting = try template.map { .template(try ChatTemplate.load(file: $0)) }
            ?? registry.chatCounting(for: vocabName)
        // What rendered the prompt: the template file, Mistral's or harmony's encoding, the vocabulary's own
        // template, or OpenAI's estimate.
        let templateName = template ?? (counting.isApproximate ? "openai-estimate" : counting.encodingName ?? vocabName)
        if showPrompt, case .openAIEstimate = counting {
            throw TokcError.invalidTemplate("OpenAI's estimate renders no prompt (--show-prompt needs a template)")
        }
        var results: [(label: String, tokens: Int, contentTokens: Int, text: String?)] = []
        for path in files.isEmpty ? ["-"] : files {
            for (label, request) in try ChatRequests.read(path) {
                if let prompt = try counting.encode(request, tokenizer: tokenizer, allowSpecial: vocabulary.allowSpecial) {
                    results.append((label, prompt.tokens, prompt.contentTokens, prompt.text))
                } else {
                    let (tokens, contentTokens) = try counting.count(request, tokenizer: tokenizer)
                    results.append((label, tokens, contentTokens, nil))
                }
            }
        }
        let total = results.reduce(0) { $0 + $1.tokens }
        // A model's own vocabulary through its own template is exact; a stand-in vocabulary, OpenAI's rule, or a
        // shipped template not known to be the model's format is not.
        let notes = [pricing?.note].compactMap { $0 } + counting.notes(
            model: pricing?.model.name, vocabulary: vocabName, templateGiven: template != nil, remedy: "pass --template for the model's")
        let modelField = pricing.map { #","model":\#(JSONText.quote($0.model.name))"# } ?? ""
        let approximate = modelField + (notes.isEmpty ? (pricing != nil ? #","approximate":false"# : "")
            : #","approximate":true,"note":\#(JSONText.quote(notes.joined(separator: "; ")))"#)
        if json {
            let requests = results.map { result in
                #"{"source":\#(JSONText.quote(result.label)),"tokens":\#(result.tokens),"content_tokens":\#(result.contentTokens),"template_tokens":\#(result.tokens - result.contentTokens)"#
                    + (showPrompt ? #","prompt":\#(JSONText.quote(result.text ?? ""))"# : "") + "}"
            }
            try Output.line(#"{"vocab":\#(JSONText.quote(tokenizer.name)),"template":\#(JSONText.quote(templateName))\#(approximate),"requests":[\#(requests.joined(separator: ","))],"total":\#(total)}"#)
        } else {
            let width = String(total).count
            for result in results {
                if showPrompt, let text = result.text { try Output.line(text) }
                try Output.line(String(repeating: " ", count: width - String(result.tokens).count) + "\(result.tokens) \(result.label)")
            }
            if results.count > 1 { try Output.line("\(total) total") }
            for note in notes { try? Output.writeAll(Array("tokc: note: \(note)\n".utf8), to: 2) }
        }
        try Output.finish()
    }

    private func countHere(paths: [String]) throws -> (String, [Counted]) {
        let tokenizer = try vocabulary.load(scheme: scheme)
        let counts = try paths.map { path -> Counted in
            let bytes = try FileIO.readAll(path)
            let tokens = bytes.withUnsafeBufferPointer { tokenizer.count($0, allowedSpecial: vocabulary.policy, threads: threadCount) }
            return (path, bytes.count, tokens)
        }
        return (tokenizer.name, counts)
    }

    /// Files go to the daemon as paths, so it reads their bytes itself; standard input is sent as text, which
    /// JSON can carry only when it is UTF-8.
    private func countByDaemon(_ socket: String, paths: [String]) async throws -> (String, [Counted]) {
        let client = TokcClient(socketPath: socket)
        defer { Task { await client.close() } }
        let vocab = try vocabulary.vocab ?? VocabularyRegistry.standard.defaultVocabulary(for: scheme)
        var counts: [Counted] = []
        let files = paths.filter { $0 != "-" }
        let answer = try await client.count(paths: files, vocab: vocab, allowSpecial: vocabulary.allowSpecial)
        for (index, path) in files.enumerated() {
            counts.append((path, answer.bytes[index], answer.counts[index]))
        }
        if paths.contains("-") {
            let bytes = try FileIO.readAll("-")
            guard let text = String(validating: bytes, as: UTF8.self) else {
                // Bad input (exit 2), not a usage error: the same command succeeds on UTF-8 text.
                let end = bytes.withUnsafeBufferPointer { UTF8Scan.wellFormedEnd(in: $0, from: 0) }
                let line = 1 + bytes[..<end].count { $0 == UInt8(ascii: "\n") }
                throw TokcError.malformedInput(source: "standard input", line: line, expected: "UTF-8, the only text the daemon's JSON carries; save the bytes to a file and count the file, which the daemon reads byte for byte, or count without --socket")
            }
            let answer = try await client.count([text], vocab: vocab, allowSpecial: vocabulary.allowSpecial)
            counts.insert(("-", answer.bytes[0], answer.counts[0]), at: paths.firstIndex(of: "-") ?? 0)
        }
        return (answer.vocab, counts)
    }
}

/// The chat requests of a file: one JSON object, or JSON Lines of them (blank lines skipped), each labelled
/// with the file and, for JSON Lines, its line.
enum ChatRequests {
    static func read(_ path: String) throws -> [(String, JinjaValue)] {
        let bytes = try FileIO.readAll(path)
        let name = path == "-" ? "standard input" : path
        if let whole = try? JinjaValue.parseJSON(bytes, what: name), case .dictionary = whole { return [(path, whole)] }
        var requests: [(String, JinjaValue)] = []
        for (index, line) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
            if trimmed.isEmpty { continue }
            let value: JinjaValue
            do {
                value = try JinjaValue.parseJSON(Array(line), what: "\(name):\(index + 1)")
            } catch {
                throw TokcError.malformedInput(source: name, line: index + 1, expected: "a chat request: a JSON object (the file is neither one JSON object nor JSON Lines of them): \(error)")
            }
            guard case .dictionary = value else {
                throw TokcError.malformedInput(source: name, line: index + 1, expected: "a chat request, a JSON object with \"messages\"")
            }
            requests.append(("\(path):\(index + 1)", value))
        }
        return requests
    }
}

/// JSON string literals for the little JSON the CLI writes by hand (a fixed key order, no Foundation).
enum JSONText {
    static func quote(_ text: String) -> String {
        var output = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output + "\""
    }
}
