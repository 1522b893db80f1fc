import Foundation
import Testing
@testable import Tokc

/// Issue #29: a text of any size counted in windows, and JSON Lines / CSV / TSV records counted field by field,
/// each exactly as the whole text (or each field alone) counts.
@Suite struct DatasetCountingTests {
    static let o200k = try! Tokenizer.named("o200k_base")

    /// The corpus's first `bytes` of each language, one after another.
    static func corpusText(_ bytes: Int) throws -> [UInt8] {
        try ["en", "de", "fr", "ja", "zh"].flatMap { language in
            try FileIO.readPrefix(Fixtures.repositoryRoot + "/Corpus/\(language).txt", count: bytes)
        }
    }

    static func stream(_ bytes: [UInt8], name: String = "input") throws -> ByteStream {
        try ByteStream(path: try Fixtures.writeScratch(bytes, name: name))
    }

    /// gzip's own output for `bytes` (the system's gzip, which Debian always has).
    static func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        let input = try Fixtures.writeScratch(bytes, name: "plain")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "gzip -c -n < '\(input)'"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Array(data)
    }

    // MARK: - Plain text in windows

    @Test(arguments: ["o200k_base", "cl100k_base", "llama3", "qwen2.5"])
    func windowsCountAsTheWholeText(vocab: String) throws {
        let tokenizer = try Tokenizer.named(vocab)
        let text = try Self.corpusText(120_000)
        let whole = tokenizer.count(text)
        // Windows far smaller than the text (and than its lines): cut many times, grown where a line is longer.
        for window in [1 << 10, 7_919, 1 << 16] {
            let counter = TextStreamCounter(tokenizers: [tokenizer], threads: 2, windowBytes: window)
            let (bytes, tokens) = try counter.count(try Self.stream(text))
            #expect(bytes == text.count)
            #expect(tokens == [whole], "window \(window)")
        }
    }

    @Test func severalVocabulariesInOneReadCountAsEachAlone() throws {
        let names = ["o200k_base", "llama3", "cl100k_base"]
        let tokenizers = try names.map { try Tokenizer.named($0) }
        let text = try Self.corpusText(40_000)
        let counter = TextStreamCounter(tokenizers: tokenizers, threads: 2, windowBytes: 4_096)
        let (_, tokens) = try counter.count(try Self.stream(text))
        #expect(tokens == tokenizers.map { $0.count(text) })
    }

    @Test func gzipIsReadAsItsTextAndMembersFollowEachOther() throws {
        let text = try Self.corpusText(30_000)
        let half = text.count / 2
        // Two gzip members back to back, as `cat a.gz b.gz` makes: gzip -d reads both.
        let compressed = try Self.gzip(Array(text[..<half])) + Self.gzip(Array(text[half...]))
        let stream = try Self.stream(compressed)
        #expect(stream.isGzip)
        let (bytes, tokens) = try TextStreamCounter(tokenizers: [Self.o200k], threads: 2, windowBytes: 5_000).count(stream)
        #expect(bytes == text.count)
        #expect(tokens == [Self.o200k.count(text)])
    }

    @Test func damagedGzipIsAnErrorNamingTheFile() throws {
        let compressed = try Self.gzip(try Self.corpusText(10_000))
        let path = try Fixtures.writeScratch(Array(compressed.dropLast(100)), name: "cut")
        #expect(throws: TokcError.unreadableFile(path: path, reason: "the gzip data ends before its end (truncated)")) {
            try TextStreamCounter(tokenizers: [Self.o200k], threads: 1).count(try ByteStream(path: path))
        }
    }

    @Test func aTextWithoutLineStartsIsHeldWholeAndStillExact() throws {
        // No line break before a letter or digit: no window can be cut, so the buffer grows to the whole text.
        let text = Array(String(repeating: "word, and more words; ", count: 2_000).utf8) + Array("\n \n".utf8)
        let (_, tokens) = try TextStreamCounter(tokenizers: [Self.o200k], threads: 2, windowBytes: 512).count(try Self.stream(text))
        #expect(tokens == [Self.o200k.count(text)])
    }

    @Test func sentencePieceAndUnigramVocabulariesStreamExactly() throws {
        for name in ["mistral-v1", "unigram-multi-8k"] {
            let tokenizer = try Tokenizer.named(name)
            #expect(tokenizer.streams(allowedSpecial: .none), "\(name)")
            let text = try Self.corpusText(20_000)
            let (_, tokens) = try TextStreamCounter(tokenizers: [tokenizer], threads: 2, windowBytes: 1_024).count(try Self.stream(text))
            #expect(tokens == [tokenizer.count(text)], "\(name)")
        }
    }

    // MARK: - Records

    /// Every record's outcome, in order, as `tokc count --per-record` prints them.
    static func outcomes(
        _ bytes: [UInt8], format: RecordFormat, tokenizers: [Tokenizer] = [o200k], skipBad: Bool = false,
        windowBytes: Int = 64
    ) throws -> (totals: RecordTotals, records: [String]) {
        var records: [String] = []
        let counter = RecordCounter(tokenizers: tokenizers, format: format, threads: 2, skipBad: skipBad, windowBytes: windowBytes)
        let totals = try counter.count(try stream(bytes)) { outcome in
            switch outcome {
            case let .counted(line, tokens): records.append("\(line): \(tokens.map(String.init).joined(separator: ","))")
            case let .skipped(line, reason): records.append("\(line): expected \(reason)")
            }
        }
        return (totals, records)
    }

    /// JSON string literals for the tests' records, escaping what JSON must and writing every non-ASCII
    /// character as `\u` escapes (surrogate pairs above U+FFFF) when `escapeAll`.
    static func jsonString(_ text: String, escapeAll: Bool) -> String {
        var output = "\""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x22: output += "\\\""
            case 0x5C: output += "\\\\"
            case 0x0A: output += "\\n"
            case 0x0D: output += "\\r"
            case 0x09: output += "\\t"
            case let value where value < 0x20 || (escapeAll && value >= 0x80):
                // Above U+FFFF as its UTF-16 surrogate pair, as JSON writes it.
                for unit in String(scalar).utf16 { output += String(format: "\\u%04x", unit) }
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output + "\""
    }

    static let fieldTexts = [
        "hello world", "", "a \"quoted\" word, a back\\slash and a tab\there", "two\nlines\r\nand CRLF",
        "naïve café 東京タワー 😀👨‍👩‍👧 𝔘𝔫𝔦𝔠𝔬𝔡𝔢", " leading and trailing spaces  ", "\u{FEFF}a BOM inside a string",
        "control \u{01} and \u{1F} characters", String(repeating: "long line of text ", count: 40),
    ]

    @Test(arguments: [false, true])
    func jsonLinesCountEachFieldAlone(escapeAll: Bool) throws {
        // A BOM before the first line, CRLF line ends, blank lines, other fields around the counted one.
        var document = "\u{FEFF}"
        var expected: [String] = []
        var line = 1
        for (index, text) in Self.fieldTexts.enumerated() {
            document += #"{"id":\#(index),"text":\#(Self.jsonString(text, escapeAll: escapeAll)),"meta":{"text":"not this"}}"#
            document += index % 2 == 0 ? "\r\n" : "\n"
            expected.append("\(line): \(Self.o200k.count(text))")
            line += 1
            if index == 3 { document += "\n  \n"; line += 2 }
        }
        let (totals, records) = try Self.outcomes(Array(document.utf8), format: .jsonLines(try FieldPath("text")))
        #expect(records == expected)
        #expect(totals.distributions[0].records == Self.fieldTexts.count)
        #expect(totals.textBytes == Self.fieldTexts.reduce(0) { $0 + $1.utf8.count })
        #expect(totals.bytes == document.utf8.count)
    }

    @Test func nestedPathsCountEveryStringTheyReach() throws {
        let records = """
            {"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Où est la gare ?"},{"role":"assistant","content":null,"tool_calls":[]}]}
            {"messages":[]}
            {"messages":[{"role":"user"}]}
            {"messages":{"a":{"content":"by key"}}}
            """
        let (_, outcomes) = try Self.outcomes(Array(records.utf8), format: .jsonLines(try FieldPath("messages.*.content")), skipBad: true)
        let first = Self.o200k.count("Be brief.") + Self.o200k.count("Où est la gare ?")
        #expect(outcomes == [
            "1: \(first)", "2: 0",
            #"3: expected a field "content" in messages.*, which has none"#,
            "4: \(Self.o200k.count("by key"))",
        ])
        let (_, second) = try Self.outcomes(Array(records.utf8), format: .jsonLines(try FieldPath("messages.1.content")), skipBad: true)
        #expect(second == [
            "1: \(Self.o200k.count("Où est la gare ?"))", "2: expected an element 1 in messages, which has 0",
            "3: expected an element 1 in messages, which has 1", "4: expected a field \"1\" in messages, which has none",
        ])
    }

    @Test func badJSONLinesNameTheirLine() throws {
        let document = Array("""
            {"text":"fine"}
            {"text": "not closed}
            {"title":"no text"}
            {"text":42}
            ["a list"]
            {"text":"\\ud83d alone"}
            {"text":"fine again"}

            """.utf8)
        let (totals, outcomes) = try Self.outcomes(document, format: .jsonLines(try FieldPath("text")), skipBad: true)
        #expect(outcomes == [
            "1: \(Self.o200k.count("fine"))",
            "2: expected a JSON value: a string is not closed at byte 21",
            #"3: expected a field "text" in the record, which has none"#,
            "4: expected a string at text, found a number",
            "5: expected an object at the record, found a list",
            #"6: expected a JSON value: a high surrogate \ud83d without its low half at byte 15"#,
            "7: \(Self.o200k.count("fine again"))",
        ])
        #expect(totals.skipped == 5 && totals.skippedLines == [2, 3, 4, 5, 6])
        #expect(totals.distributions[0].records == 2)
        // Without skipBad the first bad record is the error.
        let path = try Fixtures.writeScratch(document, name: "bad")
        #expect(throws: TokcError.malformedInput(source: path, line: 2, expected: "a JSON value: a string is not closed at byte 21")) {
            try RecordCounter(tokenizers: [Self.o200k], format: .jsonLines(try FieldPath("text")), threads: 2).count(try ByteStream(path: path))
        }
    }

    /// A CSV field as RFC 4180 writes it: quoted when it holds a separator, quote or line break.
    static func csvField(_ text: String, separator: Character) -> String {
        guard text.contains(where: { $0 == separator || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    @Test(arguments: [",", "\t"])
    func csvAndTSVCountTheColumnOfEachRecord(separator: String) throws {
        let sep = Character(separator)
        var document = "\u{FEFF}id\(separator)body\(separator)note\r\n"
        var expected: [String] = []
        var line = 2
        for (index, text) in (Self.fieldTexts + ["tab\there, comma, here"]).enumerated() {
            document += "\(index)\(separator)\(Self.csvField(text, separator: sep))\(separator)\(Self.csvField("x,\"y\"", separator: sep))\r\n"
            expected.append("\(line): \(Self.o200k.count(text))")
            line += 1 + text.filter { $0 == "\n" || $0 == "\r\n" }.count
            if index == 2 { document += "\r\n"; line += 1 }
        }
        // The last record without a line end.
        document += "last\(separator)\"\"\(separator)"
        expected.append("\(line): 0")
        let format = RecordFormat.delimited(column: "body", separator: UInt8(ascii: sep.unicodeScalars.first!))
        for window in [16, 1 << 16] {
            let (totals, records) = try Self.outcomes(Array(document.utf8), format: format, windowBytes: window)
            #expect(records == expected, "window \(window)")
            #expect(totals.bytes == document.utf8.count)
        }
    }

    @Test func badCSVRecordsNameTheirLine() throws {
        let document = Array("""
            id,text
            1,fine
            2,bare "quote
            3,"closed" then text
            4,too,many
            5,"spans
            two lines",x
            6
            7,"never closed

            """.utf8)
        let (_, outcomes) = try Self.outcomes(document, format: .delimited(column: "text", separator: 0x2C), skipBad: true)
        #expect(outcomes == [
            "2: \(Self.o200k.count("fine"))",
            "3: expected no quote inside an unquoted field (RFC 4180 quotes the whole field and doubles its quotes), found one",
            "4: expected a separator or the line's end after a quoted field, found ' '",
            "5: expected 2 fields, as the header has, found 3",
            "6: expected 2 fields, as the header has, found 3",
            "8: expected 2 fields, as the header has, found 1",
            "9: expected a closing quote for the field opened on this line (none follows)",
        ])
        let path = try Fixtures.writeScratch(Array("text\nfine\n".utf8), name: "csv")
        #expect(throws: TokcError.malformedInput(source: path, line: 1, expected: #"a column "body" in the header; it has "text""#)) {
            try RecordCounter(tokenizers: [Self.o200k], format: .delimited(column: "body", separator: 0x2C), threads: 1).count(try ByteStream(path: path))
        }
    }

    @Test func recordsWithSeveralVocabulariesCountAsEachAlone() throws {
        let names = ["o200k_base", "llama3", "mistral-v1"]
        let tokenizers = try names.map { try Tokenizer.named($0) }
        let lines = try Self.corpusText(3_000).split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }
        let document = lines.map { #"{"text":\#(Self.jsonString($0, escapeAll: false))}"# }.joined(separator: "\n")
        let (totals, _) = try Self.outcomes(Array(document.utf8), format: .jsonLines(try FieldPath("text")), tokenizers: tokenizers, windowBytes: 1 << 12)
        for (index, tokenizer) in tokenizers.enumerated() {
            #expect(totals.distributions[index].tokens == lines.reduce(0) { $0 + tokenizer.count($1) }, "\(names[index])")
            #expect(totals.distributions[index].records == lines.count)
        }
    }

    @Test func distributionIsNearestRank() {
        var distribution = TokenDistribution()
        for count in [5, 1, 3, 2, 4, 100_000, 6, 7, 8, 9] { distribution.add(count) }
        #expect(distribution.summary.map(\.value) == [1, 5, 9, 100_000, 100_000])
        #expect(distribution.tokens == 100_045)
        var merged = TokenDistribution()
        merged.merge(distribution)
        merged.add(0)
        #expect(merged.summary.map(\.value) == [0, 5, 9, 100_000, 100_000])
        #expect(TokenDistribution().summary.isEmpty)
    }
}
