import Foundation
import Testing
import TokcTestSupport
@testable import Tokc

/// examples/spark/count_tokens.py on a local Spark (issue #29): tokc as each partition's worker, the driver's
/// sum equal to one `tokc count` over the same data, split by lines (JSON Lines) and by files (text, gzip).
@Suite(.serialized) struct SparkExampleTests {
    static let script = References.repositoryRoot + "/examples/spark/count_tokens.py"

    /// The job's JSON (its last line of output), run with the interpreter that has pyspark.
    static func runJob(_ arguments: [String]) throws -> [String: Any] {
        let python = try References.pyspark.executable()
        _ = try References.java.executable()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, "--master", "local[2]", "--tokc", CLITests.binary] + arguments
        var environment = ProcessInfo.processInfo.environment
        // Spark's Python workers run the driver's interpreter (the one with pyspark).
        environment["PYSPARK_PYTHON"] = python
        environment["PYSPARK_DRIVER_PYTHON"] = python
        process.environment = environment
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        // Spark logs a lot on stderr: read both pipes at once so neither fills.
        nonisolated(unsafe) var log = Data()
        let reader = Thread { log = error.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !reader.isFinished { usleep(10_000) }
        let text = String(decoding: printed, as: UTF8.self)
        guard process.terminationStatus == 0, let last = text.split(separator: "\n").last,
              let result = try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any] else {
            throw SparkJobFailed(status: process.terminationStatus, output: text + String(decoding: log.suffix(4000), as: UTF8.self))
        }
        return result
    }

    struct SparkJobFailed: Error, CustomStringConvertible {
        let status: Int32
        let output: String
        var description: String { "the Spark job exited \(status):\n\(output)" }
    }

    @Test(.enabled(if: References.pyspark.shouldRun && References.java.shouldRun, "needs pyspark (scripts/reference-requirements.txt) and Java 17 (openjdk-17-jre-headless)"))
    func sparkTotalsEqualOneTokcCount() throws {
        // JSON Lines split by lines over three partitions: the records' sum is tokc's total.
        let lines = try DatasetCountingTests.corpusText(4_000).split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }
        let document = lines.enumerated().map { #"{"id":\#($0),"text":\#(DatasetCountingTests.jsonString($1, escapeAll: $0 % 3 == 0))}"# }
        let jsonl = try CLITests.temporaryFile(Array((document.joined(separator: "\n") + "\n").utf8), name: "data.jsonl")
        let local = try CLITests.tokc(["count", "--jsonl", "--json", "--vocab", "o200k_base,llama3", jsonl])
        #expect(local.status == 0)
        let expected = try #require(try JSONSerialization.jsonObject(with: Data(local.stdout)) as? [String: Any])
        let byLines = try Self.runJob(["--jsonl", "--vocab", "o200k_base,llama3", "--partitions", "3", jsonl])
        #expect(byLines["partitions"] as? Int ?? 0 >= 3)
        let vocabs = try #require(byLines["vocabs"] as? [[String: Any]])
        let localVocabs = try #require(expected["vocabs"] as? [[String: Any]])
        #expect(vocabs.count == 2)
        for (spark, here) in zip(vocabs, localVocabs) {
            #expect(spark["vocab"] as? String == here["vocab"] as? String)
            #expect(spark["total"] as? Int == here["total"] as? Int)
            #expect(spark["records"] as? Int == lines.count)
            let distribution = try #require(here["distribution"] as? [String: Int])
            #expect(spark["min"] as? Int == distribution["min"] && spark["max"] as? Int == distribution["max"])
        }

        // Whole files (one gzipped), each counted by one tokc: the sum is `tokc count a b`'s total.
        let folder = (jsonl as NSString).deletingLastPathComponent
        let text = try DatasetCountingTests.corpusText(20_000)
        try Data(text).write(to: URL(fileURLWithPath: folder + "/a.txt"))
        try Data(try DatasetCountingTests.gzip(try DatasetCountingTests.corpusText(9_000))).write(to: URL(fileURLWithPath: folder + "/b.txt.gz"))
        let both = try CLITests.tokc(["count", "--json", folder + "/a.txt", folder + "/b.txt.gz"])
        let total = try #require((try JSONSerialization.jsonObject(with: Data(both.stdout)) as? [String: Any])?["total"] as? Int)
        let byFiles = try Self.runJob(["--by", "files", folder + "/*.txt*"])
        let fileVocabs = try #require(byFiles["vocabs"] as? [[String: Any]])
        #expect(fileVocabs.first?["total"] as? Int == total)
    }
}
