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
        discussion: """
            Prints the training time, the peak memory and, on held-out text, the bytes per token (and, for \
            WordPiece, tokens per word and the share of [UNK] tokens). For a corpus file named X.train.txt, \
            X.heldout.txt beside it is the held-out text unless --held-out names files.
            """
    )

    @Option(name: .long, help: "Tokenizer scheme to train.")
    var scheme: Scheme = .bpe

    @Option(name: .long, help: "Tokens in the vocabulary: for bpe the 256 bytes, the merges and the special tokens; for wordpiece the special tokens, the alphabet and the merges.")
    var vocabSize: Int

    @Option(name: .long, help: ArgumentHelp("bpe: pre-tokenizer pattern: o200k, cl100k, gpt2, llama3 or a regex.", valueName: "name|regex"))
    var pattern = "o200k"

    @Option(name: .long, help: ArgumentHelp("bpe: Unicode normalisation before splitting: nfc or nfkc.", valueName: "form"))
    var normalize: String?

    @Option(name: .long, help: ArgumentHelp("wordpiece: keep the N most frequent characters as the alphabet (0: all).", valueName: "N"))
    var alphabetLimit = 1000

    @Option(name: .long, help: ArgumentHelp("wordpiece: the continuation prefix.", valueName: "text"))
    var prefix = "##"

    @Flag(name: .long, help: "wordpiece: keep case and accents (BERT cased); default uncased.")
    var cased = false

    @Option(name: .long, help: ArgumentHelp("wordpiece: bert (BERT's split), or icu-words (then ICU dictionary word breaking, BERT's CJK-character split off; written as vocab.txt only).", valueName: "kind"))
    var pretokenizer = "bert"

    @Option(name: .long, help: ArgumentHelp("wordpiece: ICU locale for --pretokenizer icu-words.", valueName: "id"))
    var locale = ""

    @Option(name: .long, help: ArgumentHelp("unigram: the share of character occurrences the alphabet covers; rarer characters become byte pieces.", valueName: "share"))
    var characterCoverage = 0.9995

    @Flag(name: .long, help: "unigram: no byte pieces; characters outside the alphabet are <unk>.")
    var noByteFallback = false

    @Flag(name: .long, help: "unigram: no normalisation rules (identity) instead of nmt_nfkc.")
    var identity = false

    @Flag(name: .long, help: "ungreedy: no capitalisation markers (capcode is on by default).")
    var noCapcode = false

    @Option(name: .long, help: ArgumentHelp("ungreedy: the longest token, in bytes.", valueName: "bytes"))
    var maxTokenBytes = 32

    @Option(name: .long, help: ArgumentHelp("ungreedy: the seed of the line sample (used when the corpus exceeds the sample).", valueName: "n"))
    var seed: UInt64 = 0

    @Option(name: .long, help: ArgumentHelp("ungreedy: seconds of distillation, after which the rest of the excess goes at once.", valueName: "seconds"))
    var timeBudget: Double?

    @Option(name: .long, help: "Pairs seen fewer times than this are not merged.")
    var minFrequency = 2

    @Option(name: .long, parsing: .singleValue, help: ArgumentHelp("A special token (repeatable). bpe: ids after the learned ones; none by default. wordpiece: the first ids; default [PAD] [UNK] [CLS] [SEP] [MASK].", valueName: "text"))
    var special: [String] = []

    @Option(name: .long, help: ArgumentHelp("The file to write.", valueName: "file"))
    var out: String

    @Option(name: .long, help: ArgumentHelp("bpe: tokenizer.json (Hugging Face: the exact merge list) or tiktoken (ranks; tiktoken's merge rule, checked on the held-out text). wordpiece: vocab.txt or tokenizer.json. unigram: sentencepiece (.model) or tokenizer.json. Default: from --out's extension (.txt, .tiktoken, .model, .json), else tokenizer.json (sentencepiece for unigram).", valueName: "format"))
    var format: String?

    /// `--format`, or what `--out` names.
    var fileFormat: String {
        if let format { return format }
        if out.hasSuffix(".txt") { return "vocab.txt" }
        if out.hasSuffix(".tiktoken") { return "tiktoken" }
        if scheme == .ungreedy { return UngreedyFormat.formatName }
        if out.hasSuffix(".model") || (scheme == .unigram && !out.hasSuffix(".json")) { return "sentencepiece" }
        return "tokenizer.json"
    }

    @Option(name: .long, parsing: .singleValue, help: ArgumentHelp("Held-out text to measure bytes per token on (repeatable).", valueName: "file"))
    var heldOut: [String] = []

    @Argument(help: ArgumentHelp("Training text; '-' is standard input.", valueName: "corpus"))
    var corpus: [String]

    func validate() throws {
        if corpus.isEmpty { throw ValidationError("name at least one corpus file") }
        if let normalize, !["nfc", "nfkc"].contains(normalize) { throw ValidationError("--normalize is nfc or nfkc") }
        if minFrequency < 1 { throw ValidationError("--min-frequency must be at least 1") }
        switch scheme {
        case .bpe:
            if !["tokenizer.json", "tiktoken"].contains(fileFormat) { throw ValidationError("--format is tokenizer.json or tiktoken for bpe") }
            if fileFormat == "tiktoken" && normalize != nil { throw ValidationError("tiktoken files have no normaliser: use --format tokenizer.json with --normalize") }
        case .wordpiece:
            if !["tokenizer.json", "vocab.txt"].contains(fileFormat) { throw ValidationError("--format is vocab.txt or tokenizer.json for wordpiece") }
            if !["bert", "icu-words"].contains(pretokenizer) { throw ValidationError("--pretokenizer is bert or icu-words") }
            if pretokenizer == "icu-words" && fileFormat == "tokenizer.json" {
                throw ValidationError("Hugging Face's tokenizer.json has no ICU word breaking: write vocab.txt (--out FILE.txt) and use it with --pretokenizer icu-words")
            }
            if alphabetLimit < 0 { throw ValidationError("--alphabet-limit is 0 (all) or more") }
        case .unigram:
            if !["sentencepiece", "tokenizer.json"].contains(fileFormat) { throw ValidationError("--format is sentencepiece (a .model file) or tokenizer.json for unigram") }
            if !(characterCoverage > 0 && characterCoverage <= 1) { throw ValidationError("--character-coverage is a share in (0, 1]") }
        case .ungreedy:
            if fileFormat != UngreedyFormat.formatName { throw ValidationError("--format is \(UngreedyFormat.formatName) (a JSON vocabulary) for ungreedy") }
            if maxTokenBytes < 2 { throw ValidationError("--max-token-bytes is 2 or more") }
            if let timeBudget, !(timeBudget >= 0) { throw ValidationError("--time-budget is seconds, 0 or more") }
        }
    }

    func run() throws {
        switch scheme {
        case .bpe: try trainBPE()
        case .wordpiece: try trainWordPiece()
        case .unigram: try trainUnigram()
        case .ungreedy: try trainUngreedy()
        }
    }

    private func trainUngreedy() throws {
        let clock = ContinuousClock()
        let started = clock.now
        var options = UngreedyTrainer.Options(vocabSize: vocabSize)
        options.capcode = !noCapcode
        options.maxTokenBytes = maxTokenBytes
        options.seed = seed
        options.timeBudget = timeBudget
        var trainer = try UngreedyTrainer(options: options)
        let model = try feedAndTrain(&trainer)
        try write(try model.serialize(format: fileFormat))
        let seconds = secondsSince(started, clock: clock)
        let tokenizer = try model.tokenizer(name: out)
        try Output.line("wrote \(out): \(model.encoder.idLimit) tokens in \(model.rounds) distillation rounds")
        try Output.line("time \(String(format: "%.2f", seconds)) s, peak memory \(peakMemoryMiB()) MiB")
        var (heldOutBytes, heldOutTokens) = (0, 0)
        for path in heldOutFiles() {
            let text = try FileIO.readAll(path)
            heldOutBytes += text.count
            heldOutTokens += tokenizer.count(text)
        }
        if heldOutTokens > 0 {
            try Output.line("held-out: \(heldOutBytes) bytes, \(heldOutTokens) tokens, \(String(format: "%.3f", Double(heldOutBytes) / Double(heldOutTokens))) bytes/token")
        }
        try Output.finish()
    }

    private func trainWordPiece() throws {
        let clock = ContinuousClock()
        let started = clock.now
        var options = WordPieceTrainer.Options(vocabSize: vocabSize)
        options.minFrequency = minFrequency
        options.alphabetLimit = alphabetLimit == 0 ? nil : alphabetLimit
        options.continuationPrefix = prefix
        options.lowercase = !cased
        options.icuWordLocale = pretokenizer == "icu-words" ? locale : nil
        if !special.isEmpty { options.specialTokens = special }
        var trainer = try WordPieceTrainer(options: options)
        let model = try feedAndTrain(&trainer)
        try write(try model.serialize(format: fileFormat))
        let seconds = secondsSince(started, clock: clock)
        let tokenizer = try model.tokenizer(name: out)
        try Output.line("wrote \(out): \(model.encoder.idLimit) tokens from \(trainer.distinctWords) distinct words")
        try Output.line("time \(String(format: "%.2f", seconds)) s, peak memory \(peakMemoryMiB()) MiB")
        // Words are BERT's (uncased or cased as trained, CJK ideographs apart) whatever splits the text for the
        // tokenizer, so that tokens per word compare across pre-tokenizers.
        let words = WordPieceFormat.bertTokenizer(model.encoder, name: out, lowercase: !cased)
        var (heldOutBytes, heldOutWords, heldOutTokens, unknown) = (0, 0, 0, 0)
        for path in heldOutFiles() {
            let text = try FileIO.readAll(path)
            heldOutBytes += text.count
            for line in text.split(separator: UInt8(ascii: "\n")) {
                let bytes = Array(line)
                heldOutWords += words.pieceCount(bytes)
                let ids = tokenizer.encode(bytes)
                heldOutTokens += ids.count
                unknown += ids.count { $0 == model.encoder.unknown }
            }
        }
        if heldOutTokens > 0 {
            try Output.line("held-out: \(heldOutBytes) bytes, \(heldOutWords) words, \(heldOutTokens) tokens, \(String(format: "%.3f", Double(heldOutTokens) / Double(max(1, heldOutWords)))) tokens/word, [UNK] \(String(format: "%.3f", 100 * Double(unknown) / Double(heldOutTokens)))% of tokens")
        }
        try Output.finish()
    }

    private func trainUnigram() throws {
        let clock = ContinuousClock()
        let started = clock.now
        var normalization = SentencePieceModel.Normalization()
        normalization.name = "identity"
        if !identity { normalization = try .nmtNFKC() }
        var options = UnigramTrainer.Options(vocabSize: vocabSize, normalization: normalization)
        options.characterCoverage = characterCoverage
        options.byteFallback = !noByteFallback
        var trainer = try UnigramTrainer(options: options)
        let model = try feedAndTrain(&trainer)
        let file = try model.serialize(format: fileFormat)
        try write(file)
        let seconds = secondsSince(started, clock: clock)
        // Measured as the written file encodes: SentencePiece's rules for .model, Hugging Face's for tokenizer.json.
        let tokenizer = fileFormat == "tokenizer.json"
            ? try TokenizerJSONFormat.load(file, name: out, path: out) : try model.tokenizer(name: out)
        try Output.line("wrote \(out): \(model.model.pieces.count) pieces from \(trainer.distinctWords) distinct words")
        try Output.line("time \(String(format: "%.2f", seconds)) s, peak memory \(peakMemoryMiB()) MiB")
        var (heldOutBytes, heldOutTokens) = (0, 0)
        for path in heldOutFiles() {
            let text = try FileIO.readAll(path)
            heldOutBytes += text.count
            for line in text.split(separator: UInt8(ascii: "\n")) { heldOutTokens += tokenizer.count(Array(line)) }
        }
        if heldOutTokens > 0 {
            try Output.line("held-out: \(heldOutBytes) bytes, \(heldOutTokens) tokens, \(String(format: "%.3f", Double(heldOutBytes) / Double(heldOutTokens))) bytes/token")
        }
        try Output.finish()
    }

    /// Adds every corpus file to the trainer and trains, showing progress on a terminal.
    private func feedAndTrain<T: Trainer>(_ trainer: inout T) throws -> T.Model {
        let progress = ProgressLine()
        for path in corpus {
            progress.show("reading \(path)")
            try trainer.add(file: path)
        }
        let model = try trainer.train { step in
            progress.show("\(step.phase) \(step.done)/\(step.total)")
        }
        progress.clear()
        return model
    }

    private func write(_ bytes: [UInt8]) throws {
        try FileIO.writeAtomically([bytes], to: out)
    }

    private func secondsSince(_ start: ContinuousClock.Instant, clock: ContinuousClock) -> Double {
        let elapsed = clock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    private func peakMemoryMiB() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss / 1024
    }

    private func trainBPE() throws {
        let format = fileFormat
        let clock = ContinuousClock()
        let started = clock.now
        var options = BPETrainer.Options(vocabSize: vocabSize)
        options.pattern = RegexPreTokenizer.Named(rawValue: pattern)?.pattern ?? pattern
        options.normalizer = normalize.flatMap(UnicodeNormalizer.init(rawValue:)) ?? .identity
        options.minFrequency = minFrequency
        options.specialTokens = special
        var trainer = try BPETrainer(options: options)
        let model = try feedAndTrain(&trainer)
        try write(try model.serialize(format: format))
        let seconds = secondsSince(started, clock: clock)

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
        try Output.line("wrote \(out): \(model.tokens.count + special.count) tokens (\(model.merges.count) merges) from \(trainer.distinctPieces) distinct pieces")
        try Output.line("time \(String(format: "%.2f", seconds)) s, peak memory \(peakMemoryMiB()) MiB")
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

    /// `[#####-----] 3/8 text`: a bar of how much of `total` is done, then what is being done now.
    func show(_ text: String, done: Int, total: Int) {
        let width = 20
        let filled = total > 0 ? min(width, width * done / total) : 0
        show("[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] \(done)/\(total) " + text)
    }

    func clear() {
        guard enabled else { return }
        try? Output.writeAll(Array("\r\u{1B}[K".utf8), to: STDERR_FILENO)
    }
}
