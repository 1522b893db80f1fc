import ArgumentParser
import Tokc

struct CountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "count",
        abstract: "Count the tokens of files.",
        discussion: "Prints the tokens of each file and, for several files, the total. '-' or no file reads standard input."
    )

    @Option(name: .long, help: "Tokenizer scheme; its default vocabulary is used unless --vocab names one.")
    var scheme: Scheme = .bpe

    @OptionGroup var vocabulary: VocabularyOptions

    @Flag(name: .long, help: #"Print {"vocab":…, "files":[{"path":…, "bytes":…, "tokens":…}], "total":…}."#)
    var json = false

    @Argument(help: ArgumentHelp("Files to count; '-' is standard input.", valueName: "file"))
    var files: [String] = []

    func run() throws {
        let tokenizer = try vocabulary.load(scheme: scheme)
        let paths = files.isEmpty ? ["-"] : files
        var counts: [(path: String, bytes: Int, tokens: Int)] = []
        for path in paths {
            let bytes = try FileIO.readAll(path)
            counts.append((path, bytes.count, tokenizer.count(bytes, allowedSpecial: vocabulary.policy)))
        }
        let total = counts.reduce(0) { $0 + $1.tokens }
        if json {
            let files = counts.map { #"{"path":\#(JSONText.quote($0.path)),"bytes":\#($0.bytes),"tokens":\#($0.tokens)}"# }
            try Output.line(#"{"vocab":\#(JSONText.quote(tokenizer.name)),"files":[\#(files.joined(separator: ","))],"total":\#(total)}"#)
        } else {
            let width = String(total).count
            for count in counts {
                try Output.line(String(repeating: " ", count: width - String(count.tokens).count) + "\(count.tokens) \(count.path)")
            }
            if counts.count > 1 { try Output.line("\(total) total") }
        }
        try Output.finish()
    }
}

/// JSON string literals for the little JSON the CLI writes by hand (a fixed key order, no Foundation).
enum JSONText {
    static func quote(_ text: String) -> String {
        var output = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output + "\""
    }
}
