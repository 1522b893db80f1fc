// Single-threaded encode/count throughput of tokc over whole files, for side-by-side runs with
// tiktoken_throughput.py. Prints one TSV row per file and mode, plus a `#load_ms` line timing the vocabulary load.

import Tokc

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func fail(_ message: String) -> Never {
    // Straight to the descriptor: Swift 6 rejects the C `stderr` global as shared mutable state.
    var line = "tokc-throughput: \(message)\n"
    line.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
    exit(2)
}

let usage = "usage: tokc-throughput [--vocab NAME] [--repeat N] [--load-repeat N] [--threads N] FILE..."
var vocab = "o200k_base"
var repeats = 5
var loadRepeats = 0
// Above 1: encode and count on that many threads (`Tokenizer.encode(_:threads:)`), rows `encode-N`, `count-N`.
var threads = 1
var files: [String] = []
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--vocab":
        guard let value = arguments.next() else { fail(usage) }
        vocab = value
    case "--repeat":
        guard let value = arguments.next(), let n = Int(value), n > 0 else { fail(usage) }
        repeats = n
    case "--threads":
        guard let value = arguments.next(), let n = Int(value), n > 0 else { fail(usage) }
        threads = n
    case "--load-repeat":
        guard let value = arguments.next(), let n = Int(value), n > 0 else { fail(usage) }
        loadRepeats = n
    case "-h", "--help":
        print(usage)
        exit(0)
    default:
        files.append(argument)
    }
}
guard !files.isEmpty else { fail(usage) }

func seconds(_ duration: Duration) -> Double {
    let (whole, attoseconds) = duration.components
    return Double(whole) + Double(attoseconds) * 1e-18
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// Runs `body` `repeats` times after one untimed warm-up and returns the median wall time in seconds.
/// Every result is checked against the warm-up's so the optimiser cannot drop the work.
func medianSeconds<Result: Equatable>(
    repeats: Int, _ body: () -> Result
) -> (seconds: Double, result: Result) {
    let clock = ContinuousClock()
    let expected = body()
    var times: [Double] = []
    for _ in 0..<repeats {
        var result: Result?
        let elapsed = clock.measure { result = body() }
        guard result == expected else { fail("results differ between repeats") }
        times.append(seconds(elapsed))
    }
    return (median(times), expected)
}

let clock = ContinuousClock()
let loadStart = clock.now
let tokenizer: Tokenizer
do {
    tokenizer = try Tokenizer.named(vocab)
} catch {
    fail("\(error)")
}
let loadSeconds = seconds(clock.now - loadStart)
print("#load_ms\ttokc\t\(vocab)\t\(String(format3: loadSeconds * 1000))")

// The first load above is the cold figure a command-line user sees. Later loads of the same file in the same
// process (the registry's cache bypassed by loading the file by path) show the parse and build alone, with
// the process warmed up: the median of --load-repeat of them.
if loadRepeats > 0 {
    let registry = VocabularyRegistry.standard
    guard let located = try? registry.vocabularies().first(where: { $0.entry.name == vocab }) else {
        fail("--load-repeat needs a vocabulary named in the manifest")
    }
    let reloaded = medianSeconds(repeats: loadRepeats) { (try? registry.load(located.filePath))?.vocabularySize ?? -1 }
    print("#reload_ms\ttokc\t\(vocab)\t\(String(format3: reloaded.seconds * 1000))")
}

print("impl\tvocab\tfile\tbytes\ttokens\tmode\tmedian_MBps")
for path in files {
    let bytes: [UInt8]
    do {
        bytes = try FileIO.readAll(path)
    } catch {
        fail("\(error)")
    }
    let encoded = medianSeconds(repeats: repeats) { threads > 1 ? tokenizer.encode(bytes, threads: threads) : tokenizer.encode(bytes) }
    let counted = medianSeconds(repeats: repeats) {
        threads > 1 ? bytes.withUnsafeBufferPointer { tokenizer.count($0, threads: threads) } : tokenizer.count(bytes)
    }
    if counted.result != encoded.result.count {
        fail("\(path): count gives \(counted.result) tokens, encode gives \(encoded.result.count)")
    }
    // The pre-tokenizer alone (normaliser and PCRE2 JIT split, no encoder): the ceiling for this pipeline.
    let split = threads > 1 ? nil : medianSeconds(repeats: repeats) { tokenizer.pieceCount(bytes) }
    if let split {
        print("tokc\t\(vocab)\t\(path)\t\(bytes.count)\t\(split.result)\tpieces\t\(String(format3: Double(bytes.count) / 1e6 / split.seconds))")
    }
    let suffix = threads > 1 ? "-\(threads)" : ""
    for (mode, time) in [("encode" + suffix, encoded.seconds), ("count" + suffix, counted.seconds)] {
        let megabytesPerSecond = Double(bytes.count) / 1e6 / time
        print("tokc\t\(vocab)\t\(path)\t\(bytes.count)\t\(counted.result)\t\(mode)\t\(String(format3: megabytesPerSecond))")
    }
}

extension String {
    /// Three decimals without Foundation's `String(format:)`.
    init(format3 value: Double) {
        let scaled = (value * 1000).rounded()
        let whole = Int(scaled / 1000)
        let fraction = Int(abs(scaled).truncatingRemainder(dividingBy: 1000))
        let digits = String(fraction)
        self = "\(whole).\(String(repeating: "0", count: 3 - digits.count))\(digits)"
    }
}
