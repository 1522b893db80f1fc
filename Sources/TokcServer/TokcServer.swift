import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Tokc
import TokcProtocol

/// The daemon: a Unix-socket service answering newline-delimited JSON requests (docs/protocol.md), and/or the
/// same requests over HTTP (`POST /v1/<op>`) with the playground page at `/`.
///
/// ```swift
/// let server = try TokcServer(configuration: .init(socketPath: "/tmp/tokc.sock"))
/// try await server.start()
/// // ... later, or from a SIGTERM handler:
/// await server.shutdown()
/// ```
///
/// One event loop per core moves bytes and answers small requests; a thread pool with one thread per core
/// runs the large ones (batches, files), so a big batch never stalls a loop or the other connections.
public final class TokcServer: Sendable {
    public struct Configuration: Sendable {
        /// The Unix socket to serve on, if any.
        public var socketPath: String?
        /// The HTTP address to serve on, if any.
        public var http: HTTPEndpoint?
        /// The bytes of requests and answers held at once across all connections; past it the daemon stops
        /// reading until answers drain. Default: a quarter of the machine's memory.
        public var maxMemory: Int?
        /// Make `maxMemory` a bound on the whole process: what it holds once started (vocabularies preloaded,
        /// price table, threads) and an eighth for the work in progress are taken off the bytes requests may
        /// hold. For a daemon in a process of its own (`tokc serve`); a test sharing the process leaves it off.
        public var maxMemoryIsProcessWide = false
        /// The socket file's permissions; the default lets only the daemon's user connect.
        public var mode: UInt32 = 0o600
        /// The longest request line accepted; longer ones get a `request_too_large` error.
        public var maxRequestBytes = 64 << 20
        /// Requests one connection may have in progress before the daemon stops reading from it.
        public var maxPendingPerConnection = 32
        /// Event loops, threads in the pool that runs large requests, and threads one batch spreads over.
        public var threads = System.coreCount
        /// Vocabularies to load at start instead of at first use.
        public var preload: [String] = []
        /// A price table laid over the shipped `models.json` (tokc's format or LiteLLM's).
        public var pricesFile: String?
        public var registry: VocabularyRegistry = .standard
        /// How long a shutdown waits for in-flight requests before closing connections anyway.
        public var shutdownGracePeriod: Duration = .seconds(30)

        public init(socketPath: String) {
            self.socketPath = socketPath
        }

        public init(http: HTTPEndpoint) {
            self.http = http
        }
    }

    /// Where the HTTP face listens. Only a loopback address unless `allowRemote`.
    public struct HTTPEndpoint: Sendable {
        public var host: String
        /// 0 picks a free port (`TokcServer.httpPort` tells which).
        public var port: Int
        public var allowRemote = false

        public init(host: String, port: Int, allowRemote: Bool = false) {
            self.host = host
            self.port = port
            self.allowRemote = allowRemote
        }

        /// Reads `127.0.0.1:8080`, `[::1]:8080`, `localhost:8080`.
        public init(parsing text: String, allowRemote: Bool = false) throws(TokcError) {
            let invalid = TokcError.invalidRequest("--http takes ADDRESS:PORT (127.0.0.1:8080, [::1]:8080), not '\(text)'")
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { throw invalid }
            var host = String(text[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty else { throw invalid }
            self.init(host: host, port: port, allowRemote: allowRemote)
        }

        /// 127.0.0.0/8, ::1 and `localhost`.
        public var isLoopback: Bool {
            if host == "localhost" || host == "::1" { return true }
            let parts = host.split(separator: ".", omittingEmptySubsequences: false)
            return parts.count == 4 && parts.first == "127" && parts.allSatisfy { UInt8($0) != nil }
        }
    }

    public static let version = "0.1.0"

    public let configuration: Configuration
    private let logger: Logger
    private let processor: RequestProcessor
    private let group: MultiThreadedEventLoopGroup
    private let pool: NIOThreadPool
    private let state = Locked(State())
    private let budget: MemoryBudget
    private let page: Playground.Page

    private struct State {
        var listeners: [any Channel] = []
        var httpPort: Int?
        var connections: [ObjectIdentifier: any Channel] = [:]
        var stopping = false
        var stopped = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Loads the price table and the manifests (so a bad file fails here, before the socket exists) and any
    /// vocabularies to preload.
    public init(configuration: Configuration, logger: Logger = Logger(label: "tokc.serve")) throws(TokcError) {
        guard configuration.socketPath != nil || configuration.http != nil else {
            throw .invalidRequest("the daemon needs a socket path or an HTTP address to serve on")
        }
        if let http = configuration.http, !http.allowRemote, !http.isLoopback {
            throw .invalidRequest("--http \(http.host): not a loopback address; the HTTP face serves this machine only unless --allow-remote is given")
        }
        self.configuration = configuration
        self.logger = logger
        let maxMemory = configuration.maxMemory ?? max(MemoryBudget.defaultLimit, 2 * configuration.maxRequestBytes)
        guard maxMemory >= 2 * configuration.maxRequestBytes else {
            throw .invalidRequest("--max-memory (\(maxMemory) bytes) must be at least twice --max-request-bytes (\(configuration.maxRequestBytes)): one request must fit beside the others")
        }
        budget = MemoryBudget(limit: maxMemory, maxRequestBytes: configuration.maxRequestBytes)
        let catalog = try ModelCatalog.load(registry: configuration.registry, pricesFile: configuration.pricesFile)
        processor = try RequestProcessor(
            registry: configuration.registry, catalog: catalog, stats: ServerStats(), logger: logger,
            version: Self.version, maxRequestBytes: configuration.maxRequestBytes, threads: configuration.threads,
            budget: budget)
        page = configuration.http == nil ? Playground.Page.none : Playground.page()
        for name in configuration.preload {
            _ = try processor.tokenizer(named: name)
        }
        if configuration.maxMemoryIsProcessWide, let resident = MemoryBudget.residentBytes() {
            let forRequests = maxMemory - resident - maxMemory / 8
            guard forRequests >= 2 * configuration.maxRequestBytes else {
                throw .invalidRequest("--max-memory (\(maxMemory >> 20) MiB) leaves \(max(0, forRequests) >> 20) MiB for requests once the daemon holds its \(resident >> 20) MiB (vocabularies, price table) and an eighth for work in progress; requests need at least twice --max-request-bytes (\(2 * configuration.maxRequestBytes >> 20) MiB)")
            }
            budget.setLimit(forRequests)
        }
        group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.threads))
        pool = NIOThreadPool(numberOfThreads: max(1, configuration.threads))
    }

    /// Claims the socket path (replacing a stale socket, refusing a live one) and binds it, binds the HTTP
    /// address, and starts serving.
    public func start() async throws {
        if let path = configuration.socketPath { try SocketFile.claim(path) }
        pool.start()
        if let path = configuration.socketPath { try await startSocket(path) }
        if let http = configuration.http {
            do {
                try await startHTTP(http)
            } catch {
                await shutdown()
                throw error
            }
        }
    }

    private func startSocket(_ path: String) async throws {
        let processor = self.processor
        let pool = self.pool
        let budget = self.budget
        let maxPending = configuration.maxPendingPerConnection
        let maxLine = configuration.maxRequestBytes
        let logger = self.logger
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { [weak self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let account = budget.openAccount()
                    try channel.pipeline.syncOperations.addHandler(FrameReader(maxLineBytes: maxLine, budget: budget, account: account))
                    try channel.pipeline.syncOperations.addHandler(
                        ConnectionHandler(processor: processor, pool: pool, maxPending: maxPending, budget: budget, account: account, logger: logger))
                    self?.track(channel)
                }
            }
        let listener: any Channel
        do {
            listener = try await bootstrap.bind(unixDomainSocketPath: path).get()
        } catch let error as IOError {
            throw SocketFile.creationFailure(path, errno: error.errnoCode)
        }
        do {
            try SocketFile.setMode(path, mode_t(configuration.mode))
        } catch {
            try? await listener.close()
            SocketFile.remove(path)
            throw error
        }
        state.withLock { $0.listeners.append(listener) }
        logger.info("serving", metadata: [
            "socket": "\(path)", "threads": "\(configuration.threads)", "pid": "\(getpid())",
            "max_request_bytes": "\(configuration.maxRequestBytes)", "max_memory": "\(budget.limit)",
        ])
    }

    private func startHTTP(_ endpoint: HTTPEndpoint) async throws {
        let processor = self.processor
        let pool = self.pool
        let budget = self.budget
        let logger = self.logger
        let maxBody = configuration.maxRequestBytes
        let page = self.page
        // The port is known once bound (0 asks for a free one); connections read it from here.
        let port = Locked(endpoint.port)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [weak self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let bound = port.withLock { $0 }
                    var hosts: Set<String> = ["localhost:\(bound)"]
                    hosts.insert((endpoint.host.contains(":") ? "[\(endpoint.host)]" : endpoint.host).lowercased() + ":\(bound)")
                    if bound == 80 { hosts.formUnion(hosts.map { String($0.dropLast(3)) }) }
                    let settings = HTTPHandler.Settings(
                        hosts: hosts, anyAddressHost: endpoint.allowRemote, port: bound, maxBodyBytes: maxBody, page: page)
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        HTTPHandler(processor: processor, pool: pool, settings: settings, budget: budget, logger: logger))
                    self?.track(channel)
                }
            }
        let listener = try await bootstrap.bind(host: endpoint.host == "localhost" ? "127.0.0.1" : endpoint.host, port: endpoint.port).get()
        let bound = listener.localAddress?.port ?? endpoint.port
        port.withLock { $0 = bound }
        state.withLock {
            $0.listeners.append(listener)
            $0.httpPort = bound
        }
        logger.info("serving http", metadata: [
            "address": "\(endpoint.host):\(bound)", "allow_remote": "\(endpoint.allowRemote)",
            "max_memory": "\(budget.limit)", "playground": "http://\(endpoint.host.contains(":") ? "[\(endpoint.host)]" : endpoint.host):\(bound)/",
        ])
    }

    /// The HTTP face's port once started (the one picked when the configuration asked for 0).
    public var httpPort: Int? { state.withLock { $0.httpPort } }

    private func track(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        let admitted = state.withLock { state in
            guard !state.stopping else { return false }
            state.connections[key] = channel
            return true
        }
        guard admitted else {
            channel.close(promise: nil)
            return
        }
        channel.closeFuture.whenComplete { [weak self] _ in
            _ = self?.state.withLock { $0.connections.removeValue(forKey: key) }
        }
    }

    /// Stops accepting, lets every connection finish the requests it has sent, removes the socket file and
    /// stops the threads. Connections still busy after the grace period are closed. Safe to call twice.
    public func shutdown() async {
        let (listeners, connections, first) = state.withLock { state in
            defer { state.stopping = true }
            return (state.listeners, Array(state.connections.values), !state.stopping)
        }
        guard first else {
            await waitUntilStopped()
            return
        }
        logger.info("shutting down", metadata: ["connections": "\(connections.count)", "in_flight": "\(processor.stats.inFlight)"])
        processor.beginDraining()
        for listener in listeners { try? await listener.close() }
        if let path = configuration.socketPath { SocketFile.remove(path) }
        for connection in connections {
            connection.triggerUserOutboundEvent(DrainEvent(), promise: nil)
        }
        let deadline = ContinuousClock.now + configuration.shutdownGracePeriod
        for connection in connections {
            while connection.isActive && ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(5))
            }
            if connection.isActive { try? await connection.close() }
        }
        try? await pool.shutdownGracefully()
        try? await group.shutdownGracefully()
        let answers = processor.stats.answers
        logger.info("stopped", metadata: ["answered": "\(answers.delivered)", "undelivered": "\(answers.undelivered)"])
        let waiters = state.withLock { state in
            state.stopped = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns when `shutdown` has finished.
    public func waitUntilStopped() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state in
                if !state.stopped { state.waiters.append(continuation) }
                return state.stopped
            }
            if done { continuation.resume() }
        }
    }

    /// Connections open now, for tests and `stats`.
    public var connectionCount: Int { processor.stats.connectionsOpen }
    /// Requests read and not yet answered, for tests and `stats`.
    public var requestsInFlight: Int { processor.stats.inFlight }
}
