import Foundation
import Testing
import TokcTestSupport
@testable import Tokc

/// The HTML report in a real browser: `scripts/check-report-html.py` loads it in headless Chromium and checks
/// that its charts and tables render, that its script runs, and that it makes no network request (with a
/// control page proving the check can fail). Skipped, with a message, where Chromium or python3 is not
/// installed; a failure there in CI, which installs Chromium (`References`).
@Suite struct ReportRenderingTests {
    @Test(.enabled(if: References.chromium.shouldRun && References.python.shouldRun,
                   "needs Chromium (apt-get install chromium) and python3"))
    func rendersInHeadlessChromiumWithoutNetwork() throws {
        _ = try References.chromium.executable()
        let tiny = try ComparisonTests.tinyCorpus()
        var options = Comparison.Options(corpus: try EvaluationCorpus(folder: tiny.folder))
        options.candidates = [.named(tiny.ungreedy), .named(tiny.wordPiece)]
        options.parallel = try ParallelCorpus(path: tiny.parallel)
        let report = try Comparison(options: options).run()
        let page = tiny.folder + "/../report.html"
        try Data(report.html()).write(to: URL(fileURLWithPath: page))

        let process = Process()
        process.executableURL = URL(fileURLWithPath: try References.python.executable())
        process.arguments = [Fixtures.repositoryRoot + "/scripts/check-report-html.py", page]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        let lines = text.split(separator: "\n").map(String.init)
        // Two languages and "all" for each of two metrics, plus one parity chart per parallel language (ja, de).
        #expect(lines.first == "renders: 8 SVG charts, 3 sortable tables, script ran: yes")
        #expect(lines.dropFirst().first?.hasPrefix("network: the page made 0 requests") == true)
        #expect(lines.dropFirst(2).first == "control: the same page without its policy, with an external image: request seen in the net log")
    }
}
