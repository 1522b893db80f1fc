import Foundation
import Testing
@testable import Tokc

/// `tokc count` on datasets (issue #29): streamed and gzipped text, JSON Lines and CSV records, several
/// vocabularies, the output shapes and the errors.
@Suite struct DatasetCLITests {
    static let o200k = try! Tokenizer.named("o200k_base")
    static func tokc(_ arguments: [String], stdin: [UInt8] = []) throws -> CLITests.Run { try CLITests.tokc(arguments, stdin: stdin) }

    @Test func gzipAndPipesCountAsTheText() throws {
        let text = try DatasetCountingTests.corpusText(50_000)
        let plain = try CLITests.temporaryFile(text, name: "a.txt")
        let gzipped = try CLITests.temporaryFile(try DatasetCountingTests.gzip(text), name: "a.txt.gz")
        let expected = Self.o200k.count(text)
        #expect(try Self.tokc(["count", plain]).text == "\(expected) \(plain)\n")
        #expect(try Self.tokc(["count", "--json", gzipped]).text
            == #"{"vocab":"o200k_base","files":[{"path":"\#(gzipped)","bytes":\#(text.count),"tokens":\#(expected)}],"total":\#(expected)}"# + "\n")
        #expect(try Self.tokc(["count", "-"], stdin: try DatasetCountingTests.gzip(text)).text == "\(expected) -\n")
    }

    @Test func severalVocabulariesPrintEachWithBytesPerToken() throws {
        let text = Array("Tokenizers differ: ünïcödé, 東京, and code `let x = 1`.\n".utf8)
        let file = try CLITests.temporaryFile(text, name: "t.txt")
        let names = ["o200k_base", "llama3", "cl100k_base"]
        let counts = try names.map { try Tokenizer.named($0).count(text) }
        let run = try Self.tokc(["count", "--vocab", names.joined(separator: ","), "--json", file])
        #expect(run.status == 0)
        let blocks = zip(names, counts).map { name, count in
            #"{"vocab":"\#(name)","files":[{"path":"\#(file)","bytes":\#(text.count),"tokens":\#(count)}],"total":\#(count),"bytes_per_token":\#(String(format: "%.2f", Double(text.count) / Double(count)))}"#
        }
        #expect(run.text == #"{"vocabs":[\#(blocks.joined(separator: ","))]}"# + "\n")
        let plain = try Self.tokc(["count", "--vocab", "o200k_base,llama3", file])
        #expect(plain.text == """
            o200k_base  \(counts[0]) \(file)  \(String(format: "%.2f", Double(text.count) / Double(counts[0]))) bytes/token
            llama3      \(counts[1]) \(file)  \(String(format: "%.2f", Double(text.count) / Double(counts[1]))) bytes/token

            """)
    }

    static let records = [
        #"{"text":"hello world"}"#, #"{"text":"caf\u00e9 \ud83d\ude00 \"quoted\"\nnext line"}"#, #"{"text":""}"#,
        #"{"title":"no text"}"#, #"{"text":"one two three four"}"#,
    ]
    static let texts = ["hello world", "café 😀 \"quoted\"\nnext line", "", nil, "one two three four"]

    @Test func jsonLinesTotalsDistributionAndPerRecord() throws {
        let file = try CLITests.temporaryFile(Array(("\u{FEFF}" + Self.records.joined(separator: "\r\n") + "\r\n").utf8), name: "d.jsonl")
        let counts = Self.texts.map { $0.map { Self.o200k.count($0) } }
        let good = counts.compactMap { $0 }
        let sorted = good.sorted()
        let total = good.reduce(0, +)
        let bad = try Self.tokc(["count", "--jsonl", file])
        #expect(bad.status == 2)
        #expect(bad.stderr == "tokc: error: \(file):4: expected a field \"text\" in the record, which has none\n")
        let run = try Self.tokc(["count", "--jsonl", "--skip-bad", file])
        #expect(run.status == 0)
        #expect(run.text == "\(total) \(file)  4 records; tokens per record: min \(sorted[0]), median \(sorted[1]), p90 \(sorted[3]), p99 \(sorted[3]), max \(sorted[3])\n")
        #expect(run.stderr == "tokc: skipped 1 bad records of \(file) (lines 4)\n")
        let json = try Self.tokc(["count", "--jsonl", "--skip-bad", "--json", file])
        let textBytes = Self.texts.compactMap { $0?.utf8.count }.reduce(0, +)
        let distribution = #"{"min":\#(sorted[0]),"median":\#(sorted[1]),"p90":\#(sorted[3]),"p99":\#(sorted[3]),"max":\#(sorted[3])}"#
        let size = try FileManager.default.attributesOfItem(atPath: file)[.size] as! Int
        #expect(json.text == #"{"vocab":"o200k_base","files":[{"path":"\#(file)","bytes":\#(size),"tokens":\#(total),"records":4,"text_bytes":\#(textBytes),"distribution":\#(distribution),"skipped":1,"skipped_lines":[4]}],"total":\#(total),"records":4,"text_bytes":\#(textBytes),"bytes_per_token":\#(String(format: "%.2f", Double(textBytes) / Double(total))),"distribution":\#(distribution),"skipped":1}"# + "\n")
        let perRecord = try Self.tokc(["count", "--jsonl", "--skip-bad", "--per-record", file])
        #expect(perRecord.text == [
            #"{"line":1,"tokens":\#(counts[0]!)}"#, #"{"line":2,"tokens":\#(counts[1]!)}"#, #"{"line":3,"tokens":0}"#,
            #"{"line":4,"error":"expected a field \"text\" in the record, which has none"}"#, #"{"line":5,"tokens":\#(counts[4]!)}"#,
        ].joined(separator: "\n") + "\n")
    }

    @Test func csvColumnAndNestedJSONField() throws {
        let csv = try CLITests.temporaryFile(Array("id,body\r\n1,\"a, \"\"b\"\"\r\nc\"\r\n2,\r\n".utf8), name: "d.csv")
        let expected = Self.o200k.count("a, \"b\"\r\nc")
        #expect(try Self.tokc(["count", "--csv", "--column", "body", "--per-record", csv]).text
            == #"{"line":2,"tokens":\#(expected)}"# + "\n" + #"{"line":4,"tokens":0}"# + "\n")
        let tsv = try CLITests.temporaryFile(Array("body\tid\nplain text\t1\n".utf8), name: "d.tsv")
        #expect(try Self.tokc(["count", "--tsv", "--column", "body", "--per-record", "--vocab", "o200k_base,llama3", tsv]).text
            == #"{"line":2,"tokens":{"o200k_base":2,"llama3":2}}"# + "\n")
        let chat = try CLITests.temporaryFile(Array(#"{"messages":[{"role":"user","content":"Hi there"},{"role":"assistant","content":"Hello!"}]}"#.utf8), name: "c.jsonl")
        #expect(try Self.tokc(["count", "--jsonl", "--field", "messages.*.content", "--per-record", chat]).text
            == #"{"line":1,"tokens":\#(Self.o200k.count("Hi there") + Self.o200k.count("Hello!"))}"# + "\n")
    }

    @Test func datasetUsageErrors() throws {
        for (arguments, message) in [
            (["--csv"], "--csv and --tsv need --column NAME, the header's name of the text"),
            (["--field", "text"], "--field goes with --jsonl"),
            (["--jsonl", "--csv", "--column", "x"], "--jsonl, --csv and --tsv are different formats: give one"),
            (["--per-record"], "--skip-bad and --per-record go with --jsonl, --csv or --tsv"),
            (["--jsonl", "--socket", "/tmp/none.sock"], "--jsonl, --csv and --tsv count here, without --chat or --socket"),
        ] {
            let run = try Self.tokc(["count"] + arguments + ["-"])
            #expect(run.status == 1, "\(arguments)")
            #expect(run.stderr.contains(message), "\(arguments): \(run.stderr)")
        }
    }

    @Test func vocabShowSaysWhetherAVocabularyStreams() throws {
        #expect(try Self.tokc(["vocab", "show", "o200k_base"]).text.contains(#""streams":true"#))
        #expect(try Self.tokc(["vocab", "show", "mistral-v1"]).text.contains(#""streams":true"#))
        #expect(try Self.tokc(["vocab", "show", "unigram-multi-8k"]).text.contains(#""streams":true"#))
    }
}
