import Logging
import NIOCore
import NIOPosix
import Tokc
import TokcProtocol

/// The daemon: a Unix-socket service answering newline-delimited JSON requests (docs/protocol.md).
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
        public var socketPath: String
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
    }

    public static let version = "0.1.0"

    public let configuration: Configuration
    private let logger: Logger
    private let processor: RequestProcessor
    private let group: MultiThreadedEventLoopGroup
    private let pool: NIOThreadPool
    private let state = Locked(State())

    private struct State {
        var listener: (any Channel)?
        var connections: [ObjectIdentifier: any Channel] = [:]
        var stopping = false
        var stopped = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Loads the price table and the manifests (so a bad file fails here, before the socket exists) and any
    /// vocabularies to preload.
    public init(configuration: Configuration, logger: Logger = Logger(label: "tokc.serve")) throws(TokcError) {
        self.configuration = configuration
        self.logger = logger
        let catalog = try ModelCatalog.load(registry: configuration.registry, pricesFile: configuration.pricesFile)
        processor = try RequestProcessor(
            registry: configuration.registry, catalog: catalog, stats: ServerStats(), logger: logger,
            version: Self.version, maxRequestBytes: configuration.maxRequestBytes, threads: configuration.threads)
        for name in configuration.preload {
            _ = try processor.tokenizer(named: name)
        }
        group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.threads))
        pool = NIOThreadPool(numberOfThreads: max(1, configuration.threads))
    }

    /// Claims the socket path (replacing a stale socket, refusing a live one), binds and starts serving.
    public func start() async throws {
        let path = configuration.socketPath
        try SocketFile.claim(path)
        pool.start()
        let processor = self.processor
        let pool = self.pool
        let maxPending = configuration.maxPendingPerConnection
        let maxLine = configuration.maxRequestBytes
        let logger = self.logger
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { [weak self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFramer(maxLineBytes: maxLine)))
                    try channel.pipeline.syncOperations.addHandler(
                        ConnectionHandler(processor: processor, pool: pool, maxPending: maxPending, logger: logger))
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
        state.withLock { $0.listener = listener }
        logger.info("serving", metadata: [
            "socket": "\(path)", "threads": "\(configuration.threads)", "pid": "\(getpid())",
            "max_request_bytes": "\(configuration.maxRequestBytes)",
        ])
    }

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
        let (listener, connections, first) = state.withLock { state in
            defer { state.stopping = true }
            return (state.listener, Array(state.connections.values), !state.stopping)
        }
        guard first else {
            await waitUntilStopped()
            return
        }
        logger.info("shutting down", metadata: ["connections": "\(connections.count)", "in_flight": "\(processor.stats.inFlight)"])
        processor.beginDraining()
        try? await listener?.close()
        SocketFile.remove(configuration.socketPath)
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
