import ArgumentParser
import Foundation
import Tokc

struct EncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Print the token ids of a file.",
        discussion: """
            Prints the ids separated by spaces on one line. With --jsonl, reads JSON Lines, one object per line \
            with a string field "text" (or "hex": the input bytes in hex, for input that is not UTF-8), and \
            writes one line {"ids":[...]} per input line, in order. With --offsets, writes one JSON line per token             instead: {"end":…,"id":…,"start":…,"text":…,"utf16_end":…,"utf16_start":…}, its span in the input             as byte and UTF-16 offsets and its bytes as text (or "hex" when they are not UTF-8); with --jsonl too,             one line {"offsets":[…]} per input line.
            """
    )

    @OptionGroup var vocabulary: VocabularyOptions

    @Flag(name: .long, help: #"Read JSON Lines of {"text": ...} and write {"ids": [...]} per line."#)
    var jsonl = false

    @Flag(name: .long, help: "Put the vocabulary's template tokens around each text: [CLS] … [SEP] for BERT, <s> in front for Llama 2 and Mistral.")
    var template = false

    @Flag(name: .long, help: "Write each token's span in the input (byte and UTF-16 offsets) and bytes, a JSON line per token.")
    var offsets = false

    @Option(name: .long, help: ArgumentHelp("Threads for a long input (default: all cores). The text is cut only where the vocabulary's split guarantees the same ids; vocabularies that cannot be cut use one.", valueName: "n"))
    var threads: Int?

    /// `--threads`, or every core.
    var threadCount: Int { threads ?? ProcessInfo.processInfo.activeProcessorCount }

    @Argument(help: ArgumentHelp("Input file; '-' or none is standard input.", valueName: "file"))
    var file: String = "-"

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let tokenizer = try vocabulary.load()
        let input = try FileIO.readAll(file)
        if jsonl {
            try encodeLines(input, with: tokenizer)
        } else if offsets {
            var line: [UInt8] = []
            for object in Self.offsetObjects(of: input, tokenizer: tokenizer, policy: vocabulary.policy, template: template) {
                line.removeAll(keepingCapacity: true)
                line += object
                try Output.line(String(decoding: line, as: UTF8.self))
            }
        } else {
            let ids = template
                ? tokenizer.encode(input, allowedSpecial: vocabulary.policy, addingTemplate: true)
                : tokenizer.encode(input, allowedSpecial: vocabulary.policy, threads: threadCount)
            try Output.line(ids.map(String.init).joined(separator: " "))
        }
        try Output.finish()
    }

    private func encodeLines(_ input: [UInt8], with tokenizer: Tokenizer) throws {
        // Records split on "\n" only: U+2028 and U+0085 may sit inside a JSON string.
        var lineNumber = 0
        for line in input.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let trimmed = line.last == UInt8(ascii: "\r") ? line.dropLast() : line
            if trimmed.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) { continue }
            // tokc's own JSON reader: Foundation's JSONSerialization drops a U+FEFF that starts a string value
            // (Linux, found by scripts/differential), which changes the ids.
            let input: [UInt8]? = Array(trimmed).withUnsafeBytes { line in
                guard case let .object(members)? = try? JSONReader.parse(line) else { return nil }
                for (key, value) in members {
                    guard case let .string(field) = value else { continue }
                    let name = key.string(in: line)
                    if name == "text" { return field.withBytes(in: line) { Array($0) } }
                    if name == "hex" { return Self.bytes(fromHex: field.string(in: line)) }
                }
                return nil
            }
            guard let input else {
                throw TokcError.malformedInput(source: file == "-" ? "<stdin>" : file, line: lineNumber,
                                               expected: #"a JSON object with a string field "text" (or "hex": the input's bytes in hex)"#)
            }
            if offsets {
                let objects = Self.offsetObjects(of: input, tokenizer: tokenizer, policy: vocabulary.policy, template: template)
                try Output.line(#"{"offsets":["# + objects.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ",") + "]}")
                continue
            }
            let ids = tokenizer.encode(input, allowedSpecial: vocabulary.policy, addingTemplate: template)
            try Output.line(#"{"ids":[\#(ids.map(String.init).joined(separator: ","))]}"#)
        }
    }

    /// Each token of `input` as the daemon's `TokenOffset` JSON object (keys sorted, as the daemon writes them).
    static func offsetObjects(of input: [UInt8], tokenizer: Tokenizer, policy: SpecialTokenPolicy, template: Bool) -> [[UInt8]] {
        let spans = tokenizer.encodeWithOffsets(input, allowedSpecial: policy, addingTemplate: template)
        let utf16 = UTF16Offsets(input)
        let digits = Array("0123456789abcdef".utf8)
        return spans.map { span in
            let bytes = tokenizer.tokenBytes(of: span.id) ?? []
            var object = Array(#"{"end":\#(span.end),"#.utf8)
            if String(validating: bytes, as: UTF8.self) == nil {
                object += #""hex":""#.utf8
                for byte in bytes { object += [digits[Int(byte >> 4)], digits[Int(byte & 15)]] }
                object += #"","id":\#(span.id),"start":\#(span.start),"#.utf8
            } else {
                object += #""id":\#(span.id),"start":\#(span.start),"text":"#.utf8
                JSONValue.appendString(bytes, to: &object)
                object += Array(",".utf8)
            }
            object += #""utf16_end":\#(utf16[span.end]),"utf16_start":\#(utf16[span.start])}"#.utf8
            return object
        }
    }

    /// The bytes an even-length string of hex digits spells, or nil.
    static func bytes(fromHex hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        func value(_ digit: UInt8) -> UInt8? {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }
}
