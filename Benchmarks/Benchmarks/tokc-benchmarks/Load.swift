// Vocabulary load time: reading, checking and building a shipped vocabulary's tables.

import Benchmark
import Tokc

func registerLoadBenchmarks() {
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, TokcMetric.mallocs],
        timeUnits: .milliseconds,
        units: [TokcMetric.mallocs: .count],
        warmupIterations: 1,
        maxDuration: .seconds(3),
        maxIterations: 10
    )
    for located in Inputs.vocabularies {
        Benchmark("load/\(located.entry.name)", configuration: configuration) { benchmark in
            // `Tokenizer.named` caches per process, so after the first iteration it would time a lookup. Loading
            // the file by path builds the tokenizer every time (as `tokc-throughput --load-repeat` does).
            let measured = measure { try? VocabularyRegistry.standard.load(located.filePath) }
            guard let tokenizer = measured.result else { fatalError("\(benchmark.name): cannot load \(located.filePath)") }
            blackHole(tokenizer)
            benchmark.measurement(TokcMetric.mallocs, measured.mallocs)
        } setup: {
            startCountingMallocs()
        }
    }
}
