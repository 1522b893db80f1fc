import ArgumentParser
import Foundation
import Tokc

#if canImport(Glibc)
import Glibc
#endif

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a vocabulary on text files (one text per line).",
        discussion: "Prints the training time, the peak memory and, on held-out text, the bytes per token. For a corpus file named X.train.txt, X.heldout.txt beside it is the held-out text unless --held-out names files."
    )

    @Option(name: .long, help: "Tokenizer scheme to train.")
    var scheme: Scheme = .bpe

    @Option(name: .long, help: "Tokens in the vocabulary: 256 bytes, the merges and the special tokens.")
    var vocabSize: Int

    @Option(name: .long, help: ArgumentHelp("Pre-tokenizer pattern: o200k, cl100k, gpt2, llama3 or a regex.", valueName: "name|regex"))
    var pattern = "o200k"

    @Option(name: .long, help: ArgumentHelp("Unicode normalisation before splitting: nfc or nfkc.", valueName: "form"))
    var normalize: String?

    @Option(name: .long, help: "Pairs seen fewer times than this are not merged.")
    var minFrequency = 2

    @Option(name: .long, parsing: .singleValue, help: ArgumentHelp("A special token, given an id after the learned ones (repeatable).", valueName: "text"))
    var special: [String] = []

    @Option(name: .long, help: ArgumentHelp("The file to write.", valueName: "file"))
    var out: String

    @Option(name: .long, help: ArgumentHelp("tokenizer.json (Hugging Face: the exact merge list) or tiktoken (ranks; tiktoken's merge rule, checked on the held-out text).", valueName: "format"))
    var format = "tokenizer.json"

    @Option(name: .long, parsing: .singleValue, help: ArgumentHelp("Held-out text to measure bytes per token on (repeatable).", valueName: "file"))
    var heldOut: [String] = []

    @Argument(help: ArgumentHelp("Training text; '-' is standard input.", valueName: "corpus"))
    var corpus: [String]

    func validate() throws {
        if corpus.isEmpty { throw ValidationError("name at least one corpus file") }
        if let normalize, !["nfc", "nfkc"].contains(normalize) { throw ValidationError("--normalize is nfc or nfkc") }
        if minFrequency < 1 { throw ValidationError("--min-frequency must be at least 1") }
        if !["tokenizer.json", "tiktoken"].contains(format) { throw ValidationError("--format is tokenizer.json or tiktoken") }
        if format == "tiktoken" && normalize != nil { throw ValidationError("tiktoken files have no normaliser: use --format tokenizer.json with --normalize") }
    }

    func run() throws {
        let clock = ContinuousClock()
        let started = clock.now
        var options = BPETrainer.Options(vocabSize: vocabSize)
        options.pattern = RegexPreTokenizer.Named(rawValue: pattern)?.pattern ?? pattern
        options.normalizer = normalize.flatMap(UnicodeNormalizer.init(rawValue:)) ?? .identity
        options.minFrequency = minFrequency
        options.specialTokens = special
        var trainer = try BPETrainer(options: options)
        let progress = ProgressLine()
        for path in corpus {
            progress.show("reading \(path)")
            try trainer.add(file: path)
        }
        let model = try trainer.train { step in
            progress.show("\(step.phase) \(step.done)/\(step.total)")
        }
        progress.clear()
        let bytes = try model.serialize(format: format)
        guard FileManager.default.createFile(atPath: out, contents: Data(bytes)) else {
            throw TokcError.unreadableFile(path: out, reason: "cannot be written")
        }
        let elapsed = clock.now - started

        // Measured with the rule the written file gives: the merge list for tokenizer.json, tiktoken's for
        // tiktoken, whose ids are also compared with the merge list's line by line.
        let listTokenizer = try model.tokenizer(name: out)
        let fileTokenizer = format == "tiktoken" ? try model.tiktokenRuleTokenizer(name: out) : listTokenizer
        var heldOutBytes = 0
        var heldOutTokens = 0
        var heldOutLines = 0
        var differingLines = 0
        for path in heldOutFiles() {
            let text = try FileIO.readAll(path)
            heldOutBytes += text.count
            heldOutTokens += fileTokenizer.count(text)
            guard format == "tiktoken" else { continue }
            for line in text.split(separator: UInt8(ascii: "\n")) {
                heldOutLines += 1
                let bytes = Array(line)
                if fileTokenizer.encode(bytes) != listTokenizer.encode(bytes) { differingLines += 1 }
            }
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        try Output.line("wrote \(out): \(model.tokens.count + special.count) tokens (\(model.merges.count) merges) from \(trainer.distinctPieces) distinct pieces")
        try Output.line("time \(String(format: "%.2f", seconds)) s, peak memory \(usage.ru_maxrss / 1024) MiB")
        if heldOutTokens > 0 {
            try Output.line("held-out: \(heldOutBytes) bytes, \(heldOutTokens) tokens, \(String(format: "%.3f", Double(heldOutBytes) / Double(heldOutTokens))) bytes/token")
        }
        if format == "tiktoken" {
            if heldOutLines > 0 { try Output.line("tiktoken's rule gives the merge list's ids on \(heldOutLines - differingLines) of \(heldOutLines) held-out lines") }
            let specials = model.specialTokens.sorted { $0.value < $1.value }.map { "\($0.key) = \($0.value)" }
            let patternName = RegexPreTokenizer.Named(rawValue: pattern) != nil ? "tiktoken's \(pattern) pat_str" : "this pat_str: \(options.pattern)"
            try Output.line("a .tiktoken file holds ranks only: give tiktoken.Encoding \(patternName); special tokens: \(specials.isEmpty ? "none" : specials.joined(separator: ", "))")
        }
        try Output.finish()
    }

    private func heldOutFiles() -> [String] {
        if !heldOut.isEmpty { return heldOut }
        return corpus.compactMap { path in
            guard path.hasSuffix(".train.txt") else { return nil }
            let sibling = String(path.dropLast(".train.txt".count)) + ".heldout.txt"
            return FileManager.default.fileExists(atPath: sibling) ? sibling : nil
        }
    }
}

/// One status line on stderr, rewritten in place, only when stderr is a terminal.
final class ProgressLine {
    private let enabled = isatty(STDERR_FILENO) == 1
    private var last = ContinuousClock.now - .seconds(1)

    func show(_ text: String) {
        guard enabled, ContinuousClock.now - last > .milliseconds(100) else { return }
        last = ContinuousClock.now
        try? Output.writeAll(Array("\r\u{1B}[K\(text)".utf8), to: STDERR_FILENO)
    }

    func clear() {
        guard enabled else { return }
        try? Output.writeAll(Array("\r\u{1B}[K".utf8), to: STDERR_FILENO)
    }
}
