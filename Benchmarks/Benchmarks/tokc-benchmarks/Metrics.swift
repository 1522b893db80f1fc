// tokc's own metrics, measured around the tokenizer call alone rather than around the whole benchmark iteration:
// ordo-one's built-in malloc count also counts the harness's own allocations (about 16 per iteration on an empty
// benchmark), which would swamp the handful a `count` call makes.

import Benchmark
import MallocInterposerSwift

// Malloc counts and tokens are given units `.count` wherever they are used: left to itself ordo-one picks a
// unit per row, and a column where one row counts thousands ("(K)") and the next ones is easy to misread.
enum TokcMetric {
    /// Input bytes per second. Shown in thousands (the table's "(K)"), so 12345 reads as 12.3 MB/s.
    static let inputBytesPerSecond = BenchmarkMetric.custom("input bytes/s", polarity: .prefersLarger, useScalingFactor: false)
    /// malloc calls per 10^6 bytes of input.
    static let mallocsPerMB = BenchmarkMetric.custom("mallocs per MB", polarity: .prefersSmaller, useScalingFactor: false)
    /// malloc calls in one call.
    static let mallocs = BenchmarkMetric.custom("mallocs per call", polarity: .prefersSmaller, useScalingFactor: false)
}

/// Counts allocations from the setup of a benchmark on. ordo-one turns the interposer's counting on only for
/// benchmarks that ask for one of its own malloc metrics, and these benchmarks ask for tokc's instead.
func startCountingMallocs() {
    MallocInterposerSwift.hook()
}

/// The time `body` takes and the malloc calls it makes (on any thread), with its result.
@inline(__always)
func measure<Result>(_ body: () -> Result) -> (result: Result, duration: Duration, mallocs: Int) {
    let clock = ContinuousClock()
    let mallocsBefore = MallocInterposerSwift.getStatistics().mallocCount
    let start = clock.now
    let result = body()
    let duration = start.duration(to: clock.now)
    let mallocs = MallocInterposerSwift.getStatistics().mallocCount - mallocsBefore
    return (result, duration, mallocs)
}

extension Duration {
    var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) * 1e-18
    }
}
