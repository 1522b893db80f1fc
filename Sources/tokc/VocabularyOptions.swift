import ArgumentParser
import Tokc

/// Options every command that loads a vocabulary shares.
struct VocabularyOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("A vocabulary name from 'tokc vocab list', or a path to a .tiktoken, tokenizer.json (BPE, WordPiece, Unigram), BERT vocab.txt, SentencePiece .model or tokc-ungreedy JSON file.", valueName: "name|path"))
    var vocab: String?

    @Option(name: .long, help: ArgumentHelp("Pre-tokenizer pattern for a vocabulary file no manifest describes: o200k, cl100k, gpt2, llama3, kimi, or a regex. Text a regex of yours does not match is kept as pieces of its own (as Hugging Face's Split does); tiktoken drops it, so there the ids differ from tiktoken's.", valueName: "name|regex"))
    var pattern: String?

    @Flag(name: .long, help: "Recognise the vocabulary's special tokens (<|endoftext|> ...) in the input. Off: their text is ordinary text.")
    var allowSpecial = false

    @Option(name: .long, help: ArgumentHelp("vocabulary: the vocabulary's own splitting; icu-words: then ICU dictionary word breaking (Japanese, Chinese, Thai), with BERT's CJK-character split off.", valueName: "kind"))
    var pretokenizer: PreTokenizerChoice = .vocabulary

    @Option(name: .long, help: ArgumentHelp("ICU locale for --pretokenizer icu-words (ja, zh, th; default: the root locale, which has the same dictionaries).", valueName: "id"))
    var locale = ""

    var policy: SpecialTokenPolicy { allowSpecial ? .all : .none }

    /// The tokenizer named by `--vocab`, or the scheme's default, with `--pretokenizer` applied.
    func load(scheme: Scheme = .bpe) throws -> Tokenizer {
        try load(named: vocab, scheme: scheme)
    }

    /// The vocabularies `--vocab a,b,c` names (`tokc count` reads the data once for all of them); a file whose
    /// path has a comma is one vocabulary.
    var vocabNames: [String?] {
        guard let vocab, vocab.contains(","), !FileIO.isFile(vocab) else { return [vocab] }
        return vocab.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    }

    func loadAll(scheme: Scheme = .bpe) throws -> [Tokenizer] {
        try vocabNames.map { try load(named: $0, scheme: scheme) }
    }

    private func load(named vocab: String?, scheme: Scheme) throws -> Tokenizer {
        let registry = VocabularyRegistry.standard
        let name = try vocab ?? registry.defaultVocabulary(for: scheme)
        let tokenizer = try registry.load(name, pattern: pattern)
        return pretokenizer == .icuWords ? tokenizer.withICUWordBreaking(locale: locale) : tokenizer
    }
}

/// `--pretokenizer`: what splits text before the encoder.
enum PreTokenizerChoice: String, ExpressibleByArgument, CaseIterable {
    case vocabulary
    case icuWords = "icu-words"
}

extension Scheme: ExpressibleByArgument {}
