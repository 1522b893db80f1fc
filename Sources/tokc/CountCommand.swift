import ArgumentParser
import Foundation
import Tokc
import TokcClient
import TokcJinja

struct CountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "count",
        abstract: "Count the tokens of files.",
        discussion: """
            Prints the tokens of each file and, for several files, the total. '-' or no file reads standard input; \
            gzip input is read as its text. Any size is read in bounded memory: the text is cut only where the \
            vocabulary gives the same ids (line starts, a space after a word; for SentencePiece vocabularies a \
            space after an ASCII character), and every shipped vocabulary can be cut ('tokc vocab show NAME' says \
            "streams"). A text with no such place (CJK without line breaks for SentencePiece vocabularies; any \
            text for a --pattern of your own, which tokc cannot prove cuttable, "streams": false) is held whole \
            and still counted exactly. With --jsonl, --csv or --tsv each record's text is \
            counted alone, with every vocabulary, in bounded memory: totals and tokens per record (min, median, \
            p90, p99, max, nearest rank), or --per-record. --vocab a,b,c counts with several vocabularies while \
            the data is read once. A progress line goes to standard error when it is a terminal.
            """
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

    @Flag(name: .long, help: "Each line is a JSON record: count the strings of --field in it, each alone.")
    var jsonl = false

    @Option(name: .long, help: ArgumentHelp("With --jsonl: the field to count, keys separated by dots; * takes every element of a list (default: text).", valueName: "path"))
    var field: String?

    @Flag(name: .long, help: "CSV with a header line (RFC 4180 quoting): count the --column of each record.")
    var csv = false

    @Flag(name: .long, help: "TSV with a header line (tab-separated, the same quoting): count the --column of each record.")
    var tsv = false

    @Option(name: .long, help: ArgumentHelp("With --csv or --tsv: the column to count, as the header names it.", valueName: "name"))
    var column: String?

    @Flag(name: .long, help: "With records: count past a malformed record or one without the field, and report it, instead of stopping with an error.")
    var skipBad = false

    @Flag(name: .long, help: #"With records: print {"line":n,"tokens":k} per record instead of the totals."#)
    var perRecord = false

    @Argument(help: ArgumentHelp("Files to count; '-' is standard input.", valueName: "file"))
    var files: [String] = []

    /// `--jsonl`, `--csv` or `--tsv`, or nil for plain text.
    var recordFormat: RecordFormat? {
        get throws {
            if jsonl { return .jsonLines(try FieldPath(field ?? "text")) }
            if csv || tsv { return .delimited(column: column ?? "", separator: csv ? UInt8(ascii: ",") : 0x09) }
            return nil
        }
    }

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        let records = jsonl || csv || tsv
        if [jsonl, csv, tsv].filter({ $0 }).count > 1 { throw ValidationError("--jsonl, --csv and --tsv are different formats: give one") }
        if field != nil && !jsonl { throw ValidationError("--field goes with --jsonl") }
        if (csv || tsv) != (column != nil) { throw ValidationError(column == nil ? "--csv and --tsv need --column NAME, the header's name of the text" : "--column goes with --csv or --tsv") }
        if !records && (skipBad || perRecord) { throw ValidationError("--skip-bad and --per-record go with --jsonl, --csv or --tsv") }
        if records && (chat || socket != nil) { throw ValidationError("--jsonl, --csv and --tsv count here, without --chat or --socket") }
        if vocabulary.vocabNames.count > 1 && (chat || socket != nil) { throw ValidationError("several vocabularies count here, without --chat or --socket") }
        if vocabulary.vocabNames.contains(where: { $0?.isEmpty == true }) { throw ValidationError("--vocab a,b,c: a name is empty") }
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
        if socket == nil {
            let tokenizers = try vocabulary.loadAll(scheme: scheme)
            if let format = try recordFormat { return try countRecords(paths: paths, tokenizers: tokenizers, format: format) }
            return try countText(paths: paths, tokenizers: tokenizers)
        }
        let (vocab, counts) = try await countByDaemon(socket!, paths: paths)
        try printCounts(vocab: vocab, counts)
        try Output.finish()
    }

    /// Today's output: tokens per file and the total, or `{"vocab", "files", "total"}`.
    private func printCounts(vocab: String, _ counts: [Counted]) throws {
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
    }

    /// Plain text, streamed: each file through every vocabulary in one read.
    private func countText(paths: [String], tokenizers: [Tokenizer]) throws {
        let counter = TextStreamCounter(tokenizers: tokenizers, allowedSpecial: vocabulary.policy, threads: threadCount)
        let progress = ByteProgress()
        var results: [(path: String, bytes: Int, tokens: [Int])] = []
        for path in paths {
            let stream = try ByteStream(path: path)
            let (bytes, tokens) = try counter.count(stream) { progress.update(path, done: $0, stream: stream) }
            results.append((path, bytes, tokens))
        }
        progress.finish()
        if tokenizers.count == 1 {
            try printCounts(vocab: tokenizers[0].name, results.map { ($0.path, $0.bytes, $0.tokens[0]) })
            return try Output.finish()
        }
        let bytes = results.reduce(0) { $0 + $1.bytes }
        var blocks: [String] = []
        var rows: [Row] = []
        for (index, tokenizer) in tokenizers.enumerated() {
            let total = results.reduce(0) { $0 + $1.tokens[index] }
            if json {
                let files = results.map { #"{"path":\#(JSONText.quote($0.path)),"bytes":\#($0.bytes),"tokens":\#($0.tokens[index])}"# }
                blocks.append(#"{"vocab":\#(JSONText.quote(tokenizer.name)),"files":[\#(files.joined(separator: ","))],"total":\#(total),"bytes_per_token":\#(Self.ratio(bytes, total))}"#)
            } else {
                let items = results.map { (tokens: $0.tokens[index], label: $0.path, bytes: $0.bytes) }
                    + (results.count > 1 ? [(tokens: total, label: "total", bytes: bytes)] : [])
                for item in items {
                    rows.append((tokenizer.name, item.tokens, "\(item.label)  \(Self.ratio(item.bytes, item.tokens)) bytes/token"))
                }
            }
        }
        try Output.line(json ? #"{"vocabs":[\#(blocks.joined(separator: ","))]}"# : Self.aligned(rows))
        try Output.finish()
    }

    /// JSON Lines, CSV or TSV: each record's text alone, every vocabulary per record.
    private func countRecords(paths: [String], tokenizers: [Tokenizer], format: RecordFormat) throws {
        let counter = RecordCounter(tokenizers: tokenizers, format: format, allowedSpecial: vocabulary.policy,
                                    threads: threadCount, skipBad: skipBad)
        let progress = ByteProgress()
        var results: [(path: String, totals: RecordTotals)] = []
        for path in paths {
            let stream = try ByteStream(path: path)
            let label = paths.count > 1 ? #""path":\#(JSONText.quote(path)),"# : ""
            let each: ((RecordOutcome) throws -> Void)? = !perRecord ? nil : { outcome in
                switch outcome {
                case let .counted(line, tokens):
                    let value = tokens.count == 1 ? "\(tokens.first!)"
                        : "{" + zip(tokenizers, tokens).map { #"\#(JSONText.quote($0.name)):\#($1)"# }.joined(separator: ",") + "}"
                    try Output.line(#"{\#(label)"line":\#(line),"tokens":\#(value)}"#)
                case let .skipped(line, reason):
                    try Output.line(#"{\#(label)"line":\#(line),"error":\#(JSONText.quote("expected " + reason))}"#)
                }
            }
            let totals = try counter.count(stream, each: each) { progress.update(path, done: $0, stream: stream) }
            results.append((path, totals))
        }
        progress.finish()
        for result in results where result.totals.skipped > 0 && !json && !perRecord {
            let lines = result.totals.skippedLines.map(String.init).joined(separator: ", ") + (result.totals.skipped > result.totals.skippedLines.count ? ", …" : "")
            try? Output.writeAll(Array("tokc: skipped \(result.totals.skipped) bad records of \(result.path) (lines \(lines))\n".utf8), to: 2)
        }
        if perRecord { return try Output.finish() }
        var overall = [TokenDistribution](repeating: TokenDistribution(), count: tokenizers.count)
        for result in results {
            for index in tokenizers.indices { overall[index].merge(result.totals.distributions[index]) }
        }
        let textBytes = results.reduce(0) { $0 + $1.totals.textBytes }
        let skipped = results.reduce(0) { $0 + $1.totals.skipped }
        var blocks: [String] = []
        var rows: [Row] = []
        for (index, tokenizer) in tokenizers.enumerated() {
            let total = overall[index].tokens
            if json {
                let files = results.map { result in
                    let distribution = result.totals.distributions[index]
                    return #"{"path":\#(JSONText.quote(result.path)),"bytes":\#(result.totals.bytes),"tokens":\#(distribution.tokens),"records":\#(distribution.records),"text_bytes":\#(result.totals.textBytes),"distribution":\#(Self.json(distribution))"#
                        + (skipBad ? #","skipped":\#(result.totals.skipped),"skipped_lines":[\#(result.totals.skippedLines.map(String.init).joined(separator: ","))]"# : "") + "}"
                }
                blocks.append(#"{"vocab":\#(JSONText.quote(tokenizer.name)),"files":[\#(files.joined(separator: ","))],"total":\#(total),"records":\#(overall[index].records),"text_bytes":\#(textBytes),"bytes_per_token":\#(Self.ratio(textBytes, total)),"distribution":\#(Self.json(overall[index]))"#
                    + (skipBad ? #","skipped":\#(skipped)"# : "") + "}")
            } else {
                let items = results.map { (label: $0.path, distribution: $0.totals.distributions[index], bytes: $0.totals.textBytes) }
                    + (results.count > 1 ? [(label: "total", distribution: overall[index], bytes: textBytes)] : [])
                for item in items {
                    let summary = item.distribution.summary.map { "\($0.name) \($0.value)" }.joined(separator: ", ")
                    rows.append((tokenizers.count > 1 ? tokenizer.name : "", item.distribution.tokens,
                                 "\(item.label)  \(item.distribution.records) records"
                                    + (summary.isEmpty ? "" : "; tokens per record: \(summary)")
                                    + (tokenizers.count > 1 ? "; \(Self.ratio(item.bytes, item.distribution.tokens)) bytes/token" : "")))
                }
            }
        }
        if json {
            try Output.line(blocks.count == 1 ? blocks[0] : #"{"vocabs":[\#(blocks.joined(separator: ","))]}"#)
        } else {
            try Output.line(Self.aligned(rows))
        }
        try Output.finish()
    }

    /// `{"min":…, "median":…, "p90":…, "p99":…, "max":…}`, or null with no records.
    private static func json(_ distribution: TokenDistribution) -> String {
        let summary = distribution.summary
        return summary.isEmpty ? "null" : "{" + summary.map { #""\#($0.name)":\#($0.value)"# }.joined(separator: ",") + "}"
    }

    /// Bytes per token to two decimals (0 with no tokens).
    private static func ratio(_ bytes: Int, _ tokens: Int) -> String {
        tokens == 0 ? "0" : String(format: "%.2f", Double(bytes) / Double(tokens))
    }

    /// Rows of a vocabulary name, a count and the rest: the names padded to one width and the counts
    /// right-aligned under each other.
    private static func aligned(_ rows: [Row]) -> String {
        let nameWidth = rows.map(\.name.count).max() ?? 0
        let countWidth = rows.map { String($0.count).count }.max() ?? 0
        return rows.map { row in
            (nameWidth > 0 ? row.name.padding(toLength: nameWidth + 2, withPad: " ", startingAt: 0) : "")
                + String(repeating: " ", count: countWidth - String(row.count).count) + "\(row.count) \(row.rest)"
        }.joined(separator: "\n")
    }

    private typealias Row = (name: String, count: Int, rest: String)

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
