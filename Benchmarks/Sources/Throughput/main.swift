// Encode/count throughput of tokc over whole files, for side-by-side runs with reference_throughput.py. Prints one
// TSV row per file and mode, plus a `#load_ms` line timing the vocabulary load.
//
// With `--cold MODE --warm-up FILE`: scripts/bench-compare's cold protocol, one measurement per process. Load the
// vocabulary, run MODE once over the warm-up file (other text: it warms the code, the allocator and the per-thread
// merge memo on pieces that are not the target's), then time MODE once over each target file, as a first encode
// of unseen text would run. MODE is `encode` (ids in a `[UInt32]`, what the peers return), `count` (no ids kept)
// or `pieces` (normaliser and pre-tokenizer only). Prints `#cold` lines; `--ids-out PATH` writes the encoded ids
// (UInt32 little-endian, after the timing) for the caller to check against the reference's.

import Dispatch
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

let usage = "usage: tokc-throughput [--vocab NAME] [--repeat N] [--load-repeat N] [--threads N] FILE...\n"
    + "       tokc-throughput --cold encode|count|pieces --warm-up FILE [--vocab NAME] [--ids-out PATH] FILE..."
var vocab = "o200k_base"
var repeats = 5
var loadRepeats = 0
// Above 1: encode and count on one thread and on that many (`Tokenizer.encode(_:threads:)`), timed alternately;
// rows `encode`, `encode-N`, `count`, `count-N` and `#ratio` lines (no `pieces` row).
var threads = 1
var files: [String] = []
var coldMode: String?
var warmUpPath: String?
var idsOutPath: String?
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
    case "--cold":
        guard let value = arguments.next(), ["encode", "count", "pieces"].contains(value) else { fail(usage) }
        coldMode = value
    case "--warm-up":
        guard let value = arguments.next() else { fail(usage) }
        warmUpPath = value
    case "--ids-out":
        guard let value = arguments.next() else { fail(usage) }
        idsOutPath = value
    case "-h", "--help":
        print(usage)
        exit(0)
    default:
        files.append(argument)
    }
}
guard !files.isEmpty, (coldMode == nil) == (warmUpPath == nil) else { fail(usage) }

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

func readFile(_ path: String) -> [UInt8] {
    do {
        return try FileIO.readAll(path)
    } catch {
        fail("\(error)")
    }
}

if let mode = coldMode, let warmUpPath {
    measureCold(mode: mode, warmUp: readFile(warmUpPath))
    exit(0)
}

/// The cold protocol (see the top of this file). Each target is read before the clock starts; the warm-up runs
/// the same mode as the timed call. `#cold impl vocab file bytes tokens mode seconds cpu_seconds`: tokens is the
/// number of ids (encode, count) or pieces (pieces); cpu_seconds is the process's CPU time over the same call
/// (below the wall time when other processes share the CPU).
@MainActor func measureCold(mode: String, warmUp: [UInt8]) {
    let clock = ContinuousClock()
    let run: ([UInt8]) -> (tokens: Int, ids: [TokenID]) = { bytes in
        switch mode {
        case "encode":
            let ids = tokenizer.encode(bytes)
            return (ids.count, ids)
        case "count":
            return (tokenizer.count(bytes), [])
        default:
            return (tokenizer.pieceCount(bytes), [])
        }
    }
    _ = run(warmUp)
    for (index, path) in files.enumerated() {
        let bytes = readFile(path)
        var result: (tokens: Int, ids: [TokenID]) = (0, [])
        let cpuStart = processCPUSeconds()
        let elapsed = clock.measure { result = run(bytes) }
        let cpu = processCPUSeconds() - cpuStart
        print("#cold\ttokc\t\(vocab)\t\(path)\t\(bytes.count)\t\(result.tokens)\t\(mode)\t\(seconds(elapsed))\t\(cpu)")
        if let idsOutPath, mode == "encode" {
            writeIDs(result.ids, to: files.count == 1 ? idsOutPath : "\(idsOutPath).\(index)")
        }
    }
}

func processCPUSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
}

/// The ids as UInt32 little-endian, the layout Python's `array('I')` reads on this machine.
func writeIDs(_ ids: [TokenID], to path: String) {
    guard let file = fopen(path, "wb") else { fail("cannot write \(path)") }
    let written = ids.map { $0.littleEndian }.withUnsafeBufferPointer { fwrite($0.baseAddress, 4, $0.count, file) }
    fclose(file)
    guard written == ids.count else { fail("cannot write \(path)") }
}

print("impl\tvocab\tfile\tbytes\ttokens\tmode\tmedian_MBps")
for path in files {
    let bytes: [UInt8]
    do {
        bytes = try FileIO.readAll(path)
    } catch {
        fail("\(error)")
    }
    if threads > 1 {
        measureOneAgainstMany(path: path, bytes: bytes)
        continue
    }
    let encoded = medianSeconds(repeats: repeats) { tokenizer.encode(bytes) }
    let counted = medianSeconds(repeats: repeats) { tokenizer.count(bytes) }
    if counted.result != encoded.result.count {
        fail("\(path): count gives \(counted.result) tokens, encode gives \(encoded.result.count)")
    }
    // The pre-tokenizer alone (normaliser and PCRE2 JIT split, no encoder): the ceiling for this pipeline.
    let split = medianSeconds(repeats: repeats) { tokenizer.pieceCount(bytes) }
    printRow(path, bytes.count, split.result, "pieces", split.seconds)
    printRow(path, bytes.count, counted.result, "encode", encoded.seconds)
    printRow(path, bytes.count, counted.result, "count", counted.seconds)
}

@MainActor func printRow(_ path: String, _ byteCount: Int, _ tokens: Int, _ mode: String, _ seconds: Double) {
    let megabytesPerSecond = Double(byteCount) / 1e6 / seconds
    print("tokc\t\(vocab)\t\(path)\t\(byteCount)\t\(tokens)\t\(mode)\t\(String(format3: megabytesPerSecond))")
}

/// With `--threads N`: one thread and N threads timed alternately, repeat by repeat, so that both see the same
/// machine. On a shared host the load drifts over seconds; two separate runs can differ by 20 % on their own,
/// which would swamp the ratio being measured. Prints rows `encode`, `encode-N`, `count`, `count-N` and, per
/// mode, a `#ratio` line: the median of the per-repeat ratios N threads ÷ one thread.
///
/// Each repeat also times N copies of the one-thread work running at once, one a thread, nothing shared but
/// the tokenizer: N × (one thread's time) ÷ (their time) is what this machine gives for this work with no
/// splitting and no joining at all (caches, memory, the host's other tenants), the ceiling for the ratio above.
/// A `#ceiling` line gives its median.
@MainActor func measureOneAgainstMany(path: String, bytes: [UInt8]) {
    let clock = ContinuousClock()
    let (tokenizer, threads) = (tokenizer, threads)
    let expected = tokenizer.encode(bytes)
    guard tokenizer.encode(bytes, threads: threads) == expected else { fail("\(path): \(threads) threads give other ids than one") }
    let countMany: @Sendable () -> Int = { bytes.withUnsafeBufferPointer { tokenizer.count($0, threads: threads) } }
    guard tokenizer.count(bytes) == expected.count, countMany() == expected.count else {
        fail("\(path): count differs from encode")
    }
    let modes: [(name: String, one: @Sendable () -> Int, many: @Sendable () -> Int)] = [
        ("encode", { tokenizer.encode(bytes).count }, { tokenizer.encode(bytes, threads: threads).count }),
        ("count", { tokenizer.count(bytes) }, countMany),
    ]
    for mode in modes {
        let one = mode.one
        var oneTimes: [Double] = [], manyTimes: [Double] = [], ratios: [Double] = [], ceilings: [Double] = []
        for _ in 0..<repeats {
            var oneResult = 0, manyResult = 0
            let oneTime = seconds(clock.measure { oneResult = one() })
            let manyTime = seconds(clock.measure { manyResult = mode.many() })
            let copies = seconds(clock.measure {
                DispatchQueue.concurrentPerform(iterations: threads) { _ in
                    if one() != expected.count { fail("a copy differs") }
                }
            })
            guard oneResult == expected.count, manyResult == expected.count else { fail("results differ between repeats") }
            oneTimes.append(oneTime)
            manyTimes.append(manyTime)
            ratios.append(oneTime / manyTime)
            ceilings.append(Double(threads) * oneTime / copies)
        }
        printRow(path, bytes.count, expected.count, mode.name, median(oneTimes))
        printRow(path, bytes.count, expected.count, "\(mode.name)-\(threads)", median(manyTimes))
        print("#ratio\ttokc\t\(vocab)\t\(mode.name)\t\(threads)\t\(String(format3: median(ratios)))")
        print("#ceiling\ttokc\t\(vocab)\t\(mode.name)\t\(threads)\t\(String(format3: median(ceilings)))")
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
