import Foundation
import NIOCore
import TokcProtocol

/// Writes the frequent responses (count, encode, errors, health) straight into the output buffer, keys in
/// sorted order as `JSONEncoder.protocol` writes them; the rare ones (cost, decode, lists, stats) go through
/// `JSONEncoder`. Encoding a count answer with `JSONEncoder` cost about half as much CPU as counting 1 KB.
enum ResponseWriter {
    static func write(_ response: any Encodable, to buffer: inout ByteBuffer) throws {
        switch response {
        case let count as CountResponse: write(count, to: &buffer)
        case let encode as EncodeResponse: write(encode, to: &buffer)
        case let error as ErrorResponse: write(error, to: &buffer)
        case let health as HealthResponse: write(health, to: &buffer)
        default:
            buffer.writeBytes(try JSONEncoder.protocol.encode(response))
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
    }

    static func write(_ response: CountResponse, to buffer: inout ByteBuffer) {
        buffer.writeStaticString("{")
        if let approximate = response.approximate {
            buffer.writeStaticString(#""approximate":"#)
            buffer.writeStaticString(approximate ? "true," : "false,")
        }
        buffer.writeStaticString(#""bytes":"#)
        writeIntegers(response.bytes, to: &buffer)
        buffer.writeStaticString(#","counts":"#)
        writeIntegers(response.counts, to: &buffer)
        buffer.writeStaticString(#","id":"#)
        write(response.id, to: &buffer)
        if let model = response.model {
            buffer.writeStaticString(#","model":"#)
            writeString(model, to: &buffer)
        }
        if let note = response.note {
            buffer.writeStaticString(#","note":"#)
            writeString(note, to: &buffer)
        }
        buffer.writeStaticString(#","total":"#)
        buffer.writeString(String(response.total))
        buffer.writeStaticString(#","vocab":"#)
        writeString(response.vocab, to: &buffer)
        buffer.writeStaticString("}\n")
    }

    static func write(_ response: EncodeResponse, to buffer: inout ByteBuffer) {
        buffer.writeStaticString(#"{"id":"#)
        write(response.id, to: &buffer)
        buffer.writeStaticString(#","ids":["#)
        for (index, ids) in response.ids.enumerated() {
            if index > 0 { buffer.writeStaticString(",") }
            writeIntegers(ids, to: &buffer)
        }
        buffer.writeStaticString("]")
        if let lists = response.offsetArrays {
            buffer.writeStaticString(#","offset_arrays":["#)
            for (index, list) in lists.enumerated() {
                if index > 0 { buffer.writeStaticString(",") }
                write(list, to: &buffer)
            }
            buffer.writeStaticString("]")
        }
        if let offsets = response.offsets {
            buffer.writeStaticString(#","offsets":["#)
            for (index, tokens) in offsets.enumerated() {
                if index > 0 { buffer.writeStaticString(",") }
                buffer.writeStaticString("[")
                for (position, token) in tokens.enumerated() {
                    if position > 0 { buffer.writeStaticString(",") }
                    write(token, to: &buffer)
                }
                buffer.writeStaticString("]")
            }
            buffer.writeStaticString("]")
        }
        buffer.writeStaticString(#","vocab":"#)
        writeString(response.vocab, to: &buffer)
        buffer.writeStaticString("}\n")
    }

    /// One text's spans as parallel lists, keys sorted.
    static func write(_ lists: OffsetArrays, to buffer: inout ByteBuffer) {
        buffer.writeStaticString(#"{"end":"#)
        writeIntegers(lists.end, to: &buffer)
        buffer.writeStaticString(#","start":"#)
        writeIntegers(lists.start, to: &buffer)
        buffer.writeStaticString(#","utf16_end":"#)
        writeIntegers(lists.utf16End, to: &buffer)
        buffer.writeStaticString(#","utf16_start":"#)
        writeIntegers(lists.utf16Start, to: &buffer)
        buffer.writeStaticString("}")
    }

    /// One token's offsets, keys sorted as `JSONEncoder.protocol` sorts them.
    static func write(_ token: TokenOffset, to buffer: inout ByteBuffer) {
        buffer.writeStaticString(#"{"end":"#)
        writeDecimal(token.end, to: &buffer)
        if let hex = token.hex {
            buffer.writeStaticString(#","hex":"#)
            writeString(hex, to: &buffer)
        }
        buffer.writeStaticString(#","id":"#)
        writeDecimal(token.id, to: &buffer)
        buffer.writeStaticString(#","start":"#)
        writeDecimal(token.start, to: &buffer)
        if let text = token.text {
            buffer.writeStaticString(#","text":"#)
            writeString(text, to: &buffer)
        }
        buffer.writeStaticString(#","utf16_end":"#)
        writeDecimal(token.utf16End, to: &buffer)
        buffer.writeStaticString(#","utf16_start":"#)
        writeDecimal(token.utf16Start, to: &buffer)
        buffer.writeStaticString("}")
    }

    static func write(_ response: ErrorResponse, to buffer: inout ByteBuffer) {
        buffer.writeStaticString(#"{"error":{"code":"#)
        writeString(response.error.code.rawValue, to: &buffer)
        buffer.writeStaticString(#","message":"#)
        writeString(response.error.message, to: &buffer)
        buffer.writeStaticString(#"},"id":"#)
        write(response.id, to: &buffer)
        buffer.writeStaticString("}\n")
    }

    static func write(_ response: HealthResponse, to buffer: inout ByteBuffer) {
        buffer.writeStaticString(#"{"id":"#)
        write(response.id, to: &buffer)
        buffer.writeString(#","pid":\#(response.pid),"status":"#)
        writeString(response.status, to: &buffer)
        buffer.writeString(#","uptime_seconds":\#(response.uptimeSeconds),"version":"#)
        writeString(response.version, to: &buffer)
        buffer.writeStaticString("}\n")
    }

    static func write(_ id: RequestID, to buffer: inout ByteBuffer) {
        switch id {
        case let .number(number): buffer.writeString(String(number))
        case let .string(text): writeString(text, to: &buffer)
        case .none: buffer.writeStaticString("null")
        }
    }

    /// `[1,2,3]`, each number's digits written straight into the buffer.
    static func writeIntegers<Integer: BinaryInteger>(_ values: [Integer], to buffer: inout ByteBuffer) {
        buffer.reserveCapacity(minimumWritableBytes: values.count * 7 + 2)
        buffer.writeStaticString("[")
        for (index, value) in values.enumerated() {
            if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            writeDecimal(value, to: &buffer)
        }
        buffer.writeStaticString("]")
    }

    /// An integer in decimal, its digits formatted in the buffer's own memory rather than in a `String`.
    @inline(__always)
    static func writeDecimal<Integer: BinaryInteger>(_ value: Integer, to buffer: inout ByteBuffer) {
        var magnitude = UInt64(value.magnitude)
        var digits = 1
        var rest = magnitude
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        let length = digits + (value < 0 ? 1 : 0)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { out in
            if value < 0 { out[0] = UInt8(ascii: "-") }
            var end = length
            repeat {
                end -= 1
                out[end] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            return length
        }
    }

    /// A JSON string: quotes, backslashes and control characters escaped, everything else as its UTF-8.
    static func writeString(_ text: String, to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            var runStart = 0
            for (index, byte) in bytes.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                buffer.writeBytes(UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                switch byte {
                case UInt8(ascii: "\""): buffer.writeStaticString(#"\""#)
                case UInt8(ascii: "\\"): buffer.writeStaticString(#"\\"#)
                case 0x0A: buffer.writeStaticString(#"\n"#)
                case 0x0D: buffer.writeStaticString(#"\r"#)
                case 0x09: buffer.writeStaticString(#"\t"#)
                case 0x08: buffer.writeStaticString(#"\b"#)
                case 0x0C: buffer.writeStaticString(#"\f"#)
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    buffer.writeStaticString(#"\u00"#)
                    buffer.writeInteger(hex[Int(byte >> 4)])
                    buffer.writeInteger(hex[Int(byte & 0xF)])
                }
                runStart = index + 1
            }
            buffer.writeBytes(UnsafeBufferPointer(rebasing: bytes[runStart...]))
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }
}
