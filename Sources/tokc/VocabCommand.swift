import ArgumentParser
import Tokc

struct VocabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vocab",
        abstract: "Inspect the vocabularies tokc can load.",
        subcommands: [List.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the vocabularies the manifests name (shipped ones and those in TOKC_VOCAB_PATH).")

        func run() throws {
            let located = try VocabularyRegistry.standard.vocabularies()
            let nameWidth = located.map(\.entry.name.count).max() ?? 0
            for item in located {
                let entry = item.entry
                let name = entry.name + String(repeating: " ", count: nameWidth - entry.name.count)
                try Output.line("\(name)  \(entry.scheme)  \(entry.vocabSize) ids  \(entry.usedBy ?? "")  (\(item.filePath))")
            }
            try Output.finish()
        }
    }
}
