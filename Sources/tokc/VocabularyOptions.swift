import ArgumentParser
import Tokc

/// Options every command that loads a vocabulary shares.
struct VocabularyOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("A vocabulary name from 'tokc vocab list', or a path to a .tiktoken file.", valueName: "name|path"))
    var vocab: String?

    @Option(name: .long, help: ArgumentHelp("Pre-tokenizer pattern for a vocabulary file no manifest describes: o200k, cl100k, gpt2, llama3, or a regex.", valueName: "name|regex"))
    var pattern: String?

    @Flag(name: .long, help: "Recognise the vocabulary's special tokens (<|endoftext|> ...) in the input. Off: their text is ordinary text.")
    var allowSpecial = false

    var policy: SpecialTokenPolicy { allowSpecial ? .all : .none }

    /// The tokenizer named by `--vocab`, or the scheme's default.
    func load(scheme: Scheme = .bpe) throws -> Tokenizer {
        let registry = VocabularyRegistry.standard
        let name = try vocab ?? registry.defaultVocabulary(for: scheme)
        return try registry.load(name, pattern: pattern)
    }
}

extension Scheme: ExpressibleByArgument {}
