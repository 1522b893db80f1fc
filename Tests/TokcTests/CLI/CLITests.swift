import Foundation
import Testing
import TokcTestSupport
import Tokc

/// Runs the built `tokc` binary, as a user would, and checks its output bytes and exit status.
@Suite struct CLITests {
    struct Run {
        let status: Int32
        let stdout: [UInt8]
        let stderr: String
        var text: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// `tokc` is built beside the test bundle (`swift test` builds every product).
    static let binary: String = {
        let bundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        return bundle.appendingPathComponent("tokc").path
    }()

    static func tokc(_ arguments: [String], stdin: [UInt8] = []) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let input = Pipe(), output = Pipe(), error = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        try process.run()
        input.fileHandleForWriting.write(Data(stdin))
        try input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: Array(out), stderr: String(decoding: err, as: UTF8.self))
    }

    static func temporaryFile(_ bytes: [UInt8], name: String = "input.txt") throws -> String {
        let folder = Fixtures.scratchDirectory + "/cli-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = folder + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func binaryIsBuilt() {
        #expect(FileManager.default.isExecutableFile(atPath: Self.binary), "expected tokc at \(Self.binary)")
    }

    @Test func countFilesAndTotal() throws {
        let a = try Self.temporaryFile(Array("hello world".utf8), name: "a.txt")
        let b = try Self.temporaryFile(Array("東京タワーは日本の電波塔です。".utf8), name: "b.txt")
        let expectedB = try Tokenizer.named("o200k_base").count("東京タワーは日本の電波塔です。")
        let run = try Self.tokc(["count", "--scheme", "bpe", a, b])
        #expect(run.status == 0)
        let total = 2 + expectedB
        let width = String(total).count
        func padded(_ n: Int) -> String { String(repeating: " ", count: width - String(n).count) + String(n) }
        #expect(run.text == "\(padded(2)) \(a)\n\(padded(expectedB)) \(b)\n\(total) total\n")
        let one = try Self.tokc(["count", a])
        #expect(one.text == "2 \(a)\n")
    }

    @Test func countJSONAndStandardInput() throws {
        let run = try Self.tokc(["count", "--vocab", "cl100k_base", "--json", "-"], stdin: Array("hello world".utf8))
        #expect(run.status == 0)
        #expect(run.text == #"{"vocab":"cl100k_base","files":[{"path":"-","bytes":11,"tokens":2}],"total":2}"# + "\n")
    }

    @Test func encodeAndDecodeRoundTripAnyBytes() throws {
        let input: [UInt8] = Array("naïve \r\n\t 👨‍👩‍👧".utf8) + [0xFF, 0xC3] + Array(" end".utf8)
        let file = try Self.temporaryFile(input)
        let encoded = try Self.tokc(["encode", "--vocab", "o200k_base", file])
        #expect(encoded.status == 0)
        let ids = try Tokenizer.named("o200k_base").encode(input)
        #expect(encoded.text == ids.map(String.init).joined(separator: " ") + "\n")
        let decoded = try Self.tokc(["decode", "--vocab", "o200k_base"], stdin: encoded.stdout)
        #expect(decoded.status == 0)
        #expect(decoded.stdout == input)
    }

    /// `encode --offsets`: a JSON line per token, the daemon's object; with `--jsonl`, one `{"offsets":[…]}` a line.
    @Test func encodeOffsetsWritesAJSONLinePerToken() throws {
        let run = try Self.tokc(["encode", "--vocab", "o200k_base", "--offsets", "-"], stdin: Array("héllo 🤗".utf8))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.text == #"""
            {"end":3,"id":79163,"start":0,"text":"hé","utf16_end":2,"utf16_start":0}
            {"end":6,"id":72807,"start":3,"text":"llo","utf16_end":5,"utf16_start":2}
            {"end":11,"hex":"20f09fa4","id":93643,"start":6,"utf16_end":8,"utf16_start":5}
            {"end":11,"hex":"97","id":245,"start":7,"utf16_end":8,"utf16_start":6}

            """#)
        let lines = try Self.tokc(["encode", "--vocab", "bert-base-uncased", "--offsets", "--jsonl", "--template", "-"],
                                  stdin: Array(#"{"text":"Hi \"you\""}"#.utf8) + [0x0A] + Array(#"{"hex":"41ff"}"#.utf8))
        #expect(lines.status == 0, "\(lines.stderr)")
        #expect(lines.text == #"""
            {"offsets":[{"end":0,"id":101,"start":0,"text":"[CLS]","utf16_end":0,"utf16_start":0},{"end":2,"id":7632,"start":0,"text":"hi","utf16_end":2,"utf16_start":0},{"end":4,"id":1000,"start":3,"text":"\"","utf16_end":4,"utf16_start":3},{"end":7,"id":2017,"start":4,"text":"you","utf16_end":7,"utf16_start":4},{"end":8,"id":1000,"start":7,"text":"\"","utf16_end":8,"utf16_start":7},{"end":8,"id":102,"start":8,"text":"[SEP]","utf16_end":8,"utf16_start":8}]}
            {"offsets":[{"end":0,"id":101,"start":0,"text":"[CLS]","utf16_end":0,"utf16_start":0},{"end":1,"id":1037,"start":0,"text":"a","utf16_end":1,"utf16_start":0},{"end":2,"id":102,"start":2,"text":"[SEP]","utf16_end":2,"utf16_start":2}]}

            """#)
    }

    /// `--pattern` with a regex that leaves text unmatched keeps that text, as documented: tiktoken, which drops
    /// it, gives only the three words' ids [24912, 24169, 16660] (tiktoken 0.14.0, `pat_str="[a-z]+"`).
    @Test func aCustomPatternKeepsTheTextItDoesNotMatch() throws {
        let text = Array("hello world, 123 foo".utf8)
        let tiktoken = Fixtures.repositoryRoot + "/Vocabularies/o200k_base.tiktoken"
        let encoded = try Self.tokc(["encode", "--vocab", tiktoken, "--pattern", "[a-z]+"], stdin: text)
        #expect(encoded.status == 0, "\(encoded.stderr)")
        let o200k = try Tokenizer.named("o200k_base")
        // hello | " " | world | ", 123 " | foo, each piece merged alone.
        let pieces = ["hello", " ", "world", ", 123 ", "foo"].map { piece in
            var sink = IDSink()
            Array(piece.utf8).withUnsafeBufferPointer { o200k.encoder.encode(piece: $0, into: &sink) }
            return sink.ids
        }
        #expect(pieces[0] == [24912] && pieces[2] == [24169] && pieces[4] == [16660])
        #expect(encoded.text == pieces.joined().map(String.init).joined(separator: " ") + "\n")
        let decoded = try Self.tokc(["decode", "--vocab", "o200k_base"], stdin: encoded.stdout)
        #expect(decoded.stdout == text)
    }

    @Test func encodeJSONLinesInOrder() throws {
        let input = "{\"text\": \"hello world\"}\n{\"text\": \"<|endoftext|>\"}\n\n{\"text\": \"\"}\n"
        let run = try Self.tokc(["encode", "--vocab", "o200k_base", "--jsonl"], stdin: Array(input.utf8))
        #expect(run.status == 0)
        #expect(run.text == "{\"ids\":[24912,2375]}\n{\"ids\":[27,91,419,1440,919,91,29]}\n{\"ids\":[]}\n")
        let special = try Self.tokc(["encode", "--vocab", "o200k_base", "--jsonl", "--allow-special"], stdin: Array(input.utf8))
        #expect(special.text == "{\"ids\":[24912,2375]}\n{\"ids\":[199999]}\n{\"ids\":[]}\n")
    }

    /// A text that starts with U+FEFF keeps it (Foundation's JSONSerialization dropped it: scripts/differential
    /// found 62 of 3,000 strings so encoded without their first token), and "hex" records carry any bytes.
    @Test func encodeJSONLinesKeepsEveryByte() throws {
        let input = "{\"text\": \"\u{FEFF}s \\ufeffx\"}\n{\"hex\": \"61ff62\"}\n{\"hex\": \"EFBBBF73\"}\n"
        let run = try Self.tokc(["encode", "--vocab", "o200k_base", "--jsonl"], stdin: Array(input.utf8))
        #expect(run.status == 0)
        // tiktoken 0.14: encode_ordinary("\ufeffs \ufeffx") and the bytes a, 0xFF, b; 0xFF alone is its byte token.
        #expect(run.text == "{\"ids\":[5574,82,71280,87]}\n{\"ids\":[64,187,65]}\n{\"ids\":[5574,82]}\n")
        let odd = try Self.tokc(["encode", "--vocab", "o200k_base", "--jsonl"], stdin: Array("{\"hex\": \"6\"}\n".utf8))
        #expect(odd.status == 2)
    }

    @Test func badInputExitsTwoWithOneLine() throws {
        let jsonl = try Self.tokc(["encode", "--vocab", "o200k_base", "--jsonl"], stdin: Array("{\"text\": \"a\"}\n{\"txt\": 1}\n".utf8))
        #expect(jsonl.status == 2)
        #expect(jsonl.stderr == "tokc: error: <stdin>:2: expected a JSON object with a string field \"text\" (or \"hex\": the input's bytes in hex)\n")
        #expect(jsonl.text == "{\"ids\":[64]}\n")

        let ids = try Self.tokc(["decode", "--vocab", "o200k_base"], stdin: Array("1 2\n3 x".utf8))
        #expect(ids.status == 2)
        #expect(ids.stderr == "tokc: error: <stdin>:2: expected decimal token ids separated by whitespace, found byte 0x78\n")

        let unknownID = try Self.tokc(["decode", "--vocab", "o200k_base"], stdin: Array("5 199998".utf8))
        #expect(unknownID.status == 2)
        #expect(unknownID.stderr == "tokc: error: token id 199998 at position 1 is not in the vocabulary (ids run below 200019)\n")

        let vocab = try Self.tokc(["count", "--vocab", "gpt5_base", "-"])
        #expect(vocab.status == 2)
        #expect(vocab.stderr == "tokc: error: unknown vocabulary 'gpt5_base'; known: \(shippedVocabularyNames.joined(separator: ", "))\n")

        let missing = try Self.tokc(["count", "/nonexistent/file.txt"])
        #expect(missing.status == 2)
        #expect(missing.stderr == "tokc: error: /nonexistent/file.txt: cannot read: No such file or directory\n")
    }

    @Test func usageErrorsExitOne() throws {
        let run = try Self.tokc(["count", "--no-such-option"])
        #expect(run.status == 1)
        #expect(run.stderr == "tokc: error: Unknown option '--no-such-option' (see 'tokc help')\n")
        let scheme = try Self.tokc(["count", "--scheme", "morse", "-"])
        #expect(scheme.status == 1)
        #expect(scheme.stderr.hasPrefix("tokc: error: "))
        #expect(scheme.stderr.filter { $0 == "\n" }.count == 1)
        let help = try Self.tokc(["count", "--help"])
        #expect(help.status == 0)
        #expect(help.text.contains("--allow-special"))
    }

    @Test func vocabList() throws {
        let run = try Self.tokc(["vocab", "list"])
        #expect(run.status == 0)
        // A line per vocabulary (name, family, scheme, size, models), then its licence and file, indented.
        let lines = run.text.split(separator: "\n")
        let names = lines.filter { !$0.hasPrefix(" ") }.map { $0.split(separator: " ").first.map(String.init) ?? "" }
        #expect(names == shippedVocabularyNames)
        #expect(lines.contains { $0.hasPrefix("tekken ") && $0.contains("Mistral") && $0.contains("131072 ids") && $0.contains("Mistral NeMo") })
        #expect(lines.contains { $0.contains("licence: Apache-2.0 (mistral-common, Mistral AI)") && $0.hasSuffix("/Vocabularies/tekken.json.gz)") })
    }

    @Test func costReportsTokensDollarsAndTheWindow() throws {
        let file = try Self.temporaryFile(Array("hello world".utf8))
        let run = try Self.tokc(["cost", "--model", "gpt-4o", "--output-tokens", "1000", file])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.text == """
            gpt-4o: counted with o200k_base (exact)
                         2 \(file)  fits
            input        2 tokens  $0.000005  ($2.50/M)  fits the context window of 128000 tokens
            output    1000 tokens  $0.010000  ($10.00/M)
            total                  $0.010005
            prices: https://developers.openai.com/api/docs/pricing, as of 2026-11-23

            """)
        let proxy = try Self.tokc(["cost", "--model", "claude-sonnet-4-5", file])
        #expect(proxy.text.hasPrefix("claude-sonnet-4-5: counted with o200k_base (ESTIMATE: Anthropic does not publish the tokenizer of Claude 3 and later; o200k_base stands in)\n"))
    }

    @Test func costJSONSaysWhereTheBudgetEnds() throws {
        let text = "one two three four five"
        let file = try Self.temporaryFile(Array(text.utf8))
        let run = try Self.tokc(["cost", "--model", "gpt-4", "--budget", "3", "--json", file])
        #expect(run.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout)) as? [String: Any])
        #expect(object["vocab"] as? String == "cl100k_base" && object["fits"] as? Bool == false && object["budget"] as? Int == 3)
        let items = try #require(object["items"] as? [[String: Any]])
        #expect(items.count == 1 && items[0]["tokens"] as? Int == 5 && items[0]["budget_end_byte"] as? Int == "one two three".utf8.count)
    }

    /// `--list` filters by provider, family and exactness, prints the daemon's `models` objects with `--json`, and
    /// tallies with `--summary`.
    @Test func costListFiltersAndSummarises() throws {
        let together = try Self.tokc(["cost", "--list", "--provider", "together_ai", "--family", "llama 3", "--exact"])
        #expect(together.status == 0)
        let lines = together.text.split(separator: "\n").dropLast()  // the last line names the price table
        #expect(!lines.isEmpty && lines.allSatisfy { $0.hasPrefix("together_ai/") && $0.contains(" llama3 ") })
        #expect(lines.contains { $0.hasPrefix("together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo ") })

        let json = try Self.tokc(["cost", "--list", "--family", "gpt-oss", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout)) as? [String: Any])
        let models = try #require(object["models"] as? [[String: Any]])
        #expect(models.count > 10)
        #expect(models.allSatisfy { $0["vocab"] as? String == "o200k_harmony" && $0["family"] as? String == "gpt-oss" && $0["approximate"] as? Bool == false })

        let summary = try Self.tokc(["cost", "--list", "--summary", "--provider", "azure"])
        #expect(summary.status == 0)
        #expect(summary.text.hasPrefix("family "))
        #expect(summary.text.contains("\nOpenAI o200k "))
        #expect(summary.text.contains(" models counted exactly ("))

        let misused = try Self.tokc(["cost", "--model", "gpt-4o", "--exact", "x"])
        #expect(misused.status == 1 && misused.stderr.contains("--provider, --family, --exact and --summary filter --list"))
    }

    @Test func costErrorsNameTheProblem() throws {
        let file = try Self.temporaryFile(Array("x".utf8))
        let unknown = try Self.tokc(["cost", "--model", "gpt4o", file])
        #expect(unknown.status == 2 && unknown.stderr == "tokc: error: unknown model 'gpt4o'; similar: gpt-4o, gpt-4, gpt-5, gpt-4.1\n")
        // A table may list a model with no vocabulary: counting it is an error that says so.
        let prices = try Self.temporaryFile(Array(#"{"format_version": 1, "models": [{"name": "mystery", "vocabulary": null, "approximate": true, "tokenizer_note": "nobody knows"}]}"#.utf8), name: "prices.json")
        let noVocabulary = try Self.tokc(["cost", "--model", "mystery", "--prices", prices, file])
        #expect(noVocabulary.status == 2)
        #expect(noVocabulary.stderr.contains("no vocabulary is known to count the tokens of 'mystery'"))
        let missing = try Self.tokc(["cost", file])
        #expect(missing.status == 1 && missing.stderr.contains("give --model NAME"))
    }

    /// `tokc count --socket` answers exactly what `tokc count` answers, through a `tokc serve` started here.
    @Test func countThroughTheDaemonMatchesCountingHere() throws {
        let folder = "/tmp/tokc-cli-" + String(UUID().uuidString.prefix(8))
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let socket = folder + "/tokc.sock"
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: Self.binary)
        daemon.arguments = ["serve", "--socket", socket, "--log-level", "error"]
        try daemon.run()
        defer { daemon.terminate(); daemon.waitUntilExit() }
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: socket) && Date() < deadline { usleep(10_000) }

        let file = try Self.temporaryFile(Array(("東京タワー " + String(repeating: "x", count: 500)).utf8) + [0xFF])
        let stdin = Array("hello world\n".utf8)
        for extra in [[], ["--vocab", "cl100k_base"], ["--json"]] {
            let here = try Self.tokc(["count"] + extra + [file, "-"], stdin: stdin)
            let there = try Self.tokc(["count", "--socket", socket] + extra + [file, "-"], stdin: stdin)
            #expect(here.status == 0 && there.status == 0, "\(there.stderr)")
            #expect(there.stdout == here.stdout)
        }
        // Bad input (2), as the README states: the same command counts UTF-8 text.
        let notUTF8 = try Self.tokc(["count", "--socket", socket, "-"], stdin: Array("ok\nstill ok\n".utf8) + [0xFF])
        #expect(notUTF8.status == 2 && notUTF8.stderr.hasPrefix("tokc: error: standard input:3: expected UTF-8, the only text the daemon's JSON carries"), "\(notUTF8.stderr)")
        // The daemon loads names only: a vocabulary file is a usage error (1) that says so.
        let byPath = try Self.tokc(["count", "--socket", socket, "--vocab", Fixtures.repositoryRoot + "/Vocabularies/cl100k_base.tiktoken", file])
        #expect(byPath.status == 1 && byPath.stderr.contains("the daemon loads vocabularies by name only"), "\(byPath.stderr)")
        let noDaemon = try Self.tokc(["count", "--socket", folder + "/none.sock", file])
        #expect(noDaemon.status == 2 && noDaemon.stderr.hasPrefix("tokc: error: cannot connect to the tokc daemon at \(folder)/none.sock"))
    }
}
