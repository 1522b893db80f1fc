/// A JSON document to write, with object members in the order given: the files tokc writes
/// (`tokenizer.json`) come out the same, byte for byte, for the same content. Foundation's `JSONSerialization`
/// did not: its `sortedKeys` compares keys as `String`s, under which `##iss` and `##iß` have no fixed order, and
/// it took half a second for 8,000 tokens.
public indirect enum JSONValue: Sendable {
    case null
    case bool(Bool)
    case integer(Int)
    /// A finite number, written in the shortest form that reads back to the same `Double` (as Python's `repr`).
    case number(Double)
    /// A string as UTF-8 bytes, written as they are (escaped where JSON requires).
    case string([UInt8])
    case array([JSONValue])
    /// Members in the order they are written.
    case object([(key: String, value: JSONValue)])

    public static func text(_ text: String) -> JSONValue { .string(Array(text.utf8)) }

    /// The document's bytes, compact, with a final newline.
    public func serialized() -> [UInt8] {
        var output: [UInt8] = []
        write(to: &output)
        output.append(UInt8(ascii: "\n"))
        return output
    }

    public func write(to output: inout [UInt8]) {
        switch self {
        case .null: output += Array("null".utf8)
        case .bool(let value): output += Array((value ? "true" : "false").utf8)
        case .integer(let value): output += Array(String(value).utf8)
        case .number(let value): output += Array((value.isFinite ? value.description : "null").utf8)
        case .string(let bytes): Self.appendString(bytes, to: &output)
        case .array(let items):
            output.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                item.write(to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            for (index, member) in members.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                Self.appendString(Array(member.key.utf8), to: &output)
                output.append(UInt8(ascii: ":"))
                member.value.write(to: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// A JSON string: quotes, backslashes and control characters escaped, everything else as its bytes.
    public static func appendString(_ bytes: [UInt8], to output: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        output.append(UInt8(ascii: "\""))
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): output += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): output += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: output += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: output += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: output += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20: output += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
