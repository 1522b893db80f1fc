import ArgumentParser
import Tokc

struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Write the bytes of token ids.",
        discussion: "Reads decimal ids separated by whitespace and writes their bytes exactly, without a trailing newline."
    )

    @OptionGroup var vocabulary: VocabularyOptions

    @Argument(help: ArgumentHelp("File of ids; '-' or none is standard input.", valueName: "file"))
    var file: String = "-"

    func run() throws {
        let tokenizer = try vocabulary.load()
        let ids = try Self.parseIDs(try FileIO.readAll(file), source: file == "-" ? "<stdin>" : file)
        try Output.write(try tokenizer.decode(ids))
        try Output.finish()
    }

    /// Decimal ids separated by ASCII whitespace; anything else names its line.
    static func parseIDs(_ input: [UInt8], source: String) throws(TokcError) -> [TokenID] {
        var ids: [TokenID] = []
        var line = 1
        var value: UInt64 = 0
        var digits = 0
        func finish() throws(TokcError) {
            guard digits > 0 else { return }
            guard digits <= 10, value <= UInt64(TokenID.max) else {
                throw .malformedInput(source: source, line: line, expected: "a token id below 2^32")
            }
            ids.append(TokenID(value))
            value = 0
            digits = 0
        }
        for byte in input {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                value = value &* 10 &+ UInt64(byte - UInt8(ascii: "0"))
                digits += 1
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"):
                try finish()
                if byte == UInt8(ascii: "\n") { line += 1 }
            default:
                throw .malformedInput(source: source, line: line, expected: "decimal token ids separated by whitespace, found byte 0x\(String(byte, radix: 16))")
            }
        }
        try finish()
        return ids
    }
}
