import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import TokcProtocol

/// The HTTP face (`tokc serve --http`): `POST /v1/<op>` takes the socket protocol's request object as its body
/// and answers with the same JSON, through the same `RequestProcessor`; `GET /` is the playground page.
///
/// A web page the user visits must not be able to use the daemon, so before anything is read:
/// - `Host` must name the address the daemon is bound to, or `localhost`, with its port (a DNS-rebinding page
///   reaches 127.0.0.1 under its own name, which fails this); with `--allow-remote`, any address literal.
/// - A POST's `Origin`, when the browser sends one, must be the daemon's own (`http://` and the `Host`), and
///   its `Content-Type` must be `application/json`, which no HTML form can send and no cross-origin script
///   can send without a preflight the daemon never grants.
/// - A body longer than `--max-request-bytes` is refused as its length is known, and the connection closed.
/// - `paths` is refused: over HTTP the daemon reads no files, and loads vocabularies by shipped name only.
///
/// Refusals answer with a status and a JSON error body in the protocol's shape, then close the connection.
final class HTTPHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    struct Settings: Sendable {
        /// `Host` values accepted, lowercased (`127.0.0.1:8080`, `localhost:8080`).
        var hosts: Set<String>
        /// Accept any address literal as `Host` (`--allow-remote`).
        var anyAddressHost: Bool
        var port: Int
        var maxBodyBytes: Int
        var page: Playground.Page
    }

    private let processor: RequestProcessor
    private let pool: NIOThreadPool
    private let settings: Settings
    private var logger: Logger
    private var reads: BudgetedReads

    /// The request being read: its op, and the body so far. Nil between requests, or while a refused one's
    /// answer is being written.
    private var request: (op: Op, keepAlive: Bool, body: ByteBuffer?)?
    private var bodyBytes = 0
    /// The rest of this request is not read: it was refused, or is the page.
    private var ignoring = false
    private var busy = false
    private var draining = false

    init(processor: RequestProcessor, pool: NIOThreadPool, settings: Settings, budget: MemoryBudget, logger: Logger) {
        self.processor = processor
        self.pool = pool
        self.settings = settings
        self.logger = logger
        reads = BudgetedReads(budget: budget, account: budget.openAccount())
    }

    func channelActive(context: ChannelHandlerContext) {
        logger[metadataKey: "connection"] = "\(processor.stats.connectionOpened())"
        logger.debug("http connection opened")
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        processor.stats.connectionClosed()
        reads.budget.close(reads.account)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case let .head(head):
            busy = true
            ignoring = false
            bodyBytes = 0
            if let refusal = check(head) {
                refuse(refusal, context: context)
                return
            }
            switch route(head) {
            case let .refuse(refusal):
                refuse(refusal, context: context)
            case .page:
                ignoring = true
                respond(status: .ok, headers: settings.page.headers, body: settings.page.bytes, keepAlive: head.isKeepAlive, context: context)
            case let .operation(op):
                var body: ByteBuffer?
                if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > 0 {
                    body = context.channel.allocator.buffer(capacity: length)
                }
                request = (op, head.isKeepAlive, body)
            }
        case var .body(part):
            guard !ignoring, var current = request else { return }
            bodyBytes += part.readableBytes
            guard bodyBytes <= settings.maxBodyBytes else {
                request = nil
                reads.budget.discarded(.max, by: reads.account)
                refuse(.tooLarge(bodyBytes, settings.maxBodyBytes), context: context)
                return
            }
            reads.budget.read(part.readableBytes, by: reads.account)
            request = nil  // one owner for the body while it grows, so appending does not copy it
            if current.body == nil {
                current.body = part
            } else {
                current.body!.writeBuffer(&part)
            }
            request = current
        case .end:
            guard !ignoring, let current = request else { return }
            request = nil
            run(current.op, body: current.body, keepAlive: current.keepAlive, context: context)
        }
    }

    // MARK: - Checks

    enum Refusal: Error {
        case status(HTTPResponseStatus, ErrorCode, String, allow: String? = nil)
        static func tooLarge(_ bytes: Int, _ limit: Int) -> Refusal {
            .status(.payloadTooLarge, .requestTooLarge, "the request body has at least \(bytes) bytes; this daemon takes at most \(limit) bytes per request (--max-request-bytes)")
        }
    }

    private func check(_ head: HTTPRequestHead) -> Refusal? {
        let hosts = head.headers["host"]
        guard hosts.count == 1, let host = hosts.first?.lowercased() else {
            return .status(.badRequest, .invalidRequest, "a request needs exactly one Host header")
        }
        guard settings.hosts.contains(host) || (settings.anyAddressHost && Self.isAddressLiteral(host, port: settings.port)) else {
            return .status(.forbidden, .invalidRequest, "Host '\(host)' is not this daemon's address; use http://\(settings.hosts.sorted().first ?? "127.0.0.1")/")
        }
        if head.method == .POST {
            if let origin = head.headers.first(name: "origin"), origin.lowercased() != "http://" + host {
                return .status(.forbidden, .invalidRequest, "cross-origin request from '\(origin)' refused: only pages served by this daemon may use it")
            }
            if head.headers.first(name: "sec-fetch-site").map({ $0 != "same-origin" && $0 != "none" }) == true {
                return .status(.forbidden, .invalidRequest, "cross-site request refused (Sec-Fetch-Site)")
            }
            let type = head.headers.first(name: "content-type")?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
            if type != "application/json" {
                return .status(.unsupportedMediaType, .invalidRequest, "a request body must be sent as Content-Type: application/json")
            }
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > settings.maxBodyBytes {
                return .tooLarge(length, settings.maxBodyBytes)
            }
        }
        return nil
    }

    /// `127.0.0.1:8080`, `[::1]:8080`, `10.0.0.5:8080`: an address, not a name (a name could be rebound).
    static func isAddressLiteral(_ host: String, port: Int) -> Bool {
        let address: Substring
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]"), host[host.index(after: close)...] == ":\(port)" || host[host.index(after: close)...].isEmpty && port == 80 else { return false }
            address = host[host.index(after: host.startIndex)..<close]
            return address.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
        }
        if host.hasSuffix(":\(port)") {
            address = host.dropLast(":\(port)".count)
        } else if port == 80 && !host.contains(":") {
            address = Substring(host)
        } else {
            return false
        }
        let parts = address.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }

    private enum Route {
        case page
        case operation(Op)
        case refuse(Refusal)
    }

    private func route(_ head: HTTPRequestHead) -> Route {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? head.uri
        if path == "/" || path == "/index.html" {
            return head.method == .GET ? .page : .refuse(.status(.methodNotAllowed, .invalidRequest, "\(path) takes GET", allow: "GET"))
        }
        if path.hasPrefix("/v1/") {
            let name = String(path.dropFirst(4))
            guard let op = Op(rawValue: name) else {
                return .refuse(.status(.notFound, .unknownOp, "unknown op '\(name)'; ops: \(Op.allCases.map(\.rawValue).joined(separator: ", "))"))
            }
            return head.method == .POST ? .operation(op) : .refuse(.status(.methodNotAllowed, .invalidRequest, "\(path) takes POST with a JSON body", allow: "POST"))
        }
        return .refuse(.status(.notFound, .invalidRequest, "no such path: \(path); the API is POST /v1/<op>, the playground GET /"))
    }

    // MARK: - Answers

    private func run(_ op: Op, body: ByteBuffer?, keepAlive: Bool, context: ChannelHandlerContext) {
        let bytes = body?.readableBytes ?? 0
        reads.budget.framed(bytes, by: reads.account)
        let frame = Frame.line(body ?? ByteBuffer(string: "{}"))
        let processor = self.processor
        let allocator = context.channel.allocator
        let how = RequestProcessor.Face.http(op: op)
        processor.stats.requestStarted()
        let done: (ByteBuffer, ErrorCode?) -> Void = { [self] response, code in
            processor.stats.requestFinished()
            reads.budget.answerBuilt(response.readableBytes, by: reads.account)
            reads.budget.released(bytes, by: reads.account)
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "application/json; charset=utf-8")
            headers.add(name: "cache-control", value: "no-store")
            headers.add(name: "x-content-type-options", value: "nosniff")
            respond(status: Self.status(of: code), headers: headers, body: response, keepAlive: keepAlive, context: context)
        }
        if RequestProcessor.isLight(frame) {
            let (response, code) = processor.answer(frame, face: how, allocator: allocator)
            done(response, code)
            return
        }
        pool.runIfActive(eventLoop: context.eventLoop) {
            processor.answer(frame, face: how, allocator: allocator)
        }.assumeIsolated().whenComplete { result in
            switch result {
            case let .success((response, code)): done(response, code)
            case let .failure(error):
                var response = allocator.buffer(capacity: 128)
                ResponseWriter.write(ErrorResponse(id: .none, error: ErrorBody(code: .serverData, message: "the daemon is stopping: \(error)")), to: &response)
                done(response, .serverData)
            }
        }
    }

    /// The status for an answer: 200, or the error's kind.
    static func status(of code: ErrorCode?) -> HTTPResponseStatus {
        switch code {
        case nil: .ok
        case .requestTooLarge: .payloadTooLarge
        case .unknownOp: .notFound
        case .serverData: .internalServerError
        case .malformedJSON, .invalidRequest, .unknownVocab, .unknownModel, .noTokenizer, .unknownTokenID,
             .unreadableFile, .templateRefused, .invalidTemplate:
            .badRequest
        }
    }

    private func refuse(_ refusal: Refusal, context: ChannelHandlerContext) {
        guard case let .status(status, code, message, allow) = refusal else { return }
        ignoring = true
        logger.info("http request refused", metadata: ["status": "\(status.code)", "reason": "\(message)"])
        processor.stats.recordRequest(op: "http", error: code)
        var body = context.channel.allocator.buffer(capacity: 128)
        ResponseWriter.write(ErrorResponse(id: .none, error: ErrorBody(code: code, message: message)), to: &body)
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json; charset=utf-8")
        headers.add(name: "cache-control", value: "no-store")
        if let allow { headers.add(name: "allow", value: allow) }
        reads.budget.answerBuilt(body.readableBytes, by: reads.account)
        // The rest of the request (a body not read) would be taken for the next one: close after answering.
        respond(status: status, headers: headers, body: body, keepAlive: false, context: context)
    }

    private func respond(status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = headers
        let size = body.readableBytes
        headers.replaceOrAdd(name: "content-length", value: String(size))
        let close = !keepAlive || draining
        headers.replaceOrAdd(name: "connection", value: close ? "close" : "keep-alive")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let budget = reads.budget
        let account = reads.account
        let stats = processor.stats
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        written.assumeIsolated().whenComplete { [self] result in
            stats.answerWritten((try? result.get()) != nil)
            budget.released(size, by: account)
            busy = false
            if close || draining { context.close(promise: nil) }
        }
    }

    // MARK: - Reading and ending

    func read(context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        reads.read(context: context, midRequest: request != nil) {
            let (handler, context) = bound.value
            guard handler.reads.held, context.channel.isActive else { return }
            handler.read(context: context)
        }
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is DrainEvent else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        draining = true
        if !busy { context.close(promise: nil) }
        promise?.succeed()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("http connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}
