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

    /// One token's offsets, keys sorted as `JSONEncoder.protocol` sorts them.
    static func write(_ token: TokenOffset, to buffer: inout ByteBuffer) {
        buffer.writeStaticString(#"{"end":"#)
        buffer.writeString(String(token.end))
        if let hex = token.hex {
            buffer.writeStaticString(#","hex":"#)
            writeString(hex, to: &buffer)
        }
        buffer.writeStaticString(#","id":"#)
        buffer.writeString(String(token.id))
        buffer.writeStaticString(#","start":"#)
        buffer.writeString(String(token.start))
        if let text = token.text {
            buffer.writeStaticString(#","text":"#)
            writeString(text, to: &buffer)
        }
        buffer.writeStaticString(#","utf16_end":"#)
        buffer.writeString(String(token.utf16End))
        buffer.writeStaticString(#","utf16_start":"#)
        buffer.writeString(String(token.utf16Start))
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

    /// `[1,2,3]`, with the digits formatted into a stack buffer rather than a `String` per number.
    static func writeIntegers<Integer: BinaryInteger>(_ values: [Integer], to buffer: inout ByteBuffer) {
        buffer.reserveCapacity(minimumWritableBytes: values.count * 7 + 2)
        buffer.writeStaticString("[")
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { digits in
            for (index, value) in values.enumerated() {
                if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                var magnitude = UInt64(value.magnitude)
                var end = digits.count
                repeat {
                    end -= 1
                    digits[end] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                    magnitude /= 10
                } while magnitude > 0
                if value < 0 {
                    end -= 1
                    digits[end] = UInt8(ascii: "-")
                }
                buffer.writeBytes(UnsafeBufferPointer(rebasing: digits[end...]))
            }
        }
        buffer.writeStaticString("]")
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
