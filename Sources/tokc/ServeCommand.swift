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
        abstract: "Answer token-count and cost requests on a Unix socket (newline-delimited JSON; docs/protocol.md).",
        discussion: "SIGTERM or SIGINT stops accepting, finishes the requests in flight and removes the socket file."
    )

    @Option(name: .long, help: ArgumentHelp("The socket file to create.", valueName: "path"))
    var socket: String

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
        var configuration = TokcServer.Configuration(socketPath: socket)
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
}
