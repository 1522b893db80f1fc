// "count makes no allocation per token": the malloc calls of one `count` over a single line and over the whole
// held-out file, side by side with the tokens each holds. If count allocated per token (or per piece), the
// file's mallocs would be hundreds of times the line's; if not, both are a small constant.

import Benchmark
import Tokc

/// A vocabulary, one held-out file and one ordinary line of it.
final class CountMallocInput: Sendable {
    let tokenizer: Tokenizer
    let file: [UInt8]
    let line: [UInt8]

    init(vocabulary: String, language: String) {
        tokenizer = Inputs.tokenizer(vocabulary)
        file = Inputs.heldOut(language)
        let lines = Inputs.lines(file)
        // The first line of 100 bytes or more: a sentence, not a heading.
        line = lines.first { $0.count >= 100 } ?? lines[0]
    }
}

enum CountMallocMetric {
    static let lineMallocs = BenchmarkMetric.custom("mallocs, count 1 line", polarity: .prefersSmaller, useScalingFactor: false)
    static let fileMallocs = BenchmarkMetric.custom("mallocs, count file", polarity: .prefersSmaller, useScalingFactor: false)
    static let lineTokens = BenchmarkMetric.custom("tokens, 1 line", polarity: .prefersSmaller, useScalingFactor: false)
    static let fileTokens = BenchmarkMetric.custom("tokens, file", polarity: .prefersSmaller, useScalingFactor: false)
}

func registerCountMallocBenchmarks() {
    // Malloc counts do not vary from run to run the way times do: a few iterations are enough.
    let configuration = Benchmark.Configuration(
        metrics: [
            CountMallocMetric.lineMallocs, CountMallocMetric.fileMallocs, TokcMetric.mallocsPerMB,
            CountMallocMetric.lineTokens, CountMallocMetric.fileTokens,
        ],
        units: [
            CountMallocMetric.lineMallocs: .count, CountMallocMetric.fileMallocs: .count, TokcMetric.mallocsPerMB: .count,
            CountMallocMetric.lineTokens: .count, CountMallocMetric.fileTokens: .count,
        ],
        warmupIterations: 1,
        maxDuration: .seconds(1),
        maxIterations: 3
    )
    for vocabulary in Inputs.vocabularies.map(\.entry.name) {
        for language in Inputs.languages {
            Benchmark("count-mallocs/\(vocabulary)/\(language)", configuration: configuration) { (benchmark: Benchmark, input: CountMallocInput) in
                let line = measure { input.tokenizer.count(input.line) }
                let file = measure { input.tokenizer.count(input.file) }
                benchmark.measurement(CountMallocMetric.lineMallocs, line.mallocs)
                benchmark.measurement(CountMallocMetric.fileMallocs, file.mallocs)
                benchmark.measurement(TokcMetric.mallocsPerMB, Int((Double(file.mallocs) * 1e6 / Double(input.file.count)).rounded()))
                benchmark.measurement(CountMallocMetric.lineTokens, line.result)
                benchmark.measurement(CountMallocMetric.fileTokens, file.result)
            } setup: {
                let input = CountMallocInput(vocabulary: vocabulary, language: language)
                startCountingMallocs()
                return input
            }
        }
    }
}
