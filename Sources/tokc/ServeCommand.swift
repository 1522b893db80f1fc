import ArgumentParser
import Dispatch
import Logging
import Tokc
import TokcServer

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Answer token-count and cost requests on a Unix socket (newline-delimited JSON) and/or over HTTP, with a playground page (docs/protocol.md).",
        discussion: "SIGTERM or SIGINT stops accepting, finishes the requests in flight and removes the socket file."
    )

    @Option(name: .long, help: ArgumentHelp("The socket file to create.", valueName: "path"))
    var socket: String?

    @Option(name: .long, help: ArgumentHelp("Serve HTTP on this address: POST /v1/<op>, and the playground at /. Loopback only unless --allow-remote.", valueName: "address:port"))
    var http: String?

    @Flag(name: .long, help: "Let --http bind an address other machines can reach.")
    var allowRemote = false

    @Option(name: .long, help: ArgumentHelp("Bytes of requests and answers held at once across all connections, then the daemon stops reading until answers drain (default: a quarter of RAM; 512m, 2g).", valueName: "bytes"))
    var maxMemory: String?

    @Option(name: .long, help: ArgumentHelp("The socket file's permissions, in octal.", valueName: "octal"))
    var mode = "0600"

    @Option(name: .long, help: "The longest request line accepted, in bytes; longer ones get a request_too_large error.")
    var maxRequestBytes = 64 << 20

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Vocabularies to load at start instead of at first use.", valueName: "name"))
    var preload: [String] = []

    @Option(name: .long, help: ArgumentHelp("A price table laid over the shipped models.json.", valueName: "file"))
    var prices: String?

    @Option(name: .long, help: "Threads that run requests (default: one per core).")
    var threads: Int?

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    func validate() throws {
        if socket == nil && http == nil { throw ValidationError("give --socket PATH, --http ADDRESS:PORT or both") }
        if allowRemote && http == nil { throw ValidationError("--allow-remote goes with --http") }
        if let maxMemory, Self.bytes(maxMemory) == nil { throw ValidationError("--max-memory takes bytes, such as 536870912, 512m or 2g, not '\(maxMemory)'") }
        guard let parsed = UInt32(mode, radix: 8), parsed <= 0o777 else {
            throw ValidationError("--mode must be octal permissions such as 0600, not '\(mode)'")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if maxRequestBytes < 1024 { throw ValidationError("--max-request-bytes must be at least 1024") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var configuration = TokcServer.Configuration(socketPath: "")
        configuration.socketPath = socket
        if let http { configuration.http = try TokcServer.HTTPEndpoint(parsing: http, allowRemote: allowRemote) }
        configuration.maxMemory = maxMemory.flatMap(Self.bytes)
        configuration.maxMemoryIsProcessWide = true
        #if os(Linux)
        // Request buffers grow to tens of megabytes and are freed in any order. glibc's dynamic threshold would
        // soon serve them from its heaps, which keep freed space (the resident set doubled under load); mapped
        // on their own, each grows in place (mremap) and goes back to the system when freed.
        _ = glibcMallopt(-3 /* M_MMAP_THRESHOLD */, 256 << 10)
        #endif
        configuration.mode = UInt32(mode, radix: 8) ?? 0o600
        configuration.maxRequestBytes = maxRequestBytes
        configuration.preload = preload
        configuration.pricesFile = prices
        if let threads { configuration.threads = threads }

        // The socket is created under this umask, so it is never more open than --mode, even for a moment.
        umask(0o077)
        let server = try TokcServer(configuration: configuration)
        try await server.start()

        let signals = [SIGTERM, SIGINT].map { number -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { Task { await server.shutdown() } }
            source.resume()
            return source
        }
        await server.waitUntilStopped()
        signals.forEach { $0.cancel() }
    }

    /// `536870912`, `512k`, `512m`, `2g` (powers of 1024).
    static func bytes(_ text: String) -> Int? {
        let lower = text.lowercased()
        let shifts: [Character: Int] = ["k": 10, "m": 20, "g": 30, "t": 40]
        if let last = lower.last, let shift = shifts[last] {
            guard let number = Int(lower.dropLast()), number > 0, number < (1 << (62 - shift)) else { return nil }
            return number << shift
        }
        return Int(lower).flatMap { $0 > 0 ? $0 : nil }
    }
}

#if os(Linux)
/// glibc's `mallopt` (malloc.h, which the Glibc module does not bring in).
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
