/// The protobuf wire format, just as much as SentencePiece's `.model` files need: varints, 32-bit floats and
/// length-delimited fields (strings, bytes, nested messages), read without copying and written back.
///
/// Why not swift-protobuf: its runtime needs code generated from the `.proto` by `protoc`, which build machines
/// do not have, and `ModelProto` is two small messages of which tokc reads a dozen fields; a reader of the
/// wire format is a page, reports where a file is truncated, and skips the fields it does not know.
struct ProtobufReader {
    enum WireType: UInt8 {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5
    }

    /// One field: its number, and its payload (the varint's value, or the bytes of a fixed or
    /// length-delimited payload).
    struct Field {
        let number: Int
        let wireType: WireType
        let varint: UInt64
        let payload: Range<Int>
    }

    /// What went wrong, and at which byte.
    struct Failure: Error {
        let offset: Int
        let reason: String
    }

    let bytes: UnsafeBufferPointer<UInt8>

    /// Calls `body` with each field of the message in `range`, in order.
    func forEachField(in range: Range<Int>, _ body: (Field) throws(Failure) -> Void) throws(Failure) {
        var offset = range.lowerBound
        while offset < range.upperBound {
            let start = offset
            let key = try varint(at: &offset, limit: range.upperBound)
            guard let wireType = WireType(rawValue: UInt8(key & 7)), key >> 3 > 0, key >> 3 <= UInt64(Int32.max) else {
                throw Failure(offset: start, reason: "a field key with wire type \(key & 7) and number \(key >> 3), which is not valid here")
            }
            let number = Int(key >> 3)
            switch wireType {
            case .varint:
                let value = try varint(at: &offset, limit: range.upperBound)
                try body(Field(number: number, wireType: wireType, varint: value, payload: offset..<offset))
            case .fixed32, .fixed64:
                let size = wireType == .fixed32 ? 4 : 8
                guard range.upperBound - offset >= size else { throw Failure(offset: offset, reason: "a \(size * 8)-bit value, but the message ends") }
                try body(Field(number: number, wireType: wireType, varint: 0, payload: offset..<(offset + size)))
                offset += size
            case .lengthDelimited:
                let length = try varint(at: &offset, limit: range.upperBound)
                guard length <= UInt64(range.upperBound - offset) else {
                    throw Failure(offset: offset, reason: "\(length) bytes of field \(number), but the message ends after \(range.upperBound - offset)")
                }
                let end = offset + Int(length)
                try body(Field(number: number, wireType: wireType, varint: 0, payload: offset..<end))
                offset = end
            }
        }
    }

    func varint(at offset: inout Int, limit: Int) throws(Failure) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        let start = offset
        while true {
            guard offset < limit else { throw Failure(offset: start, reason: "a varint, but the message ends") }
            guard shift < 64 else { throw Failure(offset: start, reason: "a varint of at most 10 bytes") }
            let byte = bytes[offset]
            offset += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }

    func float(_ field: Field) -> Float? {
        guard field.wireType == .fixed32 else { return nil }
        var bits: UInt32 = 0
        for (index, byte) in bytes[field.payload].enumerated() { bits |= UInt32(byte) << (8 * index) }
        return Float(bitPattern: bits)
    }

    func bytes(_ field: Field) -> [UInt8]? {
        field.wireType == .lengthDelimited ? Array(bytes[field.payload]) : nil
    }
}

/// Writes protobuf fields in the order called.
struct ProtobufWriter {
    private(set) var bytes: [UInt8] = []

    private mutating func key(_ number: Int, _ wireType: ProtobufReader.WireType) {
        varint(UInt64(number) << 3 | UInt64(wireType.rawValue))
    }

    private mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func integer(_ number: Int, _ value: Int) {
        key(number, .varint)
        varint(UInt64(bitPattern: Int64(value)))
    }

    mutating func bool(_ number: Int, _ value: Bool) { integer(number, value ? 1 : 0) }

    mutating func float(_ number: Int, _ value: Float) {
        key(number, .fixed32)
        let bits = value.bitPattern
        for index in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: bits >> (8 * index))) }
    }

    mutating func bytes(_ number: Int, _ value: [UInt8]) {
        key(number, .lengthDelimited)
        varint(UInt64(value.count))
        bytes += value
    }

    mutating func message(_ number: Int, _ build: (inout ProtobufWriter) -> Void) {
        var nested = ProtobufWriter()
        build(&nested)
        bytes(number, nested.bytes)
    }
}
