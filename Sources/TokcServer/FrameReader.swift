import NIOCore
import TokcProtocol

/// A request line and the bytes it took from the connection's budget (the line, its newline and any blank
/// lines before it), given back once it is answered.
struct BudgetedFrame {
    var frame: Frame
    var bytes: Int
}

/// The socket face's first handler: cuts the byte stream into request lines (`LineFramer`) and counts every
/// byte it keeps against the daemon's `MemoryBudget`, reading only while the budget allows. It plays the part
/// `ByteToMessageHandler(LineFramer)` would, keeping the buffer itself so that it knows exactly how many bytes
/// each line took.
final class FrameReader: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = BudgetedFrame
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var framer: LineFramer
    /// Bytes read and not yet cut into lines.
    private var buffer: ByteBuffer?
    private var reads: BudgetedReads
    private var ended = false

    init(maxLineBytes: Int, budget: MemoryBudget, account: MemoryBudget.Account) {
        framer = LineFramer(maxLineBytes: maxLineBytes)
        reads = BudgetedReads(budget: budget, account: account)
    }

    private var midRequest: Bool { (buffer?.readableBytes ?? 0) > 0 }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        guard !ended else { return }
        reads.budget.read(incoming.readableBytes, by: reads.account)
        if var kept = buffer, kept.readableBytes > 0 {
            buffer = nil  // so the write below does not copy the storage for a second owner
            kept.writeBuffer(&incoming)
            buffer = kept
        } else {
            buffer = incoming
        }
        cutLines(context: context)
    }

    private func cutLines(context: ChannelHandlerContext) {
        guard var kept = buffer else { return }
        buffer = nil
        while true {
            let before = kept.readableBytes
            let frame = framer.nextFrame(&kept)
            let consumed = before - kept.readableBytes
            guard let frame else {
                // An over-long line's bytes are dropped as they arrive: they are held no longer.
                reads.budget.discarded(consumed, by: reads.account)
                break
            }
            reads.budget.framed(consumed, by: reads.account)
            context.fireChannelRead(wrapInboundOut(BudgetedFrame(frame: frame, bytes: consumed)))
        }
        if kept.readableBytes == 0 {
            buffer = nil  // the lines cut from it keep its storage alive as long as they need it
        } else {
            if kept.readerIndex > 1 << 20 && kept.readerIndex > kept.capacity / 2 { kept.discardReadBytes() }
            buffer = kept
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed, !ended {
            // The client has sent its last request: an unterminated last line is a request too.
            if var kept = buffer {
                buffer = nil
                let before = kept.readableBytes
                if let frame = framer.lastFrame(&kept) {
                    reads.budget.framed(before, by: reads.account)
                    context.fireChannelRead(wrapInboundOut(BudgetedFrame(frame: frame, bytes: before)))
                } else {
                    reads.budget.discarded(before, by: reads.account)
                }
            }
            ended = true
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Half a line with nobody to answer: give its bytes back. Requests in flight give theirs back as they finish.
        ended = true
        buffer = nil
        reads.budget.close(reads.account)
        context.fireChannelInactive()
    }

    func read(context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        reads.read(context: context, midRequest: midRequest) {
            let (handler, context) = bound.value
            guard handler.reads.held, context.channel.isActive else { return }
            handler.read(context: context)
        }
    }
}
