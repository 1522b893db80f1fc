// Training time per scheme, on a small sample so that one run takes seconds: the first 200 KB of the Japanese
// and the English training text, a vocabulary of 2,000. Trainers count on every core, so the wall clock is
// for this machine's cores; cpuTotal shows the work.

import Benchmark
import Tokc

enum TrainingSample {
    static let languages = ["ja", "en"]
    static let bytesPerLanguage = 200_000
    static let vocabularySize = 2_000
}

/// Feeds every line to `trainer` and trains it, as `tokc train` does with a file.
func train<T: Trainer>(_ trainer: T, on lines: [[UInt8]]) throws(TokcError) -> T.Model {
    var trainer = trainer
    for line in lines {
        line.withUnsafeBufferPointer { trainer.add($0) }
    }
    return try trainer.train { _ in }
}

func registerTrainingBenchmarks() {
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, .peakMemoryResident],
        timeUnits: .milliseconds,
        warmupIterations: 0,
        maxDuration: .seconds(10),
        maxIterations: 3
    )
    let size = TrainingSample.vocabularySize
    // Each trainer is built inside the measured iteration: a trainer holds its statistics, so it trains once.
    let schemes: [(name: String, run: @Sendable ([[UInt8]]) throws(TokcError) -> any TrainedModel)] = [
        ("bpe", { lines throws(TokcError) in try train(BPETrainer(options: .init(vocabSize: size)), on: lines) }),
        ("wordpiece", { lines throws(TokcError) in try train(WordPieceTrainer(options: .init(vocabSize: size)), on: lines) }),
        ("unigram", { lines throws(TokcError) in
            // nmt_nfkc, as `tokc train --scheme unigram` writes it.
            let options = UnigramTrainer.Options(vocabSize: size, normalization: try .nmtNFKC())
            return try train(UnigramTrainer(options: options), on: lines)
        }),
        ("ungreedy", { lines throws(TokcError) in try train(UngreedyTrainer(options: .init(vocabSize: size)), on: lines) }),
    ]
    for scheme in schemes {
        Benchmark("train/\(scheme.name)", configuration: configuration) { (benchmark: Benchmark, lines: [[UInt8]]) in
            do {
                blackHole(try scheme.run(lines))
            } catch {
                fatalError("\(benchmark.name): \(error)")
            }
        } setup: {
            Inputs.trainingLines(languages: TrainingSample.languages, bytesPerLanguage: TrainingSample.bytesPerLanguage)
        }
    }
}
