#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The metadata of a GGUF file, llama.cpp's model container: its header and key/value pairs. They sit at the
/// front of the file, before the tensor descriptions and the tensor data, and are read front to back with
/// bounded reads: the tensor data is never read, so a 40 GB model opens as fast, and in as little memory, as
/// a vocabulary-only file. Versions 2 and 3 (little-endian, 64-bit counts and lengths).
///
/// A truncated or corrupt file is `TokcError.invalidVocabulary` naming the byte offset and what was expected
/// there; a count or length larger than what is left of the file is refused before anything is allocated.
public struct GGUFMetadata: Sendable {
    public let version: UInt32
    public let tensorCount: UInt64
    /// The key/value pairs in file order.
    public let entries: [Entry]
    /// Bytes read from the file: its header and metadata, never the tensors after them.
    public let bytesRead: Int

    public struct Entry: Sendable, Equatable {
        public let key: String
        public let value: Value
    }

    /// A metadata value. Arrays of one element type are kept as typed arrays (a vocabulary's 150,000 token
    /// strings are one `.strings`); the integer types are widened to 64 bits, the floats to `Double`.
    public enum Value: Sendable, Equatable {
        case unsigned(UInt64)
        case signed(Int64)
        case float(Double)
        case bool(Bool)
        case string([UInt8])
        case strings([[UInt8]])
        case unsignedArray([UInt64])
        case signedArray([Int64])
        case floatArray([Double])
        case boolArray([Bool])
        /// An array of arrays: counted and skipped (no tokenizer key uses one).
        case arrays(count: Int)
    }

    public subscript(key: String) -> Value? {
        entries.first { $0.key == key }?.value
    }

    /// The first four bytes of every GGUF file.
    public static let magic: [UInt8] = Array("GGUF".utf8)

    /// Reads the header and metadata of the GGUF file at `path`.
    public static func read(path: String) throws(TokcError) -> GGUFMetadata {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .unreadableFile(path: path, reason: FileIO.systemError()) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw .unreadableFile(path: path, reason: FileIO.systemError()) }
        var reader = Reader(descriptor: descriptor, size: Int(info.st_size), path: path)
        return try parse(&reader)
    }

    static func parse(_ reader: inout Reader) throws(TokcError) -> GGUFMetadata {
        guard try reader.bytes(4, "the magic \"GGUF\"").elementsEqual(magic) else {
            throw reader.failure(at: 0, "the magic \"GGUF\" (47 47 55 46)")
        }
        let version: UInt32 = try reader.integer("the version")
        guard version == 2 || version == 3 else {
            let reason = version == 1 ? "version 1 (32-bit lengths, 2023) is not read"
                : version.byteSwapped == 2 || version.byteSwapped == 3 ? "a big-endian file is not read"
                : "version \(version) is not one tokc knows"
            throw reader.failure(at: 4, "GGUF version 2 or 3; \(reason)")
        }
        let tensorCount: UInt64 = try reader.integer("the tensor count")
        let entryCount: UInt64 = try reader.integer("the metadata entry count")
        // Each entry takes at least a key length, a type and a one-byte value.
        try reader.check(count: entryCount, atLeast: 13, "metadata entries")
        var entries: [Entry] = []
        entries.reserveCapacity(Int(entryCount))
        for _ in 0..<entryCount {
            let keyStart = reader.offset
            let key = try reader.string("a key")
            guard let text = String(validating: key, as: UTF8.self) else { throw reader.failure(at: keyStart, "a key in UTF-8") }
            let type: UInt32 = try reader.integer("the type of \(text)")
            entries.append(Entry(key: text, value: try value(of: type, &reader, key: text)))
        }
        return GGUFMetadata(version: version, tensorCount: tensorCount, entries: entries, bytesRead: reader.offset)
    }

    /// GGUF's value types, by their number in the file.
    enum ValueType: UInt32 {
        case uint8 = 0, int8, uint16, int16, uint32, int32, float32, bool, string, array, uint64, int64, float64

        /// Bytes of one value of a fixed-size type (a string's are at least its 8-byte length).
        var size: Int {
            switch self {
            case .uint8, .int8, .bool: 1
            case .uint16, .int16: 2
            case .uint32, .int32, .float32: 4
            case .uint64, .int64, .float64, .string: 8
            case .array: 12
            }
        }
    }

    private static func value(of rawType: UInt32, _ reader: inout Reader, key: String) throws(TokcError) -> Value {
        guard let type = ValueType(rawValue: rawType) else {
            throw reader.failure(at: reader.offset - 4, "a value type 0-12 for \(key), not \(rawType)")
        }
        func what() -> String { "the value of \(key)" }
        switch type {
        case .string: return .string(try reader.string(what()))
        case .array:
            let elementStart = reader.offset
            let rawElement: UInt32 = try reader.integer("the element type of \(key)")
            guard let element = ValueType(rawValue: rawElement) else {
                throw reader.failure(at: elementStart, "an element type 0-12 for \(key), not \(rawElement)")
            }
            let count: UInt64 = try reader.integer("the element count of \(key)")
            try reader.check(count: count, atLeast: element.size, "elements of \(key)")
            let n = Int(count)
            /// The `n` elements, each read by `next` (given its index, for error messages).
            func collect<T>(_ next: (inout Reader, Int) throws(TokcError) -> T) throws(TokcError) -> [T] {
                var values: [T] = []
                values.reserveCapacity(n)
                for index in 0..<n { values.append(try next(&reader, index)) }
                return values
            }
            switch element {
            case .string:
                return .strings(try collect { reader, index throws(TokcError) in try reader.string("element \(index) of \(key)") })
            case .array:
                for index in 0..<n { _ = try Self.value(of: ValueType.array.rawValue, &reader, key: "\(key)[\(index)]") }
                return .arrays(count: n)
            case .bool: return .boolArray(try collect { reader, _ throws(TokcError) in try reader.bool(what()) })
            case .float32, .float64: return .floatArray(try collect { reader, _ throws(TokcError) in try reader.float(element, what()) })
            case .int8, .int16, .int32, .int64: return .signedArray(try collect { reader, _ throws(TokcError) in try reader.integer(element, what()) })
            case .uint8, .uint16, .uint32, .uint64: return .unsignedArray(try collect { reader, _ throws(TokcError) in try reader.integer(element, what()) })
            }
        case .bool: return .bool(try reader.bool(what()))
        case .float32, .float64: return .float(try reader.float(type, what()))
        case .int8, .int16, .int32, .int64: return .signed(try reader.integer(type, what()))
        case .uint8, .uint16, .uint32, .uint64: return .unsigned(try reader.integer(type, what()))
        }
    }

    /// Sequential little-endian reads from a file descriptor through a 1 MiB buffer (or from bytes in memory,
    /// for tests and the fuzz target), tracking the offset for error messages.
    struct Reader {
        private let descriptor: Int32
        private let size: Int
        private let path: String
        private var buffer: [UInt8]
        /// The file offset of `buffer[0]`.
        private var bufferStart = 0
        private(set) var offset = 0

        init(descriptor: Int32, size: Int, path: String) {
            self.descriptor = descriptor
            self.size = size
            self.path = path
            buffer = []
        }

        /// Over bytes in memory (no file).
        init(bytes: [UInt8], path: String) {
            descriptor = -1
            size = bytes.count
            self.path = path
            buffer = bytes
        }

        func failure(at position: Int, _ expected: String) -> TokcError {
            .invalidVocabulary(path: path, reason: "byte \(position): expected \(expected)")
        }

        /// Refuses a count of elements of at least `minimum` bytes each that could not fit in the rest of the file.
        func check(count: UInt64, atLeast minimum: Int, _ what: @autoclosure () -> String) throws(TokcError) {
            let left = UInt64(max(size - offset, 0))
            guard count <= left / UInt64(max(minimum, 1)) else {
                throw failure(at: offset - 8, "a count of \(what()) that fits in the \(left) bytes left, not \(count)")
            }
        }

        /// The next `count` bytes. `what` (and every description below) is made only for an error: built for
        /// each of a vocabulary's 400,000 strings, the descriptions were a third of a GGUF's load (perf).
        mutating func bytes(_ count: Int, _ what: @autoclosure () -> String) throws(TokcError) -> ArraySlice<UInt8> {
            guard count <= size - offset else {
                throw failure(at: offset, "\(what()) (\(count) bytes), but the file ends after \(size) bytes")
            }
            let end = offset + count
            if end > bufferStart + buffer.count {
                try fill(from: offset, atLeast: count)
            }
            defer { offset = end }
            return buffer[(offset - bufferStart)..<(end - bufferStart)]
        }

        /// Reads from `position` on, at least `count` bytes and up to 1 MiB.
        private mutating func fill(from position: Int, atLeast count: Int) throws(TokcError) {
            guard descriptor >= 0 else { throw failure(at: position, "\(count) more bytes") }
            let length = min(max(count, 1 << 20), size - position)
            var chunk = [UInt8](repeating: 0, count: length)
            var done = 0
            while done < length {
                let received = chunk.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + done, length - done, off_t(position + done)) }
                if received < 0 && errno == EINTR { continue }
                guard received > 0 else {
                    if received < 0 { throw .unreadableFile(path: path, reason: FileIO.systemError()) }
                    throw failure(at: position + done, "\(length - done) more bytes; the file shrank while it was read")
                }
                done += received
            }
            buffer = chunk
            bufferStart = position
        }

        mutating func integer<T: FixedWidthInteger>(_ what: @autoclosure () -> String) throws(TokcError) -> T {
            var value: T = 0
            for (shift, byte) in try bytes(MemoryLayout<T>.size, what()).enumerated() {
                value |= T(truncatingIfNeeded: byte) << (8 * shift)
            }
            return value
        }

        /// A GGUF string: a 64-bit length, then that many bytes.
        mutating func string(_ what: @autoclosure () -> String) throws(TokcError) -> [UInt8] {
            let length: UInt64 = try integer("the length of \(what())")
            guard length <= UInt64(max(size - offset, 0)) else {
                throw failure(at: offset - 8, "the length of \(what()) within the \(size - offset) bytes left, not \(length)")
            }
            return Array(try bytes(Int(length), what()))
        }

        mutating func bool(_ what: @autoclosure () -> String) throws(TokcError) -> Bool {
            let byte: UInt8 = try integer(what())
            guard byte <= 1 else { throw failure(at: offset - 1, "\(what()): a bool, 0 or 1, not \(byte)") }
            return byte == 1
        }

        mutating func float(_ type: ValueType, _ what: @autoclosure () -> String) throws(TokcError) -> Double {
            type == .float32 ? Double(Float(bitPattern: try integer(what()))) : Double(bitPattern: try integer(what()))
        }

        /// A value of one of GGUF's integer types, widened to `Wide` (sign-extended from a signed type).
        mutating func integer<Wide: FixedWidthInteger>(_ type: ValueType, _ what: @autoclosure () -> String) throws(TokcError) -> Wide {
            switch type {
            case .uint8: Wide(truncatingIfNeeded: try integer(what()) as UInt8)
            case .int8: Wide(truncatingIfNeeded: try integer(what()) as Int8)
            case .uint16: Wide(truncatingIfNeeded: try integer(what()) as UInt16)
            case .int16: Wide(truncatingIfNeeded: try integer(what()) as Int16)
            case .uint32: Wide(truncatingIfNeeded: try integer(what()) as UInt32)
            case .int32: Wide(truncatingIfNeeded: try integer(what()) as Int32)
            case .int64: Wide(truncatingIfNeeded: try integer(what()) as Int64)
            default: Wide(truncatingIfNeeded: try integer(what()) as UInt64)
            }
        }
    }
}
