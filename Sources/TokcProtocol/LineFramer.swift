import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One line of the protocol, or the news that a line was too long to keep.
public enum Frame: Sendable, Equatable {
    /// A line without its `\n` (and without a `\r` before it).
    case line(ByteBuffer)
    /// A line of `bytes` bytes that exceeded the limit. Its bytes were dropped as they arrived, so a huge
    /// line costs no memory; it is reported when its newline (or the end of input) is reached.
    case tooLarge(bytes: Int)
}

/// Cuts a byte stream into `\n`-terminated lines of at most `maxLineBytes` bytes. Blank lines are skipped. An
/// unterminated last line is delivered at the end of input, so `printf '{"op":"health"}' | nc -U` works.
public struct LineFramer: ByteToMessageDecoder {
    public typealias InboundOut = Frame

    public let maxLineBytes: Int
    /// Bytes already searched for a newline in the current line, so a long line is scanned once, not once per read.
    private var scanned = 0
    /// Bytes dropped from the current over-long line, or nil while the current line is within the limit.
    private var discarded: Int?

    public init(maxLineBytes: Int) {
        self.maxLineBytes = maxLineBytes
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = nextFrame(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        if let frame = nextFrame(&buffer) {
            context.fireChannelRead(wrapInboundOut(frame))
            return .continue
        }
        if let frame = lastFrame(&buffer) { context.fireChannelRead(wrapInboundOut(frame)) }
        return .needMoreData
    }

    /// At the end of input, once `nextFrame` has found no more lines: the unterminated last line (or the news
    /// that it was too long), consuming the rest of `buffer`; nil when nothing but white space was left.
    public mutating func lastFrame(_ buffer: inout ByteBuffer) -> Frame? {
        defer {
            buffer.moveReaderIndex(to: buffer.writerIndex)
            scanned = 0
        }
        if let dropped = discarded {
            discarded = nil
            return .tooLarge(bytes: dropped + buffer.readableBytes)
        }
        if let last = buffer.readSlice(length: buffer.readableBytes), let line = Self.trimmed(last) { return .line(line) }
        return nil
    }

    /// The next complete frame in `buffer`, consuming it; nil when more bytes are needed.
    public mutating func nextFrame(_ buffer: inout ByteBuffer) -> Frame? {
        while true {
            let readable = buffer.readableBytes
            let found = buffer.withUnsafeReadableBytes { raw -> Int? in
                guard scanned < raw.count, let base = raw.baseAddress else { return nil }
                // memchr: a 64 MiB line is scanned at memory speed, once.
                guard let hit = memchr(base + scanned, Int32(UInt8(ascii: "\n")), raw.count - scanned) else { return nil }
                return base.distance(to: UnsafeRawPointer(hit))
            }
            guard let newline = found else {
                if discarded != nil || readable > maxLineBytes {
                    // Too long already: drop what has arrived and remember how much.
                    discarded = (discarded ?? 0) + readable
                    buffer.moveReaderIndex(forwardBy: readable)
                    scanned = 0
                } else {
                    scanned = readable
                }
                return nil
            }
            let length = newline
            scanned = 0
            if let dropped = discarded {
                discarded = nil
                buffer.moveReaderIndex(forwardBy: length + 1)
                return .tooLarge(bytes: dropped + length)
            }
            guard let line = buffer.readSlice(length: length) else { return nil }
            buffer.moveReaderIndex(forwardBy: 1)
            if length > maxLineBytes { return .tooLarge(bytes: length) }
            if let trimmed = Self.trimmed(line) { return .line(trimmed) }
            // A blank line: look for the next one.
        }
    }

    /// The line without a trailing `\r`; nil when nothing but white space is left.
    private static func trimmed(_ line: ByteBuffer) -> ByteBuffer? {
        var line = line
        if line.readableBytesView.last == UInt8(ascii: "\r") { line.moveWriterIndex(to: line.writerIndex - 1) }
        let blank = line.readableBytesView.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
        return blank ? nil : line
    }
}
