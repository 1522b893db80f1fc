import ArgumentParser
import Tokc

struct VocabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vocab",
        abstract: "Inspect the vocabularies tokc can load.",
        subcommands: [List.self, Show.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the vocabularies the manifests name (shipped ones and those in TOKC_VOCAB_PATH): family, size, the models each serves, licence.")

        func run() throws {
            let located = try VocabularyRegistry.standard.vocabularies()
            let nameWidth = located.map(\.entry.name.count).max() ?? 0
            let familyWidth = located.map { ($0.entry.family ?? "-").count }.max() ?? 0
            for item in located {
                let entry = item.entry
                let name = entry.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
                let family = (entry.family ?? "-").padding(toLength: familyWidth, withPad: " ", startingAt: 0)
                let size = String(entry.vocabSize).padding(toLength: 6, withPad: " ", startingAt: 0)
                try Output.line("\(name)  \(family)  \(entry.scheme.padding(toLength: 9, withPad: " ", startingAt: 0))  \(size) ids  \(entry.usedBy ?? "")")
                try Output.line(String(repeating: " ", count: nameWidth + 2) + "licence: \(entry.licence)  (\(item.filePath))")
            }
            try Output.finish()
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print what a vocabulary (a name or any file tokc reads) is, as JSON: scheme, size, split patterns, special tokens.")

        @Argument(help: "A vocabulary name or a file path.")
        var vocabulary: String

        func run() throws {
            let tokenizer = try VocabularyRegistry.standard.load(vocabulary)
            let specials = tokenizer.specialTokens.all.sorted { ($0.id, $0.text) < ($1.id, $1.text) }
            let document = JSONValue.object([
                ("name", .text(tokenizer.name)),
                ("scheme", .text(Scheme.of(tokenizer.encoder).rawValue)),
                ("vocab_size", .integer(tokenizer.vocabularySize)),
                ("patterns", .array(tokenizer.splitPatterns.map(JSONValue.text))),
                // Whether 'tokc count' reads a long text in bounded memory with it (`Tokenizer.cuts` allows a place).
                ("streams", .bool(tokenizer.streams(allowedSpecial: .none))),
                ("special_tokens", .object(specials.map { ($0.text, .integer(Int($0.id))) })),
                ("template", .object([
                    ("prefix", .array(tokenizer.template.prefix.map { .integer(Int($0)) })),
                    ("suffix", .array(tokenizer.template.suffix.map { .integer(Int($0)) })),
                ])),
            ])
            try Output.write(document.serialized())
            try Output.finish()
        }
    }
}
