import Logging
import NIOCore
import NIOPosix
import TokcProtocol

/// Asks a connection to finish what it has and close: the server's shutdown sends it down every pipeline.
struct DrainEvent: Sendable {}

/// One client connection. Small requests are answered on the event loop; the rest (large texts, files) go
/// to the thread pool, so a batch never stalls the loop. Several requests of one connection run at once,
/// and their responses are written in request order.
///
/// Backpressure: while `maxPending` requests are unanswered, or the client is not reading its responses
/// (the channel is not writable), the handler stops reading, so a slow or greedy client holds its own socket
/// buffers and no daemon memory, and the others are not affected. Across connections, `FrameReader` stops
/// reading when the daemon's `MemoryBudget` is spent; this handler gives each request's bytes back once it is
/// answered, and each answer's once it is written.
final class ConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = BudgetedFrame
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let processor: RequestProcessor
    private let pool: NIOThreadPool
    private let maxPending: Int
    private var logger: Logger
    private let budget: MemoryBudget
    private let account: MemoryBudget.Account

    /// Responses of requests still in progress or waiting for an earlier one, oldest first; nil until done.
    private var pending = CircularBuffer<ByteBuffer?>()
    /// The sequence number of `pending.first`.
    private var firstSequence = 0
    private var readHeld = false
    private var draining = false
    private var inputClosed = false
    /// The last answer written: closing must wait for it, since a close fails every write still queued.
    private var lastWrite: EventLoopFuture<Void>?

    init(processor: RequestProcessor, pool: NIOThreadPool, maxPending: Int, budget: MemoryBudget, account: MemoryBudget.Account, logger: Logger) {
        self.budget = budget
        self.account = account
        self.processor = processor
        self.pool = pool
        self.maxPending = maxPending
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        logger[metadataKey: "connection"] = "\(processor.stats.connectionOpened())"
        logger.debug("connection opened")
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        processor.stats.connectionClosed()
        logger.debug("connection closed", metadata: ["unanswered": "\(pending.count)"])
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // The framer hands over what was buffered when the connection closes (`decodeLast`): after a half-close
        // that is the last request, and the channel is still active; once it has closed (the client vanished,
        // or a shutdown closed it) it is half a line with nobody to answer.
        guard context.channel.isActive else { return }
        let budgeted = unwrapInboundIn(data)
        let frame = budgeted.frame
        let sequence = firstSequence + pending.count
        pending.append(nil)
        processor.stats.requestStarted()
        let processor = self.processor
        let allocator = context.channel.allocator
        if RequestProcessor.isLight(frame) {
            // A small request costs less than the two thread hand-offs the pool would add: answer it here.
            // The event loops are as many as the cores, so small requests still use them all.
            let response = processor.respond(to: frame, allocator: allocator)
            processor.stats.requestFinished()
            answered(budgeted.bytes, response)
            finish(sequence, with: response, context: context)
            return
        }
        pool.runIfActive(eventLoop: context.eventLoop) {
            processor.respond(to: frame, allocator: allocator)
        }.assumeIsolated().whenComplete { result in
            self.processor.stats.requestFinished()
            switch result {
            case let .success(response):
                self.answered(budgeted.bytes, response)
                self.finish(sequence, with: response, context: context)
            case let .failure(error):
                // The pool has stopped: the daemon is going down. Answer rather than leave the client waiting.
                var response = context.channel.allocator.buffer(capacity: 128)
                ResponseWriter.write(ErrorResponse(id: .none, error: ErrorBody(code: .serverData, message: "the daemon is stopping: \(error)")), to: &response)
                self.answered(budgeted.bytes, response)
                self.finish(sequence, with: response, context: context)
            }
        }
    }

    /// The request's bytes are no longer needed; its answer's are, until written.
    private func answered(_ requestBytes: Int, _ response: ByteBuffer) {
        budget.answerBuilt(response.readableBytes, by: account)
        budget.released(requestBytes, by: account)
    }

    private func finish(_ sequence: Int, with response: ByteBuffer, context: ChannelHandlerContext) {
        let index = sequence - firstSequence
        guard index >= 0, index < pending.count else { return }
        pending[pending.index(pending.startIndex, offsetBy: index)] = response
        var wrote = false
        let stats = processor.stats
        let (budget, account) = (self.budget, self.account)
        while let first = pending.first, let ready = first {
            pending.removeFirst()
            firstSequence += 1
            let size = ready.readableBytes
            let written = context.write(wrapOutboundOut(ready))
            written.whenComplete {
                stats.answerWritten((try? $0.get()) != nil)
                budget.released(size, by: account)
            }
            lastWrite = written
            wrote = true
        }
        if wrote { context.flush() }
        resumeReadingIfAllowed(context: context)
        closeIfDone(context: context)
    }

    // MARK: - Reading only when there is room

    private var mayRead: Bool { !draining && !inputClosed && pending.count < maxPending }

    func read(context: ChannelHandlerContext) {
        if mayRead && context.channel.isWritable {
            context.read()
        } else {
            readHeld = true
        }
    }

    private func resumeReadingIfAllowed(context: ChannelHandlerContext) {
        guard readHeld, mayRead, context.channel.isWritable else { return }
        readHeld = false
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        resumeReadingIfAllowed(context: context)
        context.fireChannelWritabilityChanged()
    }

    // MARK: - Ending

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            // The client has sent its last request (a half-close); answer everything, then close.
            inputClosed = true
            closeIfDone(context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is DrainEvent else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        draining = true
        closeIfDone(context: context)
        promise?.succeed()
    }

    private func closeIfDone(context: ChannelHandlerContext) {
        guard (draining || inputClosed) && pending.isEmpty, context.channel.isActive else { return }
        guard let lastWrite else {
            context.close(promise: nil)
            return
        }
        // A large answer may still sit in NIO's queue behind a full socket buffer; close once it has gone.
        lastWrite.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset by the peer, a broken pipe: the client is gone. Nothing to answer; close quietly.
        logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}
