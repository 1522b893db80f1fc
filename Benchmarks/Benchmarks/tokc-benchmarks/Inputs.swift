// Inputs shared by the benchmarks: the checkout's held-out corpus, its training text and the shipped vocabularies.
// Everything here runs in a benchmark's setup, once per benchmark process, never in a measured iteration.

import Tokc

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum Inputs {
    /// The languages of `Corpus/split`, each with a `.heldout.txt` and a `.train.txt`.
    static let languages = ["ja", "zh", "de", "fr", "en"]

    /// The checkout: `TOKC_HOME` when set (as tokc itself reads it for its vocabularies), else the checkout this
    /// file was compiled in (Benchmarks/Benchmarks/tokc-benchmarks/Inputs.swift, four levels down).
    static let checkout: String = {
        if let home = getenv("TOKC_HOME"), home.pointee != 0 { return String(cString: home) }
        return "/" + "\(#filePath)".split(separator: "/").dropLast(4).joined(separator: "/")
    }()

    /// The shipped vocabularies in manifest order. Reading the manifest is cheap; the vocabularies themselves are
    /// loaded only in the setup of the benchmark that uses them, since every benchmark runs in its own process.
    static let vocabularies: [VocabularyRegistry.Located] = {
        do {
            return try VocabularyRegistry.standard.vocabularies()
        } catch {
            fatalError("tokc-benchmarks: \(error)")
        }
    }()

    static func read(_ relativePath: String) -> [UInt8] {
        do {
            return try FileIO.readAll(checkout + "/" + relativePath)
        } catch {
            fatalError("tokc-benchmarks: \(error) (set TOKC_HOME to the tokc checkout)")
        }
    }

    static func heldOut(_ language: String) -> [UInt8] {
        read("Corpus/split/\(language).heldout.txt")
    }

    /// The lines of `text` without their `\n`, empty lines left out (they have no tokens).
    static func lines(_ text: [UInt8]) -> [[UInt8]] {
        text.split(separator: UInt8(ascii: "\n")).map(Array.init)
    }

    /// The training sample: the first `bytesPerLanguage` of each language's `.train.txt`, cut after a whole line,
    /// as lines. Small on purpose, so that one training run takes seconds.
    static func trainingLines(languages: [String], bytesPerLanguage: Int) -> [[UInt8]] {
        languages.flatMap { language -> [[UInt8]] in
            let text = read("Corpus/split/\(language).train.txt")
            let end = text[..<min(bytesPerLanguage, text.count)].lastIndex(of: UInt8(ascii: "\n")) ?? 0
            return lines(Array(text[..<end]))
        }
    }

    static func tokenizer(_ name: String) -> Tokenizer {
        do {
            return try Tokenizer.named(name)
        } catch {
            fatalError("tokc-benchmarks: \(error)")
        }
    }
}
