// Load on a running `tokc serve` daemon: N connections, one blocking OS thread each, every connection sending
// one `count` request at a time and waiting for its response line. Reports requests/s, MB/s of text, latency
// percentiles and errors as a Markdown table, and times in-process `Tokenizer.count` over the same batch texts
// on one thread, so the daemon's batch MB/s can be read as a ratio to it.
//
// Every response is checked: its `id` must be the request's (responses come back in request order) and its
// `total` must equal what `Tokenizer.count` gives here for the same texts. A response that holds "error",
// has the wrong id or total, or never arrives (a read timeout, a closed connection) counts as an error.

import Synchronization
import Tokc
import TokcJinja

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Small helpers

func writeStderr(_ message: String) {
    // Straight to the descriptor: Swift 6 rejects the C `stderr` global as shared mutable state.
    var line = message + "\n"
    line.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

func fail(_ message: String) -> Never {
    writeStderr("tokc-load: \(message)")
    exit(2)
}

func seconds(_ duration: Duration) -> Double {
    let (whole, attoseconds) = duration.components
    return Double(whole) + Double(attoseconds) * 1e-18
}

/// `value` with `decimals` digits after the point, without Foundation's `String(format:)`.
func fixed(_ value: Double, _ decimals: Int) -> String {
    guard value.isFinite else { return "n/a" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    let whole = Int(scaled / scale)
    let sign = value < 0 && scaled != 0 ? "-" : ""
    guard decimals > 0 else { return sign + String(whole) }
    let fraction = String(Int(scaled.truncatingRemainder(dividingBy: scale)))
    return "\(sign)\(whole).\(String(repeating: "0", count: decimals - fraction.count))\(fraction)"
}

/// Nearest-rank percentile of sorted values.
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
    return sorted[min(max(rank, 1), sorted.count) - 1]
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

// MARK: - Options

let usage = """
    usage: tokc-load --socket PATH [--connections 1,8,64] [--workload small|batch|both|chat] [--requests N]
                     [--corpus FILE] [--vocab NAME] [--max-seconds S] [--timeout S] [--baseline-repeat N]
           tokc-load --socket PATH --check     exit 0 if the daemon answers a health request with "ok"

      --requests N      requests per configuration (default 20000 for small, 128 for batch)
      --max-seconds S   stop a configuration after S seconds even if requests remain (default 60)
      --timeout S       give up on a response after S seconds: an error, and that connection stops (default 60)
      --corpus FILE     UTF-8 text to slice requests from (default ../shared/corpus/out/ja.txt from the repo root)
      --workload chat   `count_chat` requests of ~1 KB in 8 messages through --vocab's chat template (default
                        qwen2.5 for it); also times, in process and on one thread, the prompt count of each
                        request through the parsed template against counting its contents alone
      --rate R          also run the small workload paced: R requests/s in all, spread evenly over the
                        connections (open loop: latency counts from each request's scheduled time, so a
                        late daemon is not excused by the client waiting for it)
    """

struct Options {
    var socket: String?
    var connections = [1, 8, 64]
    var workloads: [Workload] = [.small, .batch]
    var requests: Int?
    var corpus: String?
    var vocab = "o200k_base"
    var maxSeconds = 60.0
    var timeout = 60.0
    var baselineRepeat = 3
    /// Requests per second, in all, for paced small-workload runs; nil for closed-loop runs only.
    var rate: Double?
    /// Only ask the daemon for its health and exit 0 if it answers `ok`, 1 if not (for scripts waiting on it).
    var check = false
}

enum Workload: String {
    case small, batch, chat
    var defaultRequests: Int { self == .batch ? 128 : 20000 }
}

func parseOptions() -> Options {
    var options = Options()
    var arguments = CommandLine.arguments.dropFirst().makeIterator()
    func value(_ name: String) -> String {
        guard let value = arguments.next() else { fail("\(name) needs a value\n\(usage)") }
        return value
    }
    while let argument = arguments.next() {
        switch argument {
        case "--socket": options.socket = value(argument)
        case "--connections":
            let list = value(argument).split(separator: ",").map { Int($0) }
            guard !list.isEmpty, list.allSatisfy({ ($0 ?? 0) > 0 && ($0 ?? 0) <= 1024 }) else {
                fail("--connections takes a comma-separated list of counts from 1 to 1024")
            }
            options.connections = list.map { $0! }
        case "--workload":
            switch value(argument) {
            case "small": options.workloads = [.small]
            case "batch": options.workloads = [.batch]
            case "both": options.workloads = [.small, .batch]
            case "chat": options.workloads = [.chat]
            default: fail("--workload is small, batch, both or chat")
            }
        case "--requests":
            guard let n = Int(value(argument)), n > 0 else { fail("--requests takes a positive count") }
            options.requests = n
        case "--corpus": options.corpus = value(argument)
        case "--vocab": options.vocab = value(argument)
        case "--max-seconds":
            guard let s = Double(value(argument)), s > 0 else { fail("--max-seconds takes a positive number") }
            options.maxSeconds = s
        case "--timeout":
            guard let s = Double(value(argument)), s > 0 else { fail("--timeout takes a positive number") }
            options.timeout = s
        case "--baseline-repeat":
            guard let n = Int(value(argument)), n > 0 else { fail("--baseline-repeat takes a positive count") }
            options.baselineRepeat = n
        case "--rate":
            guard let r = Double(value(argument)), r > 0 else { fail("--rate takes a positive number of requests per second") }
            options.rate = r
        case "--check": options.check = true
        case "-h", "--help":
            print(usage)
            exit(0)
        default:
            fail("unknown argument '\(argument)'\n\(usage)")
        }
    }
    if options.socket == nil { fail("--socket is required\n\(usage)") }
    return options
}

/// The default corpus: ../shared/corpus/out/ja.txt next to the repository, found from the executable's
/// place (Benchmarks/.build/<config>/tokc-load) or else from the working directory.
func defaultCorpus() -> String {
    var candidates: [String] = []
    var buffer = [CChar](repeating: 0, count: 4096)
    let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    if length > 0 {
        let executable = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var parts = executable.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        // .../<repo>/Benchmarks/.build/<triple>/release/tokc-load: walk up to the folder holding "Benchmarks".
        while let last = parts.popLast() {
            if last == "Benchmarks" {
                candidates.append(parts.joined(separator: "/") + "/../shared/corpus/out/ja.txt")
                break
            }
        }
    }
    candidates += ["../shared/corpus/out/ja.txt", "../../shared/corpus/out/ja.txt"]
    return candidates.first { access($0, R_OK) == 0 } ?? candidates[0]
}

// MARK: - Requests

/// One request's wire form after its id: `,"op":"count","texts":[...],"vocab":...}\n`, the texts' UTF-8 size,
/// and the total `Tokenizer.count` gives for them here.
struct Payload: Sendable {
    var tail: [UInt8]
    var textBytes: Int
    var expectedTotal: Int
    /// Where the texts come from, for error reports.
    var describe: String
}

/// Appends `bytes` as the inside of a JSON string: `"` and `\` escaped, bytes below 0x20 as \u00XX.
/// The bytes are whole UTF-8 characters, which JSON takes as they are.
func appendJSONEscaped(_ bytes: ArraySlice<UInt8>, to output: inout [UInt8]) {
    let hex = Array("0123456789abcdef".utf8)
    output.reserveCapacity(output.count + bytes.count + bytes.count / 16)
    for byte in bytes {
        switch byte {
        case UInt8(ascii: "\""): output += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
        case UInt8(ascii: "\\"): output += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
        case 0..<0x20:
            output += Array("\\u00".utf8)
            output.append(hex[Int(byte >> 4)])
            output.append(hex[Int(byte & 0xF)])
        default: output.append(byte)
        }
    }
}

/// A slice of about `length` bytes starting near `start`, moved so that it begins and ends on character
/// boundaries (never inside a UTF-8 sequence).
func utf8Slice(_ corpus: [UInt8], start: Int, length: Int) -> Range<Int> {
    func isContinuation(_ index: Int) -> Bool { index < corpus.count && corpus[index] & 0xC0 == 0x80 }
    var lower = min(start, corpus.count)
    while isContinuation(lower) { lower += 1 }
    var upper = min(lower + length, corpus.count)
    while upper > lower && isContinuation(upper) { upper -= 1 }
    return lower..<upper
}

func makePayload(_ corpus: [UInt8], ranges: [Range<Int>], vocab: String, tokenizer: Tokenizer) -> Payload {
    var tail = Array(",\"op\":\"count\",\"texts\":[".utf8)
    var expected = 0
    var textBytes = 0
    for (index, range) in ranges.enumerated() {
        if index > 0 { tail.append(UInt8(ascii: ",")) }
        tail.append(UInt8(ascii: "\""))
        appendJSONEscaped(corpus[range], to: &tail)
        tail.append(UInt8(ascii: "\""))
        textBytes += range.count
        expected += corpus[range].withUnsafeBufferPointer { tokenizer.count($0) }
    }
    tail += Array("],\"vocab\":\"".utf8)
    appendJSONEscaped(ArraySlice(vocab.utf8), to: &tail)
    tail += Array("\"}\n".utf8)
    let where_ = ranges.count == 1 ? "bytes \(ranges[0])" : "\(ranges.count) texts at bytes \(ranges.map { "\($0.lowerBound)" }.joined(separator: ","))"
    return Payload(tail: tail, textBytes: textBytes, expectedTotal: expected, describe: where_)
}

/// The small workload's pool: distinct ~1 KB texts from all over the corpus; request n uses pool[n % count].
func smallPayloads(_ corpus: [UInt8], vocab: String, tokenizer: Tokenizer) -> [Payload] {
    var random = SplitMix64(seed: 1)  // fixed seeds: every run slices the corpus the same way
    let span = max(1, corpus.count - 1024)
    return (0..<2048).map { _ in
        let start = Int(random.next() % UInt64(span))
        return makePayload(corpus, ranges: [utf8Slice(corpus, start: start, length: 1024)], vocab: vocab, tokenizer: tokenizer)
    }
}

/// The chat workload's pool: requests of a system prompt and 7 user/assistant turns, each ~128 bytes of the
/// corpus (~1 KB a request), with the prompt count `ChatTemplate.encode` gives here as the expected total; and
/// the requests themselves, for the in-process timing.
func chatPayloads(_ corpus: [UInt8], vocab: String, tokenizer: Tokenizer, counting: ChatCounting) -> ([Payload], [JinjaValue], [String]) {
    var random = SplitMix64(seed: 3)
    let span = max(1, corpus.count - 256)
    var payloads: [Payload] = []
    var requests: [JinjaValue] = []
    var contents: [String] = []
    for _ in 0..<512 {
        var body = Array(#"{"messages":["#.utf8)
        var content = ""
        for index in 0..<8 {
            let range = utf8Slice(corpus, start: Int(random.next() % UInt64(span)), length: 128)
            if index > 0 { body.append(UInt8(ascii: ",")) }
            let role = index == 0 ? "system" : index % 2 == 1 ? "user" : "assistant"
            body += Array(#"{"role":"\#(role)","content":""#.utf8)
            appendJSONEscaped(corpus[range], to: &body)
            body += Array(#""}"#.utf8)
            content += String(decoding: corpus[range], as: UTF8.self)
        }
        body += Array("]}".utf8)
        guard let request = try? JinjaValue.parseJSON(body), let prompt = try? counting.count(request, tokenizer: tokenizer) else {
            fail("a chat request the template refuses: \(String(decoding: body, as: UTF8.self))")
        }
        var tail = Array(#","op":"count_chat","vocab":""#.utf8)
        appendJSONEscaped(ArraySlice(vocab.utf8), to: &tail)
        tail += Array(#"","requests":["#.utf8) + body + Array("]}\n".utf8)
        payloads.append(Payload(tail: tail, textBytes: body.count, expectedTotal: prompt.tokens, describe: "chat request \(payloads.count)"))
        requests.append(request)
        contents.append(content)
    }
    return (payloads, requests, contents)
}

/// The batch workload's texts: 8 distinct batches of 16 texts of ~64 KB (~1 MB a request).
func batchRanges(_ corpus: [UInt8]) -> [[Range<Int>]] {
    var random = SplitMix64(seed: 2)
    let span = max(1, corpus.count - 65536)
    return (0..<8).map { _ in
        (0..<16).map { _ in utf8Slice(corpus, start: Int(random.next() % UInt64(span)), length: 65536) }
    }
}

// MARK: - Sockets

/// Why a socket call or a response failed, in words.
struct Problem: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func connectUnix(_ path: String, timeout: Double) -> Result<Int32, Problem> {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return .failure(Problem("socket: \(String(cString: strerror(errno)))")) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let pathBytes = Array(path.utf8)
    let capacity = MemoryLayout.size(ofValue: address.sun_path)
    guard pathBytes.count < capacity else {
        close(fd)
        return .failure(Problem("\(path): a Unix socket path holds at most \(capacity - 1) bytes"))
    }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        raw.copyBytes(from: pathBytes)
        raw[pathBytes.count] = 0
    }
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
    guard result == 0 else {
        let reason = String(cString: strerror(errno))
        close(fd)
        return .failure(Problem("connect \(path): \(reason)"))
    }
    var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1e6))
    _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    return .success(fd)
}

/// A blocking line connection: writes whole buffers, reads up to the next newline.
struct LineConnection {
    let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)
    private var pending: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    func send(_ bytes: [UInt8]) -> String? {
        bytes.withUnsafeBytes { raw -> String? in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno == EAGAIN || errno == EWOULDBLOCK ? "write timed out" : "write: \(String(cString: strerror(errno)))"
                }
                offset += n
            }
            return nil
        }
    }

    /// The next line without its newline, or why there is none.
    mutating func readLine() -> Result<[UInt8], Problem> {
        var searchFrom = 0
        while true {
            if let newline = pending[searchFrom...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                return .success(line)
            }
            searchFrom = pending.count
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(Problem(errno == EAGAIN || errno == EWOULDBLOCK ? "timed out waiting for the response" : "read: \(String(cString: strerror(errno)))"))
            }
            if n == 0 {
                return .failure(Problem(pending.isEmpty ? "the daemon closed the connection" : "the daemon closed the connection inside a response (\(pending.count) bytes)"))
            }
            pending += buffer[0..<n]
        }
    }
}

/// Finds `"key":` in a response line and reads the integer after it.
func integerField(_ line: [UInt8], _ key: String) -> Int? {
    let needle = Array("\"\(key)\":".utf8)
    guard line.count >= needle.count else { return nil }
    var index = 0
    while index + needle.count <= line.count {
        if line[index] == needle[0] && line[index..<(index + needle.count)].elementsEqual(needle) {
            var position = index + needle.count
            var value = 0
            var digits = 0
            while position < line.count, line[position] >= 0x30, line[position] <= 0x39 {
                value = value * 10 + Int(line[position] - 0x30)
                position += 1
                digits += 1
            }
            return digits > 0 ? value : nil
        }
        index += 1
    }
    return nil
}

func contains(_ line: [UInt8], _ text: String) -> Bool {
    let needle = Array(text.utf8)
    guard line.count >= needle.count else { return false }
    for index in 0...(line.count - needle.count) where line[index] == needle[0] {
        if line[index..<(index + needle.count)].elementsEqual(needle) { return true }
    }
    return false
}

func preview(_ line: [UInt8], limit: Int = 400) -> String {
    let text = String(decoding: line.prefix(limit), as: UTF8.self)
    return line.count > limit ? text + "… (\(line.count) bytes)" : text
}

// MARK: - CPU time

/// User + system CPU seconds of this process, all threads.
func ownCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

/// User + system CPU seconds of another process, from /proc/PID/stat (fields 14 and 15, in clock ticks).
func processCPUSeconds(_ pid: Int) -> Double? {
    guard let bytes = try? FileIO.readAll("/proc/\(pid)/stat"),
          let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
    // After "pid (comm)": state is field 3, so utime and stime are the 12th and 13th fields from here.
    let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
    guard fields.count > 12,
          let user = Int(String(decoding: fields[11], as: UTF8.self)),
          let system = Int(String(decoding: fields[12], as: UTF8.self)) else { return nil }
    return Double(user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

// MARK: - Threads

final class ThreadBody: Sendable {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

func startThread(_ body: @escaping @Sendable () -> Void) -> pthread_t {
    let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var thread = pthread_t()
    let status = pthread_create(&thread, nil, { raw in
        let body = Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue()
        body.run()
        return nil
    }, context)
    guard status == 0 else { fail("pthread_create: \(String(cString: strerror(status)))") }
    return thread
}

// MARK: - One configuration

struct WorkerResult: Sendable {
    var latencies: [Double] = []  // seconds, one per answered request
    var textBytes = 0
    var errors = 0
    var timeouts = 0
    /// The first few problems, with the request that had them.
    var notes: [String] = []
}

struct RunResult {
    var workload: Workload
    /// Requests per second the client paced itself to; nil when each connection sent as fast as answered.
    var rate: Double?
    var connections: Int
    var requested: Int
    var answered: Int
    var elapsed: Double
    var textBytes: Int
    var latencies: [Double]
    var errors: Int
    var timeouts: Int
    var hitTimeCap: Bool
    var notes: [String]
    /// CPU seconds (user + system) used during the configuration by this process and by the daemon.
    var clientCPU: Double
    var daemonCPU: Double?
}

/// What the threads of one configuration share: the request counter, the time-cap flag and their results.
final class Shared: Sendable {
    let issued = Atomic<Int>(0)
    let hitTimeCap = Atomic<Bool>(false)
    let results = Mutex<[WorkerResult]>([])
}

func runConfiguration(
    workload: Workload, connections: Int, requests: Int, payloads: [Payload], socketPath: String,
    maxSeconds: Double, timeout: Double, idBase: Int, daemonPID: Int?, rate: Double? = nil
) -> RunResult {
    let clientCPUBefore = ownCPUSeconds()
    let daemonCPUBefore = daemonPID.flatMap(processCPUSeconds)
    var sockets: [Int32] = []
    for _ in 0..<connections {
        switch connectUnix(socketPath, timeout: timeout) {
        case let .success(fd): sockets.append(fd)
        case let .failure(reason): fail(reason.description)
        }
    }
    let shared = Shared()
    let clock = ContinuousClock()
    let start = clock.now
    let deadline = start + .milliseconds(Int64(maxSeconds * 1000))

    let threads = sockets.enumerated().map { connectionIndex, fd in
        startThread { [payloads] in
            // Paced runs: connection k sends at start + k/R + i*N/R, and latency counts from that moment.
            let interval = rate.map { Duration.nanoseconds(Int64(Double(connections) / $0 * 1e9)) }
            var scheduled = start + (rate.map { .nanoseconds(Int64(Double(connectionIndex) / $0 * 1e9)) } ?? .zero)
            var connection = LineConnection(fd: fd)
            var result = WorkerResult()
            result.latencies.reserveCapacity(requests / connections + 1)
            var line: [UInt8] = []
            while true {
                if clock.now >= deadline {
                    shared.hitTimeCap.store(true, ordering: .relaxed)
                    break
                }
                let n = shared.issued.add(1, ordering: .relaxed).oldValue
                if n >= requests { break }
                let payload = payloads[n % payloads.count]
                let id = idBase + n
                line.removeAll(keepingCapacity: true)
                line += Array("{\"id\":\(id)".utf8)
                line += payload.tail
                var sent = clock.now
                if let interval {
                    if sent < scheduled {
                        // A blocking thread sleeps with nanosleep; the clock's own sleep is async.
                        let wait = scheduled - sent
                        var request = timespec(tv_sec: Int(wait.components.seconds), tv_nsec: Int(wait.components.attoseconds / 1_000_000_000))
                        var remaining = timespec()
                        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
                    }
                    sent = scheduled
                    scheduled += interval
                }
                if let problem = connection.send(line) {
                    result.errors += 1
                    if problem.contains("timed out") { result.timeouts += 1 }
                    if result.notes.count < 3 { result.notes.append("id \(id) (\(payload.describe)): \(problem); connection stopped") }
                    break
                }
                switch connection.readLine() {
                case let .failure(failure):
                    let problem = failure.description
                    result.errors += 1
                    if problem.contains("timed out") { result.timeouts += 1 }
                    if result.notes.count < 3 { result.notes.append("id \(id) (\(payload.describe)): \(problem); connection stopped") }
                    close(fd)
                    shared.results.withLock { $0.append(result) }
                    return
                case let .success(response):
                    result.latencies.append(seconds(clock.now - sent))
                    var problem: String?
                    if contains(response, "\"error\"") {
                        problem = "error response"
                    } else if integerField(response, "id") != id {
                        problem = "response id is not the request's \(id) (out of order?)"
                    } else if let total = integerField(response, "total"), total != payload.expectedTotal {
                        problem = "total \(total), in-process count gives \(payload.expectedTotal)"
                    } else if integerField(response, "total") == nil {
                        problem = "no total in the response"
                    }
                    if let problem {
                        result.errors += 1
                        if result.notes.count < 3 { result.notes.append("id \(id) (\(payload.describe)): \(problem): \(preview(response))") }
                    } else {
                        result.textBytes += payload.textBytes
                    }
                }
            }
            close(fd)
            shared.results.withLock { $0.append(result) }
        }
    }
    for thread in threads { pthread_join(thread, nil) }
    let elapsed = seconds(clock.now - start)
    let clientCPU = ownCPUSeconds() - clientCPUBefore
    let daemonCPU = daemonCPUBefore.flatMap { before in daemonPID.flatMap(processCPUSeconds).map { $0 - before } }

    let all = shared.results.withLock { $0 }
    let latencies = all.flatMap(\.latencies).sorted()
    return RunResult(
        workload: workload, rate: rate, connections: connections, requested: requests, answered: latencies.count,
        elapsed: elapsed, textBytes: all.reduce(0) { $0 + $1.textBytes }, latencies: latencies,
        errors: all.reduce(0) { $0 + $1.errors }, timeouts: all.reduce(0) { $0 + $1.timeouts },
        hitTimeCap: shared.hitTimeCap.load(ordering: .relaxed), notes: all.flatMap(\.notes),
        clientCPU: clientCPU, daemonCPU: daemonCPU)
}

/// One request/response on a fresh connection, for health and stats.
func ask(_ socketPath: String, _ request: String, timeout: Double) -> Result<String, Problem> {
    switch connectUnix(socketPath, timeout: timeout) {
    case let .failure(reason): return .failure(reason)
    case let .success(fd):
        defer { close(fd) }
        var connection = LineConnection(fd: fd)
        if let problem = connection.send(Array((request + "\n").utf8)) { return .failure(Problem(problem)) }
        return connection.readLine().map { String(decoding: $0, as: UTF8.self) }
    }
}

// MARK: - Main

func main() {
    signal(SIGPIPE, SIG_IGN)
    let options = parseOptions()
    let socketPath = options.socket!
    if options.check {
        let answer = ask(socketPath, "{\"id\":\"load-check\",\"op\":\"health\"}", timeout: 5)
        if case let .success(line) = answer, contains(Array(line.utf8), "\"status\":\"ok\"") { exit(0) }
        exit(1)
    }
    let corpusPath = options.corpus ?? defaultCorpus()
    let corpus: [UInt8]
    do {
        corpus = try FileIO.readAll(corpusPath)
    } catch {
        fail("\(error)")
    }
    guard corpus.count >= 2 << 20 else { fail("\(corpusPath): the corpus needs at least 2 MB of text, it has \(corpus.count) bytes") }
    guard String(validating: corpus, as: UTF8.self) != nil else { fail("\(corpusPath): not UTF-8") }
    let tokenizer: Tokenizer
    do {
        tokenizer = try Tokenizer.named(options.vocab)
    } catch {
        fail("\(error)")
    }

    let health: String
    switch ask(socketPath, "{\"id\":\"load-health\",\"op\":\"health\"}", timeout: options.timeout) {
    case let .success(line): health = line
    case let .failure(reason): fail("the daemon does not answer on \(socketPath): \(reason)")
    }

    // The daemon's pid from its health answer, to read its CPU time in /proc (same machine, same socket).
    let daemonPID = integerField(Array(health.utf8), "pid")
    let clock = ContinuousClock()
    var batchPayloads: [Payload] = []
    var measureBaseline: (() -> Double)?
    if options.workloads.contains(.batch) {
        let batches = batchRanges(corpus)
        batchPayloads = batches.map { makePayload(corpus, ranges: $0, vocab: options.vocab, tokenizer: tokenizer) }
        // In-process baseline: Tokenizer.count over the same texts, one thread; the payloads above were the warm-up.
        let texts = batches.flatMap { $0.map { Array(corpus[$0]) } }
        let totalBytes = texts.reduce(0) { $0 + $1.count }
        let expected = batchPayloads.reduce(0) { $0 + $1.expectedTotal }
        let repeats = options.baselineRepeat
        measureBaseline = {
            var rates: [Double] = []
            for _ in 0..<repeats {
                var tokens = 0
                let elapsed = clock.measure { for text in texts { tokens += tokenizer.count(text) } }
                guard tokens == expected else { fail("in-process count differs between runs: \(tokens) vs \(expected)") }
                rates.append(Double(totalBytes) / 1e6 / seconds(elapsed))
            }
            return median(rates)
        }
    }
    let smallPool = options.workloads.contains(.small) ? smallPayloads(corpus, vocab: options.vocab, tokenizer: tokenizer) : []
    var chatPool: [Payload] = []
    var chatTiming: String?
    if options.workloads.contains(.chat) {
        guard let counting = try? VocabularyRegistry.standard.chatCounting(for: options.vocab) else {
            fail("vocabulary \(options.vocab) has no chat template or request encoding")
        }
        let (payloads, requests, contents) = chatPayloads(corpus, vocab: options.vocab, tokenizer: tokenizer, counting: counting)
        chatPool = payloads
        // In process, one thread: each request's prompt count through the parsed template, against counting the
        // same messages' contents alone (`Tokenizer.count`); medians of `baselineRepeat` passes over the pool.
        var chatTimes: [Double] = []
        var contentTimes: [Double] = []
        for _ in 0..<max(1, options.baselineRepeat) {
            var tokens = 0
            chatTimes.append(seconds(clock.measure {
                for request in requests { tokens += (try? counting.promptTokens(request, tokenizer: tokenizer)) ?? 0 }
            }))
            contentTimes.append(seconds(clock.measure { for content in contents { tokens += tokenizer.count(content) } }))
            guard tokens > 0 else { fail("no tokens") }
        }
        // Where a template's time goes: rendering alone, and counting the rendered prompt as one text.
        var breakdown = ""
        if case .template(let template) = counting {
            let rendered = requests.compactMap { try? template.render($0) }
            var renderTimes: [Double] = [], promptTimes: [Double] = [], plainTimes: [Double] = [], separateTimes: [Double] = []
            let newlineJoined = requests.map { request -> String in
                guard case .dictionary(let body) = request, case .array(let messages)? = body["messages"] else { return "" }
                return messages.compactMap { message -> String? in
                    if case .dictionary(let fields) = message, case .string(let text)? = fields["content"] { return text }
                    return nil
                }.joined(separator: "\n")
            }
            for _ in 0..<max(1, options.baselineRepeat) {
                var sink = 0
                renderTimes.append(seconds(clock.measure { for request in requests { sink += (try? template.render(request))?.utf8.count ?? 0 } }))
                promptTimes.append(seconds(clock.measure { for text in rendered { sink += tokenizer.count(text, allowedSpecial: .all) } }))
                plainTimes.append(seconds(clock.measure { for text in rendered { sink += tokenizer.count(text) } }))
                separateTimes.append(seconds(clock.measure { for text in newlineJoined { sink += tokenizer.count(text) } }))
                guard sink > 0 else { fail("nothing rendered") }
            }
            breakdown = " Rendering alone \(fixed(median(renderTimes) / Double(requests.count) * 1e6, 1)) µs, counting the rendered prompt as one text \(fixed(median(promptTimes) / Double(requests.count) * 1e6, 1)) µs (contents joined with newlines \(fixed(median(separateTimes) / Double(requests.count) * 1e6, 1)) µs; as plain text, special tokens not matched: \(fixed(median(plainTimes) / Double(requests.count) * 1e6, 1)) µs; \(rendered.reduce(0) { $0 + $1.utf8.count } / max(1, rendered.count)) bytes; contents \(contents.reduce(0) { $0 + $1.utf8.count } / max(1, contents.count)) bytes)."
        }
        let perChat = median(chatTimes) / Double(requests.count) * 1e6
        let perContent = median(contentTimes) / Double(requests.count) * 1e6
        chatTiming = "In process, one thread, \(requests.count) requests of 8 messages (~\(payloads.reduce(0) { $0 + $1.textBytes } / payloads.count) bytes of JSON each), median of \(options.baselineRepeat): the prompt count through the parsed \(options.vocab) \(counting.encodingName.map { "encoding (\($0))" } ?? "template") \(fixed(perChat, 1)) µs a request, counting the contents alone \(fixed(perContent, 1)) µs: \(fixed(perChat / perContent, 2))x." + breakdown
    }

    var rows: [RunResult] = []
    var idBase = 1
    // The machines are noisy (the in-process rate itself moves by tens of percent from minute to minute), so
    // the baseline is measured right before and right after each batch configuration, and its ratio is taken
    // against the mean of the two.
    var baselines: [Int: (before: Double, after: Double)] = [:]
    for workload in options.workloads {
        let requests = options.requests ?? workload.defaultRequests
        for connections in options.connections {
            let before = workload == .batch ? measureBaseline?() : nil
            defer {
                if let before, let after = measureBaseline?() { baselines[rows.count - 1] = (before, after) }
            }
            let result = runConfiguration(
                workload: workload, connections: connections, requests: requests,
                payloads: workload == .small ? smallPool : workload == .chat ? chatPool : batchPayloads, socketPath: socketPath,
                maxSeconds: options.maxSeconds, timeout: options.timeout, idBase: idBase, daemonPID: daemonPID)
            idBase += requests
            writeStderr("tokc-load: \(workload.rawValue) x\(connections): \(result.answered) answered in \(fixed(result.elapsed, 2)) s, \(result.errors) errors")
            rows.append(result)
        }
    }
    if let rate = options.rate, options.workloads.contains(.small) {
        let requests = options.requests ?? Workload.small.defaultRequests
        for connections in options.connections {
            let result = runConfiguration(
                workload: .small, connections: connections, requests: requests, payloads: smallPool,
                socketPath: socketPath, maxSeconds: options.maxSeconds, timeout: options.timeout, idBase: idBase,
                daemonPID: daemonPID, rate: rate)
            idBase += requests
            writeStderr("tokc-load: small paced \(rate)/s x\(connections): \(result.answered) answered in \(fixed(result.elapsed, 2)) s, \(result.errors) errors")
            rows.append(result)
        }
    }

    let name = corpusPath.split(separator: "/").last.map(String.init) ?? corpusPath
    print("### \(name) (\(corpus.count) bytes), vocab \(options.vocab)")
    print()
    print("| workload | connections | requests | req/s | MB/s | p50 ms | p99 ms | errors | client CPU s | daemon CPU s | wall s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows {
        let requests = row.answered == row.requested ? "\(row.answered)" : "\(row.answered) of \(row.requested)\(row.hitTimeCap ? " (time cap)" : " (connections failed)")"
        let errors = row.timeouts > 0 ? "\(row.errors) (\(row.timeouts) timeouts)" : "\(row.errors)"
        let label = row.rate.map { "\(row.workload.rawValue), paced \(Int($0))/s" } ?? row.workload.rawValue
        print("| \(label) | \(row.connections) | \(requests) | \(fixed(Double(row.answered) / row.elapsed, 1)) | \(fixed(Double(row.textBytes) / 1e6 / row.elapsed, 2)) | \(fixed(percentile(row.latencies, 50) * 1000, 3)) | \(fixed(percentile(row.latencies, 99) * 1000, 3)) | \(errors) | \(fixed(row.clientCPU, 2)) | \(row.daemonCPU.map { fixed($0, 2) } ?? "n/a") | \(fixed(row.elapsed, 2)) |")
    }
    print()
    if let chatTiming {
        print(chatTiming)
        print()
    }
    if !baselines.isEmpty {
        print("Daemon batch MB/s against in-process `Tokenizer.count` on one thread over the same batch texts (\(batchPayloads.count) x ~1 MB, median of \(options.baselineRepeat)), measured right before and after each configuration:")
        print()
        for (index, row) in rows.enumerated() {
            guard let (before, after) = baselines[index] else { continue }
            let daemon = Double(row.textBytes) / 1e6 / row.elapsed
            let perCPU = row.daemonCPU.map { ", \(fixed(Double(row.textBytes) / 1e6 / $0, 2)) MB per daemon CPU-second" } ?? ""
            print("- \(row.connections) conn: daemon \(fixed(daemon, 2)) MB/s\(perCPU); in-process \(fixed(before, 2)) / \(fixed(after, 2)) MB/s; ratio \(fixed(daemon / ((before + after) / 2), 2))x")
        }
        print()
    }
    let notes = rows.flatMap { row in row.notes.map { "- \(row.workload.rawValue) x\(row.connections): \($0)" } }
    if !notes.isEmpty {
        print("Problems (first few per connection):")
        print()
        notes.prefix(20).forEach { print($0) }
        print()
    }
    print("Daemon: `\(health)`")
    switch ask(socketPath, "{\"id\":\"load-stats\",\"op\":\"stats\"}", timeout: options.timeout) {
    case let .success(line): print("Daemon stats after the run: `\(line)`")
    case let .failure(reason): print("Daemon stats after the run: no answer (\(reason))")
    }
}

main()
