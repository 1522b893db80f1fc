import CCompressZlib

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file, a pipe or standard input read in pieces, never whole: what lets `tokc count` take an input of any
/// size in bounded memory. gzip data (recognised by its first two bytes, whatever the file is called, so a
/// gzipped pipe works too) is inflated as it is read; concatenated gzip members (`cat a.gz b.gz`, pigz) are
/// read one after another, as `gzip -d` does.
public final class ByteStream {
    /// The name errors use: the path, or "standard input".
    public let name: String
    /// The size of a regular file (compressed, for gzip), for a progress estimate; nil for a pipe.
    public let fileSize: Int?
    /// Bytes read from the file so far (compressed, for gzip): progress against `fileSize`.
    public private(set) var fileBytesRead = 0
    public let isGzip: Bool

    private let descriptor: Int32
    private let ownsDescriptor: Bool
    /// Bytes read but not yet handed out: the sniffed prefix, then, for gzip, compressed input.
    private var pending: [UInt8] = []
    private var pendingStart = 0
    private var atEnd = false
    private var inflater: UnsafeMutablePointer<z_stream>?
    private var memberEnded = false

    /// Opens `path` (`-` is standard input) and looks at its first bytes for gzip's magic number.
    public init(path: String) throws(TokcError) {
        name = path == "-" ? "standard input" : path
        descriptor = path == "-" ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .unreadableFile(path: path, reason: FileIO.systemError()) }
        ownsDescriptor = path != "-"
        var info = stat()
        let kind = fstat(descriptor, &info) == 0 ? info.st_mode & S_IFMT : 0
        if kind == S_IFDIR {
            if ownsDescriptor { close(descriptor) }
            throw .unreadableFile(path: path, reason: "is a directory")
        }
        fileSize = kind == S_IFREG ? Int(info.st_size) : nil
        // Two bytes decide; a pipe may hand them over one at a time.
        var head = [UInt8](repeating: 0, count: 2)
        var got = 0
        let opened = descriptor
        while got < 2 {
            let received = head.withUnsafeMutableBytes { Self.readSome(opened, $0.baseAddress! + got, 2 - got) }
            if received < 0 {
                let reason = FileIO.systemError()
                if ownsDescriptor { close(descriptor) }
                throw .unreadableFile(path: path, reason: reason)
            }
            if received == 0 { break }
            got += received
        }
        fileBytesRead = got
        pending = Array(head[..<got])
        isGzip = got == 2 && pending == Gzip.magic
        if isGzip {
            let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            stream.initialize(to: z_stream())
            // 15 + 16: a gzip wrapper, the largest window.
            guard CCompressZlib_inflateInit2(stream, 15 + 16) == Z_OK else {
                stream.deallocate()
                if ownsDescriptor { close(descriptor) }
                throw .unreadableFile(path: path, reason: "zlib could not start inflating")
            }
            inflater = stream
        }
    }

    deinit {
        if let inflater {
            inflateEnd(inflater)
            inflater.deallocate()
        }
        if ownsDescriptor { close(descriptor) }
    }

    /// Fills `buffer` as far as the input allows; returns how many bytes it wrote, 0 only at the end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(TokcError) -> Int {
        var filled = 0
        while filled < buffer.count {
            let got = isGzip ? try inflate(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
                : try readRaw(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if got == 0 { break }
            filled += got
        }
        return filled
    }

    /// Raw bytes: what was sniffed first, then the descriptor.
    private func readRaw(into buffer: UnsafeMutableRawBufferPointer) throws(TokcError) -> Int {
        if pendingStart < pending.count {
            let count = min(buffer.count, pending.count - pendingStart)
            pending.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + pendingStart, byteCount: count) }
            pendingStart += count
            return count
        }
        if atEnd { return 0 }
        let received = Self.readSome(descriptor, buffer.baseAddress!, buffer.count)
        if received < 0 { throw .unreadableFile(path: name, reason: FileIO.systemError()) }
        if received == 0 { atEnd = true }
        fileBytesRead += received
        return received
    }

    /// Inflated bytes, refilling the compressed input 256 KiB at a time.
    private func inflate(into buffer: UnsafeMutableRawBufferPointer) throws(TokcError) -> Int {
        guard let stream = inflater else { return 0 }
        while true {
            if pendingStart == pending.count {
                if atEnd {
                    if memberEnded || stream.pointee.total_in == 0 { return 0 }
                    throw .unreadableFile(path: name, reason: "the gzip data ends before its end (truncated)")
                }
                if pending.count != 1 << 18 { pending = [UInt8](repeating: 0, count: 1 << 18) }
                let received = pending.withUnsafeMutableBytes { Self.readSome(descriptor, $0.baseAddress!, $0.count) }
                if received < 0 { throw .unreadableFile(path: name, reason: FileIO.systemError()) }
                fileBytesRead += received
                if received == 0 { atEnd = true; pending = []; pendingStart = 0; continue }
                pending.removeSubrange(received...)
                pendingStart = 0
            }
            if memberEnded {
                // Another member follows the one that ended: start it afresh.
                inflateReset(stream)
                memberEnded = false
            }
            let (status, produced, consumed) = pending.withUnsafeMutableBytes { input in
                stream.pointee.next_in = CCompressZlib_voidPtr_to_BytefPtr(input.baseAddress! + pendingStart)
                stream.pointee.avail_in = UInt32(input.count - pendingStart)
                stream.pointee.next_out = CCompressZlib_voidPtr_to_BytefPtr(buffer.baseAddress!)
                stream.pointee.avail_out = UInt32(min(buffer.count, Int(UInt32.max)))
                let status = CCompressZlib.inflate(stream, Z_NO_FLUSH)
                return (status, min(buffer.count, Int(UInt32.max)) - Int(stream.pointee.avail_out),
                        input.count - pendingStart - Int(stream.pointee.avail_in))
            }
            pendingStart += consumed
            switch status {
            case Z_STREAM_END: memberEnded = true
            case Z_OK, Z_BUF_ERROR: break
            default:
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "code \(status)"
                throw .unreadableFile(path: name, reason: "the gzip data is damaged (\(message))")
            }
            if produced > 0 { return produced }
        }
    }

    private static func readSome(_ descriptor: Int32, _ target: UnsafeMutableRawPointer, _ count: Int) -> Int {
        while true {
            let received = Glibc.read(descriptor, target, count)
            if received < 0 && errno == EINTR { continue }
            return received
        }
    }
}
