#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A scheme's trainer. It is fed texts one at a time, so a corpus streams through it and is never held whole;
/// it normalises and pre-tokenises them exactly as encoding will, keeps only its statistics, and then learns a
/// vocabulary. The same input and options give the same vocabulary, byte for byte.
public protocol Trainer {
    associatedtype Model: TrainedModel

    /// Adds one text (a line of a corpus) to the statistics.
    mutating func add(_ text: UnsafeBufferPointer<UInt8>)

    /// Learns the vocabulary from everything added. `progress` is called now and then. Mutating because a
    /// trainer may hold back texts to count them in batches on every core; training counts the rest first.
    mutating func train(progress: (TrainingProgress) -> Void) throws(TokcError) -> Model
}

/// What a trainer produces: a tokenizer to use now, and files to write.
public protocol TrainedModel {
    /// The tokenizer, ready to encode.
    func tokenizer(name: String) throws(TokcError) -> Tokenizer
    /// The vocabulary in a file format (`tokenizer.json`, `tiktoken`, ...).
    func serialize(format: String) throws(TokcError) -> [UInt8]
}

public struct TrainingProgress: Sendable {
    public let phase: String
    public let done: Int
    public let total: Int
}

extension Trainer {
    /// Adds every line of a file, read 1 MiB at a time (a line is a text; `\r\n` and `\n` both end one).
    public mutating func add(file path: String) throws(TokcError) {
        let descriptor = path == "-" ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .unreadableFile(path: path, reason: String(cString: strerror(errno))) }
        defer { if descriptor != STDIN_FILENO { close(descriptor) } }
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .unreadableFile(path: path, reason: String(cString: strerror(errno)))
            }
            if count == 0 { break }
            pending += chunk[..<count]
            var lineStart = 0
            pending.withUnsafeBufferPointer { bytes in
                while let newline = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) {
                    var end = newline
                    if end > lineStart && bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                    add(UnsafeBufferPointer(rebasing: bytes[lineStart..<end]))
                    lineStart = newline + 1
                }
            }
            pending.removeFirst(lineStart)
        }
        if !pending.isEmpty { pending.withUnsafeBufferPointer { add($0) } }
    }
}
