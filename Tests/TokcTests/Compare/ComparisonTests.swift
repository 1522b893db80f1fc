import Foundation
import Testing
@testable import Tokc

/// `tokc compare` on a corpus small enough to count by hand: two languages, three parallel rows, and two
/// vocabularies whose every token is known: an ungreedy one (lossless, bytes for what it lacks) and a
/// WordPiece one (`[UNK]` for what it lacks).
@Suite struct ComparisonTests {
    /// Ungreedy, no capcode: ids 0–255 are the bytes, then these.
    static let ungreedyTokens = ["ab ", "cd", "abcd", "ab", "日"]
    static let wordPieceTokens = ["[UNK]", "[CLS]", "[SEP]", "ab", "cd", "##cd", "##x"]

    struct TinyCorpus {
        let folder: String
        let parallel: String
        let ungreedy: String
        let wordPiece: String
    }

    static func tinyCorpus() throws -> TinyCorpus {
        let folder = Fixtures.scratchDirectory + "/compare-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder + "/corpus", withIntermediateDirectories: true)
        func write(_ text: String, _ name: String) throws -> String {
            let path = folder + "/" + name
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            return path
        }
        _ = try write("ab cd\nabcd abx\n", "corpus/en.heldout.txt")
        _ = try write("日本\n", "corpus/ja.heldout.txt")
        _ = try write("# Tiny\n\nHand-made lines\nfor the test.\n\nMore.\n", "README.md")
        let parallel = try write("id\ten\tja\tde\nr1\tab cd\t日本\t\nr2\tabcd abx\t日\tab\\tcd\nr3\tcd\t日日\t\n", "parallel.tsv")
        let tokens = ungreedyTokens.map { "\"\($0)\"" }.joined(separator: ",")
        let ungreedy = try write(#"{"format":"tokc-ungreedy","version":1,"capcode":false,"tokens":[\#(tokens)],"special_tokens":{}}"#, "tiny-ungreedy.json")
        let wordPiece = try write(wordPieceTokens.joined(separator: "\n") + "\n", "tiny-vocab.txt")
        return TinyCorpus(folder: folder + "/corpus", parallel: parallel, ungreedy: ungreedy, wordPiece: wordPiece)
    }

    typealias Object = [String: Any]

    /// The JSON report `tokc compare` writes for the tiny corpus.
    static func report() throws -> (Object, TinyCorpus) {
        let tiny = try tinyCorpus()
        let out = tiny.folder + "/../report.json"
        let run = try CLITests.tokc([
            "compare", "--vocab", tiny.ungreedy + "," + tiny.wordPiece, "--corpus", tiny.folder,
            "--parallel", tiny.parallel, "--json", out, "--only-named",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let data = try Data(contentsOf: URL(fileURLWithPath: out))
        return (try #require(try JSONSerialization.jsonObject(with: data) as? Object), tiny)
    }

    static func measurement(_ report: Object, _ vocabulary: String, _ language: String) throws -> Object {
        let all = try #require(report["measurements"] as? [Object])
        return try #require(all.first { $0["vocabulary"] as? String == vocabulary && $0["language"] as? String == language })
    }

    static func parity(_ report: Object, _ vocabulary: String, _ language: String) throws -> Object {
        let all = try #require(report["parity"] as? [Object])
        return try #require(all.first { $0["vocabulary"] as? String == vocabulary && $0["language"] as? String == language })
    }

    /// Integers exactly; ratios to the last bit that matters.
    static func check(_ object: Object, _ expected: [String: Double], _ context: String) {
        for (key, value) in expected.sorted(by: { $0.key < $1.key }) {
            guard let actual = (object[key] as? NSNumber)?.doubleValue else {
                Issue.record("\(context): \(key) missing or null")
                continue
            }
            #expect(abs(actual - value) <= 1e-12 * max(1, abs(value)), "\(context): \(key) is \(actual), expected \(value)")
        }
    }

    @Test func ungreedyMetricsByHand() throws {
        let (report, _) = try Self.report()
        // en: "ab cd" → [ab ][cd]; "abcd abx" → [abcd][ ][ab][x]: 6 tokens, 13 bytes, 4 ICU words, of which
        // "abx" is split (alone [ab][x], with its space [ ][ab][x]); 6 distinct ids of 261; both lines exact.
        Self.check(try Self.measurement(report, "tiny-ungreedy.json", "en"), [
            "lines": 2, "bytes": 13, "characters": 13, "words": 4, "tokens": 6, "split_words": 1,
            "unknown_tokens": 0, "byte_fallback_tokens": 0, "exact_lines": 2, "distinct_tokens": 6, "vocabulary_size": 261,
            "bytes_per_token": 13.0 / 6, "characters_per_token": 13.0 / 6, "fertility": 6.0 / 4, "split_word_share": 1.0 / 4,
            "unknown_share": 0, "byte_fallback_share": 0, "round_trip_share": 1, "vocabulary_utilisation": 6.0 / 261,
        ], "ungreedy en")
        // ja: "日本" → [日][E6][9C][AC]: three tokens are bytes of 本; one word, split.
        Self.check(try Self.measurement(report, "tiny-ungreedy.json", "ja"), [
            "lines": 1, "bytes": 6, "characters": 2, "words": 1, "tokens": 4, "split_words": 1, "byte_fallback_tokens": 3,
            "exact_lines": 1, "distinct_tokens": 4, "bytes_per_token": 1.5, "characters_per_token": 0.5, "fertility": 4,
            "byte_fallback_share": 0.75, "vocabulary_utilisation": 4.0 / 261,
        ], "ungreedy ja")
        Self.check(try Self.measurement(report, "tiny-ungreedy.json", "all"), [
            "lines": 3, "bytes": 19, "characters": 15, "words": 5, "tokens": 10, "split_words": 2, "byte_fallback_tokens": 3,
            "exact_lines": 3, "distinct_tokens": 10, "fertility": 2, "split_word_share": 0.4, "vocabulary_utilisation": 10.0 / 261,
        ], "ungreedy all")
        // Parity against en: r1 4/2, r2 [日] 1/4, r3 [日][日] 2/[cd] 1; de only in r2: [ab][\t][cd] 3/4.
        Self.check(try Self.parity(report, "tiny-ungreedy.json", "ja"), [
            "sentences": 3, "mean": (2 + 0.25 + 2) / 3, "median": 2, "tokens": 7, "reference_tokens": 7,
        ], "ungreedy parity ja")
        Self.check(try Self.parity(report, "tiny-ungreedy.json", "de"), [
            "sentences": 1, "mean": 0.75, "median": 0.75, "tokens": 3, "reference_tokens": 4,
        ], "ungreedy parity de")
    }

    @Test func wordPieceMetricsByHand() throws {
        let (report, _) = try Self.report()
        // en: [ab][cd], [ab][##cd][ab][##x]: "abcd" and "abx" are split; decoding gives both lines back.
        Self.check(try Self.measurement(report, "tiny-vocab.txt", "en"), [
            "tokens": 6, "words": 4, "split_words": 2, "unknown_tokens": 0, "exact_lines": 2, "distinct_tokens": 4,
            "vocabulary_size": 7, "split_word_share": 0.5, "vocabulary_utilisation": 4.0 / 7,
        ], "wordpiece en")
        // ja: BERT splits CJK ideographs, neither is in the vocabulary: [UNK][UNK], which decodes to "[UNK] [UNK]".
        Self.check(try Self.measurement(report, "tiny-vocab.txt", "ja"), [
            "tokens": 2, "words": 1, "split_words": 1, "unknown_tokens": 2, "unknown_share": 1, "exact_lines": 0,
            "round_trip_share": 0, "distinct_tokens": 1,
        ], "wordpiece ja")
        Self.check(try Self.measurement(report, "tiny-vocab.txt", "all"), [
            "tokens": 8, "unknown_tokens": 2, "unknown_share": 0.25, "exact_lines": 2, "round_trip_share": 2.0 / 3,
            "distinct_tokens": 5, "vocabulary_utilisation": 5.0 / 7,
        ], "wordpiece all")
        // r1 2/2, r2 1/4, r3 2/1; de: the tab is a space to BERT, [ab][cd] 2/4.
        Self.check(try Self.parity(report, "tiny-vocab.txt", "ja"), [
            "sentences": 3, "mean": (1 + 0.25 + 2) / 3, "median": 1, "tokens": 5, "reference_tokens": 7,
            "unknown_tokens": 5, "unknown_share": 1,
        ], "wordpiece parity ja")
        Self.check(try Self.parity(report, "tiny-vocab.txt", "de"), ["sentences": 1, "mean": 0.5, "median": 0.5], "wordpiece parity de")
    }

    @Test func reportDescribesItsInputs() throws {
        let (report, tiny) = try Self.report()
        #expect(report["format"] as? String == "tokc-compare")
        #expect(report["version"] as? Int == 1)
        let corpus = try #require(report["corpus"] as? Object)
        #expect(corpus["provenance"] as? String == "Hand-made lines for the test.")
        let languages = try #require(corpus["languages"] as? [Object])
        #expect(languages.map { $0["code"] as? String } == ["en", "ja"])
        #expect(languages.map { $0["words"] as? Int } == [4, 1])
        #expect(languages[1]["sha256"] as? String == VocabularyRegistry.sha256(Array("日本\n".utf8)))
        let parallel = try #require(report["parallel"] as? Object)
        #expect(parallel["rows"] as? Int == 3)
        #expect(parallel["path"] as? String == tiny.parallel)
        #expect(parallel["sentences"] as? [String: Int] == ["en": 3, "ja": 3, "de": 1])
        let vocabularies = try #require(report["vocabularies"] as? [Object])
        #expect(vocabularies.map { $0["scheme"] as? String } == ["ungreedy", "wordpiece"])
        #expect(vocabularies.map { $0["origin"] as? String } == ["file", "file"])
    }

    @Test func csvAndHTMLCarryTheSameNumbers() throws {
        let tiny = try Self.tinyCorpus()
        var options = Comparison.Options(corpus: try EvaluationCorpus(folder: tiny.folder))
        options.candidates = [.named(tiny.ungreedy)]
        options.parallel = try ParallelCorpus(path: tiny.parallel)
        let report = try Comparison(options: options).run()
        let csv = String(decoding: report.csv(), as: UTF8.self).components(separatedBy: "\r\n")
        #expect(csv[0].hasPrefix("vocabulary,scheme,language,lines,bytes,characters,words,tokens,bytes_per_token,"))
        // en, ja, all, then de (a parity language the corpus lacks), and the final empty string after CRLF.
        #expect(csv.count == 6)
        #expect(csv[1].hasPrefix("tiny-ungreedy.json,ungreedy,en,2,13,13,4,6,"))
        #expect(csv[2].hasPrefix("tiny-ungreedy.json,ungreedy,ja,1,6,2,1,4,1.5,0.5,4.0,1.0,"))
        #expect(csv[2].hasSuffix(",ja,3,1.4166666666666667,2.0,0.0"))
        #expect(csv[4] == "tiny-ungreedy.json,ungreedy,de" + String(repeating: ",", count: 15) + ",de,1,0.75,0.75,0.0")
        let html = String(decoding: report.html(), as: UTF8.self)
        #expect(html.contains("<svg class=\"chart\""))
        #expect(html.contains("<table class=\"sortable\" id=\"measurement-table\">"))
        #expect(html.contains("<td class=\"n\" data-v=\"2.1666666666666665\">2.167</td>"))  // en bytes/token
        #expect(html.contains("default-src 'none'"))
        #expect(!html.contains("http:") && !html.contains("https:") && !html.contains("src="))
    }

    @Test func parallelFileErrorsNameTheLine() throws {
        let bad: [(String, String)] = [
            ("en\tja\n", "p.tsv:1: expected a header row: id, then language codes, tab-separated"),
            ("id\ten\tja\nr1\thello\n", "p.tsv:2: expected 3 tab-separated cells, found 2"),
            ("id\ten\nr1\tok\nr2\tbad \\q escape\n", "p.tsv:3: expected \\\\, \\t, \\n or \\r after a backslash, found \\q"),
        ]
        for (text, message) in bad {
            #expect(throws: TokcError.self) { try ParallelCorpus(bytes: Array(text.utf8), path: "p.tsv") }
            do {
                _ = try ParallelCorpus(bytes: Array(text.utf8), path: "p.tsv")
            } catch {
                #expect(error.description == message)
            }
        }
    }

    @Test func corpusFolderErrors() throws {
        let empty = Fixtures.scratchDirectory + "/empty-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        #expect(throws: TokcError.unreadableFile(path: empty, reason: "holds no <lang>.heldout.txt or <lang>.txt files")) {
            try EvaluationCorpus(folder: empty)
        }
        let tiny = try Self.tinyCorpus()
        #expect(try EvaluationCorpus(folder: tiny.folder, only: ["ja"]).languages.map(\.code) == ["ja"])
        #expect(throws: TokcError.self) { try EvaluationCorpus(folder: tiny.folder, only: ["ko"]) }
    }

    @Test func medianAndWordSpans() {
        var odd = [3.0, 1, 2]
        #expect(Comparison.median(&odd) == 2)
        var even = [4.0, 1, 3, 2]
        #expect(Comparison.median(&even) == 2.5)
        var none: [Double] = []
        #expect(Comparison.median(&none) == nil)
        // ICU's words leave out spaces and punctuation; Japanese is cut by dictionary.
        func words(_ text: String, _ locale: String) -> [String] {
            let bytes = Array(text.utf8)
            var found: [String] = []
            bytes.withUnsafeBufferPointer { buffer in
                ICUBreaks.forEachWord(locale: locale, in: buffer) { found.append(String(decoding: bytes[$0], as: UTF8.self)) }
            }
            return found
        }
        #expect(words("Hello, world 42!", "en") == ["Hello", "world", "42"])
        #expect(words("東京タワーは日本の電波塔です。", "ja") == ["東京タワー", "は", "日本", "の", "電波", "塔", "です"])
        #expect(words("   ...", "en") == [])
    }
}
