import ArgumentParser
import Foundation
import Tokc

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare vocabularies on the same multilingual text: tokens, words, losses and parity per language.",
        discussion: """
            With no options: every shipped vocabulary on tokc's held-out corpus (Corpus/split) and parity on \
            Corpus/parallel.tsv, the table on standard output and tokc-compare.json, .csv and .html written in \
            the current folder. Metrics are defined in docs/metrics.md.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Vocabularies to compare, comma-separated: names or files; 'none' for only trained ones. Default: every shipped vocabulary.", valueName: "list"))
    var vocab: String?

    @Option(name: .long, help: ArgumentHelp("Schemes to train on the corpus's *.train.txt and compare, comma-separated: bpe, wordpiece, unigram, ungreedy.", valueName: "list"))
    var train: String?

    @Option(name: .long, help: "Vocabulary size for --train.")
    var vocabSize = 8000

    @Option(name: .long, help: ArgumentHelp("Folder of <lang>.heldout.txt (and <lang>.train.txt) or <lang>.txt files. Default: the shipped Corpus/split.", valueName: "folder"))
    var corpus: String?

    @Option(name: .long, help: ArgumentHelp("Only these corpus languages, comma-separated, in this order.", valueName: "list"))
    var languages: String?

    @Option(name: .long, help: ArgumentHelp("Parallel sentences for parity (parallel.tsv's layout). Default: the shipped Corpus/parallel.tsv.", valueName: "file"))
    var parallel: String?

    @Flag(name: .long, help: "No parity measurement.")
    var noParallel = false

    @Option(name: .long, help: ArgumentHelp("The parallel column other languages are divided by.", valueName: "code"))
    var reference = "en"

    @Option(name: .long, help: ArgumentHelp("Write the JSON report here (default PREFIX.json).", valueName: "file"))
    var json: String?

    @Option(name: .long, help: ArgumentHelp("Write the HTML report here (default PREFIX.html).", valueName: "file"))
    var html: String?

    @Option(name: .long, help: ArgumentHelp("Write the CSV table here (default PREFIX.csv).", valueName: "file"))
    var csv: String?

    @Option(name: .long, help: ArgumentHelp("Path prefix of the reports not named otherwise.", valueName: "prefix"))
    var output = "tokc-compare"

    @Flag(name: .long, help: "Write only the reports named by --json, --html, --csv (default: all three).")
    var onlyNamed = false

    func validate() throws {
        if vocabSize < 300 { throw ValidationError("--vocab-size must be at least 300") }
        for scheme in list(train) where Scheme(rawValue: scheme) == nil {
            throw ValidationError("--train takes \(Scheme.allCases.map(\.rawValue).joined(separator: ", ")); got '\(scheme)'")
        }
        if vocab == "none" && list(train).isEmpty { throw ValidationError("--vocab none needs --train") }
        if noParallel && parallel != nil { throw ValidationError("--no-parallel and --parallel exclude each other") }
    }

    private func list(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func run() throws {
        guard let folder = corpus ?? EvaluationCorpus.shippedFolder.map({ $0 + "/split" }) else {
            throw TokcError.unreadableFile(path: "Corpus/split", reason: "not found beside the vocabularies: name a folder with --corpus")
        }
        var options = Comparison.Options(corpus: try EvaluationCorpus(folder: folder, only: languages.map { list($0) }))
        if vocab == nil {
            options.candidates = try Comparison.Options.shippedCandidates()
        } else if vocab != "none" {
            options.candidates = list(vocab).map { .named($0) }
        }
        options.candidates += list(train).compactMap(Scheme.init(rawValue:)).map { .trained($0, vocabSize: vocabSize) }
        if !noParallel, let path = parallel ?? EvaluationCorpus.shippedParallelFile {
            options.parallel = try ParallelCorpus(path: path)
        }
        options.referenceLanguage = reference

        let bar = ProgressLine()
        let report = try Comparison(options: options).run { step in
            bar.show(step.step, done: step.done, total: step.total)
        }
        bar.clear()
        try Output.write(report.table())
        try Output.finish()

        let outputs: [(String?, String, () -> [UInt8])] = [
            (json, ".json", report.json), (csv, ".csv", report.csv), (html, ".html", report.html),
        ]
        for (named, suffix, render) in outputs {
            guard let path = named ?? (onlyNamed ? nil : output + suffix) else { continue }
            try FileIO.writeAtomically([render()], to: path)
            try Output.writeAll(Array("wrote \(path)\n".utf8), to: STDERR_FILENO)
        }
    }
}
