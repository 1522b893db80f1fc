import Tokc

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A write to standard output failed (a closed pipe, a full disk).
struct OutputError: Error, CustomStringConvertible {
    let reason: String
    var description: String { "cannot write to standard output: \(reason)" }
}

/// Buffered writes to standard output. Commands print through this, never through `print`, so bytes that are
/// not UTF-8 (decoded tokens) pass through untouched and a broken pipe is an error, not a crash.
enum Output {
    /// The CLI runs its commands on the main thread only; nothing else touches this buffer.
    nonisolated(unsafe) private static var pending: [UInt8] = []

    static func write(_ bytes: [UInt8]) throws {
        pending += bytes
        if pending.count >= 1 << 16 { try drain() }
    }

    static func write(_ text: String) throws {
        try write(Array(text.utf8))
    }

    static func line(_ text: String) throws {
        try write(text + "\n")
    }

    /// Writes what is buffered; every command ends with it.
    static func finish() throws {
        try drain()
    }

    /// Writes what is buffered, ignoring failure: before an error message, which matters more.
    static func flush() {
        try? drain()
    }

    private static func drain() throws {
        defer { pending.removeAll(keepingCapacity: true) }
        try writeAll(pending, to: STDOUT_FILENO)
    }

    static func writeAll(_ bytes: [UInt8], to descriptor: Int32) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBufferPointer { buffer in
                Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw OutputError(reason: String(cString: strerror(errno)))
            }
            offset += written
        }
    }
}
