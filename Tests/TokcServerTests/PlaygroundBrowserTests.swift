import Foundation
import Testing
import TokcTestSupport

/// The playground in a real browser: `scripts/check-playground.py` starts `tokc serve --http`, drives headless
/// Chromium through chromedriver and Selenium, types Japanese and English, adds and removes vocabularies, and
/// checks every column's count against `tokc count`, hovered ids against `tokc encode`, the state kept in the
/// URL, and that no request went anywhere but the daemon. Skipped, saying so, where Chromium, chromedriver or
/// Selenium is missing; a failure in CI, which installs them (`.ci/run`).
@Suite struct PlaygroundBrowserTests {
    @Test(.enabled(if: References.chromium.shouldRun && References.chromedriver.shouldRun && References.selenium.shouldRun,
                   "needs Chromium and chromedriver (apt-get install chromium chromium-driver) and Selenium (python3 scripts/reference_venv.py)"))
    func thePlaygroundCountsAsTheCLIDoes() throws {
        _ = try References.chromium.executable()
        _ = try References.chromedriver.executable()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try References.selenium.executable())
        process.arguments = [References.repositoryRoot + "/scripts/check-playground.py", "--tokc", binaryBesideTests("tokc")]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("columns: 2 then 3 columns, counts equal to tokc count's: yes (o200k_base ") }, "\(text)")
        #expect(lines.contains("hover: 9 tokens hovered, ids equal to tokc encode's: yes"), "\(text)")
        #expect(lines.contains("url: the same columns, text and counts from the URL: yes"), "\(text)")
        #expect(lines.contains { $0.hasPrefix("network: ") && $0.hasSuffix(", 0 anywhere else") }, "\(text)")
    }
}
