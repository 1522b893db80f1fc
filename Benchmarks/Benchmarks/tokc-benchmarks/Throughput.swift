// encode and count over each held-out file, as one input and line by line, for every shipped vocabulary.

import Benchmark
import Tokc

/// What one throughput benchmark works on: a vocabulary and one language's held-out text, whole and as lines.
final class HeldOutInput: Sendable {
    let tokenizer: Tokenizer
    let text: [UInt8]
    let lines: [[UInt8]]

    init(vocabulary: String, language: String) {
        tokenizer = Inputs.tokenizer(vocabulary)
        text = Inputs.heldOut(language)
        lines = Inputs.lines(text)
    }
}

enum Operation: String, CaseIterable {
    case encode, count
}

enum Shape: String, CaseIterable {
    /// The whole file as one input.
    case string
    /// Each line on its own (split at `\n`), as a caller with many short texts would.
    case lines
}

extension HeldOutInput {
    /// Runs `operation` over the text in `shape` and returns the tokens found. Encode keeps each line's ids
    /// alive until it is counted, so the ids are really built.
    func run(_ operation: Operation, _ shape: Shape) -> Int {
        switch (operation, shape) {
        case (.encode, .string):
            let ids = tokenizer.encode(text)
            blackHole(ids)
            return ids.count
        case (.count, .string):
            return tokenizer.count(text)
        case (.encode, .lines):
            var tokens = 0
            for line in lines {
                let ids = tokenizer.encode(line)
                blackHole(ids)
                tokens += ids.count
            }
            return tokens
        case (.count, .lines):
            var tokens = 0
            for line in lines { tokens += tokenizer.count(line) }
            return tokens
        }
    }
}

func registerThroughputBenchmarks() {
    // Throughput is reported as input bytes per second, measured around the call alone; MB = 10^6 bytes of the
    // held-out file (its newlines included, also in `lines`, so both shapes divide the same bytes). One file is
    // 240-310 KB: 10 iterations or 1 s after one warm-up, whichever comes first, keeps 160 benchmarks short.
    let configuration = Benchmark.Configuration(
        metrics: [TokcMetric.inputBytesPerSecond, .wallClock, TokcMetric.mallocsPerMB],
        timeUnits: .milliseconds,
        units: [TokcMetric.inputBytesPerSecond: .kilo, TokcMetric.mallocsPerMB: .count],
        warmupIterations: 1,
        maxDuration: .seconds(1),
        maxIterations: 10
    )
    for vocabulary in Inputs.vocabularies.map(\.entry.name) {
        for language in Inputs.languages {
            for operation in Operation.allCases {
                for shape in Shape.allCases {
                    Benchmark("\(operation)/\(vocabulary)/\(language)/\(shape)", configuration: configuration) { (benchmark: Benchmark, state: (HeldOutInput, Int)) in
                        let (input, expectedTokens) = state
                        let measured = measure { input.run(operation, shape) }
                        // The same tokens every time, and encode's ids as many as count's: the work was done.
                        precondition(measured.result == expectedTokens, "\(benchmark.name): \(measured.result) tokens, count gives \(expectedTokens)")
                        let bytes = Double(input.text.count)
                        benchmark.measurement(TokcMetric.inputBytesPerSecond, Int(bytes / measured.duration.seconds))
                        benchmark.measurement(TokcMetric.mallocsPerMB, Int((Double(measured.mallocs) * 1e6 / bytes).rounded()))
                    } setup: {
                        let input = HeldOutInput(vocabulary: vocabulary, language: language)
                        let expectedTokens = input.run(.count, shape)
                        startCountingMallocs()
                        return (input, expectedTokens)
                    }
                }
            }
        }
    }
}
