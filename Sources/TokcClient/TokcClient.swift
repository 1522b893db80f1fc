import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Synchronization
@_exported import TokcProtocol

/// Why a call to the daemon failed.
public enum TokcClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The daemon answered with an error object: the request was wrong (unknown vocabulary, bad field, ...).
    case server(ErrorBody)
    /// No daemon answers on the socket.
    case connectFailed(path: String, reason: String)
    /// The connection closed before the answer came.
    case connectionClosed
    /// The daemon's answer does not have the shape this client expects (a version mismatch).
    case invalidResponse(String)
    /// The call's own input is wrong before anything is sent (a chat request that is not a JSON object).
    case invalidRequest(String)

    public var description: String {
        switch self {
        case let .server(body): return "\(body.code.rawValue): \(body.message)"
        case let .connectFailed(path, reason): return "cannot connect to the tokc daemon at \(path): \(reason)"
        case .connectionClosed: return "the tokc daemon closed the connection before answering"
        case let .invalidResponse(reason): return "unexpected answer from the tokc daemon: \(reason)"
        case let .invalidRequest(reason): return "invalid request: \(reason)"
        }
    }
}

/// A client of `tokc serve`. One connection, opened at the first call and reused by every later one; calls
/// from many tasks at once are pipelined on it and matched to their answers by id. If the daemon closes the
/// connection, the next call opens a new one.
///
/// ```swift
/// let client = TokcClient(socketPath: "/run/user/1000/tokc.sock")
/// let counted = try await client.count(["hello world"], vocab: "o200k_base")   // counted.total == 2
/// let price = try await client.cost(["hello world"], model: "gpt-4o")           // price.costUSD
/// ```
public final class TokcClient: Sendable {
    public let socketPath: String
    private let group: any EventLoopGroup
    // NIO's lock, not Synchronization.Mutex, which ThreadSanitizer cannot see on Linux (see Tokc's `Locked`).
    private let connection = NIOLockedValueBox<EventLoopFuture<any Channel>?>(nil)
    private let nextID = Atomic<Int64>(1)

    public init(socketPath: String, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.socketPath = socketPath
        self.group = group
    }

    // MARK: - Operations

    public func count(_ texts: [String], vocab: String? = nil, model: String? = nil, allowSpecial: Bool = false) async throws(TokcClientError) -> CountResponse {
        try await send(Request(op: .count, texts: texts, vocab: vocab, model: model, allowSpecial: allowSpecial ? true : nil))
    }

    /// Counts files the daemon reads itself; relative paths are made absolute against this process's directory.
    public func count(paths: [String], vocab: String? = nil, model: String? = nil, allowSpecial: Bool = false) async throws(TokcClientError) -> CountResponse {
        try await send(Request(op: .count, paths: paths.map(Self.absolute), vocab: vocab, model: model, allowSpecial: allowSpecial ? true : nil))
    }

    /// With `offsets`, the response's `offsets` holds each token's span in its text (byte and UTF-16 offsets); with
    /// `offsetArrays`, `offsetArrays` holds the same spans as parallel lists, without the tokens' spellings.
    public func encode(
        _ texts: [String], vocab: String? = nil, allowSpecial: Bool = false, offsets: Bool = false, offsetArrays: Bool = false
    ) async throws(TokcClientError) -> EncodeResponse {
        try await send(Request(
            op: .encode, texts: texts, vocab: vocab, allowSpecial: allowSpecial ? true : nil, offsets: offsets ? true : nil,
            offsetArrays: offsetArrays ? true : nil))
    }

    public func decode(_ ids: [[UInt32]], vocab: String? = nil) async throws(TokcClientError) -> DecodeResponse {
        try await send(Request(op: .decode, vocab: vocab, ids: ids))
    }

    public func cost(_ texts: [String], model: String, vocab: String? = nil, outputTokens: Int? = nil, budget: Int? = nil) async throws(TokcClientError) -> CostResponse {
        try await send(Request(op: .cost, texts: texts, vocab: vocab, model: model, outputTokens: outputTokens, budget: budget))
    }

    public func cost(paths: [String], model: String, vocab: String? = nil, outputTokens: Int? = nil, budget: Int? = nil) async throws(TokcClientError) -> CostResponse {
        try await send(Request(op: .cost, paths: paths.map(Self.absolute), vocab: vocab, model: model, outputTokens: outputTokens, budget: budget))
    }

    /// Prompt tokens of chat requests (`count_chat`). Each request is an OpenAI chat-completions body as JSON
    /// text, sent as it is: a chat request is arbitrary JSON whose key order a template may print, so the client
    /// does not decode and re-encode it. A request that is not a JSON object is an error before anything is sent.
    public func countChat(_ requests: [String], vocab: String? = nil, model: String? = nil,
                          allowSpecial: Bool = false) async throws(TokcClientError) -> ChatCountResponse {
        var request = Request(op: .countChat, vocab: vocab, model: model, allowSpecial: allowSpecial ? true : nil)
        let id = RequestID.number(nextID.add(1, ordering: .relaxed).oldValue)
        request.id = id
        var line: [UInt8]
        do {
            line = Array(try JSONEncoder().encode(request))
        } catch {
            throw .invalidResponse("the request could not be encoded: \(error)")
        }
        // The encoder writes one object; the requests go in as its last member.
        guard line.last == UInt8(ascii: "}") else { throw .invalidResponse("the request could not be encoded") }
        line.removeLast()
        line += Array(#","requests":["#.utf8)
        for (index, body) in requests.enumerated() {
            let trimmed = body.utf8.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
            guard trimmed.first == UInt8(ascii: "{") else {
                throw .invalidRequest("requests[\(index)] is not a JSON object")
            }
            if index > 0 { line.append(UInt8(ascii: ",")) }
            // A raw newline would end the line; in valid JSON it can only be whitespace, so it becomes a space.
            line += body.utf8.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }
        }
        line += Array("]}\n".utf8)
        let answer = try await exchange(id: id, line: ByteBuffer(bytes: line))
        return try Self.decodeAnswer(answer, as: ChatCountResponse.self)
    }

    public func vocabularies() async throws(TokcClientError) -> VocabulariesResponse { try await send(Request(op: .vocabularies)) }
    public func models() async throws(TokcClientError) -> ModelsResponse { try await send(Request(op: .models)) }
    public func health() async throws(TokcClientError) -> HealthResponse { try await send(Request(op: .health)) }
    public func stats() async throws(TokcClientError) -> StatsResponse { try await send(Request(op: .stats)) }

    /// Sends any request and decodes its answer as `Response`. The request's id is replaced by the client's own.
    public func send<Response: Decodable>(_ request: Request, as: Response.Type = Response.self) async throws(TokcClientError) -> Response {
        var request = request
        let id = RequestID.number(nextID.add(1, ordering: .relaxed).oldValue)
        request.id = id
        let line: ByteBuffer
        do {
            var data = try JSONEncoder().encode(request)
            data.append(UInt8(ascii: "\n"))
            line = ByteBuffer(bytes: data)
        } catch {
            throw .invalidResponse("the request could not be encoded: \(error)")
        }
        let answer = try await exchange(id: id, line: line)
        return try Self.decodeAnswer(answer, as: Response.self)
    }

    /// Closes the connection; a later call opens a new one.
    public func close() async {
        let current = connection.withLockedValue { current in
            defer { current = nil }
            return current
        }
        if let channel = try? await current?.get() { try? await channel.close() }
    }

    // MARK: - Internals

    private func exchange(id: RequestID, line: ByteBuffer) async throws(TokcClientError) -> ByteBuffer {
        let channel = try await connectedChannel()
        let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
        channel.writeAndFlush(OutgoingRequest(id: id, line: line, answer: promise), promise: nil)
        do {
            return try await promise.futureResult.get()
        } catch let error as TokcClientError {
            throw error
        } catch {
            throw .connectionClosed
        }
    }

    /// The open connection, opening one if there is none or the last one has closed.
    private func connectedChannel() async throws(TokcClientError) -> any Channel {
        for _ in 0..<2 {
            let future = connection.withLockedValue { current in
                if let current { return current }
                let connecting = connect()
                current = connecting
                return connecting
            }
            let channel: any Channel
            do {
                channel = try await future.get()
            } catch {
                forget(future)
                throw .connectFailed(path: socketPath, reason: "\(error)")
            }
            if channel.isActive { return channel }
            forget(future)
        }
        throw .connectionClosed
    }

    private func connect() -> EventLoopFuture<any Channel> {
        ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFramer(maxLineBytes: Int(Int32.max))))
                    try channel.pipeline.syncOperations.addHandler(ResponseRouter())
                }
            }
            .connect(unixDomainSocketPath: socketPath)
    }

    private func forget(_ future: EventLoopFuture<any Channel>) {
        connection.withLockedValue { if $0 === future { $0 = nil } }
    }

    private static func decodeAnswer<Response: Decodable>(_ answer: ByteBuffer, as: Response.Type) throws(TokcClientError) -> Response {
        let data = Data(answer.readableBytesView)
        let decoder = JSONDecoder()
        if let failure = try? decoder.decode(ErrorResponse.self, from: data) {
            throw .server(failure.error)
        }
        do {
            return try decoder.decode(Response.self, from: data)
        } catch {
            throw .invalidResponse("\(error): \(String(decoding: data.prefix(200), as: UTF8.self))")
        }
    }

    private static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return FileManager.default.currentDirectoryPath + "/" + path
    }
}

/// A request on its way out, with the promise its answer fulfils.
struct OutgoingRequest: Sendable {
    let id: RequestID
    let line: ByteBuffer
    let answer: EventLoopPromise<ByteBuffer>
}

/// Matches answer lines to the requests that asked, by id; fails what is unanswered when the connection ends.
final class ResponseRouter: ChannelDuplexHandler {
    typealias InboundIn = Frame
    typealias OutboundIn = OutgoingRequest
    typealias OutboundOut = ByteBuffer

    private var waiting: [RequestID: EventLoopPromise<ByteBuffer>] = [:]
    private struct IDOnly: Decodable { var id: RequestID? }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        waiting[request.id] = request.answer
        context.write(wrapOutboundOut(request.line), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case let .line(line) = unwrapInboundIn(data) else { return }
        let id = (try? JSONDecoder().decode(IDOnly.self, from: Data(line.readableBytesView)))?.id ?? RequestID.none
        if let answer = waiting.removeValue(forKey: id) {
            answer.succeed(line)
        } else if id == .none, waiting.count == 1, let (only, answer) = waiting.first {
            // An error about a line the daemon could not read carries no id; with one request waiting, it is that one's.
            waiting.removeValue(forKey: only)
            answer.succeed(line)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let unanswered = waiting
        waiting = [:]
        for answer in unanswered.values { answer.fail(TokcClientError.connectionClosed) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
