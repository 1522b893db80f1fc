// tokc's ordo-one benchmark suite (issue #10): encode and count throughput of every shipped vocabulary on each
// language's held-out text, the malloc calls a count makes, vocabulary load time and training time per scheme.
// Run it with `swift package benchmark` (Benchmarks/README.md). Each benchmark runs in a process of its own,
// so what one loads or allocates does not colour the next.

import Benchmark

let benchmarks: @Sendable () -> Void = {
    registerThroughputBenchmarks()
    registerCountMallocBenchmarks()
    registerLoadBenchmarks()
    registerTrainingBenchmarks()
}
