import Foundation
import Testing
import Tokc
import TokcTestSupport

/// docs/protocol.md held to the daemon: its Python example, run as written against a live daemon, and every
/// `→ request` / `← answer` exchange it shows, sent to one and compared byte for byte.
@Suite(.serialized) struct ProtocolDocumentTests {
    static let document: String = {
        var path = #filePath  // Tests/TokcServerTests/ProtocolDocumentTests.swift
        for _ in 0..<3 { path = (path as NSString).deletingLastPathComponent }
        return path + "/docs/protocol.md"
    }()

    static func example() throws -> String {
        let text = try String(contentsOfFile: document, encoding: .utf8)
        guard let start = text.range(of: "<!-- python-example:start -->\n```python\n"),
              let end = text.range(of: "```\n<!-- python-example:end -->") else {
            throw RawConnection.Failure(description: "docs/protocol.md has no python-example block")
        }
        return String(text[start.upperBound..<end.lowerBound])
    }

    /// Every `→ request` / `← answer` pair of the document; a line starting with spaces continues the one above.
    static func exchanges() throws -> [(request: String, answer: String)] {
        var lines: [String] = []
        for line in try String(contentsOfFile: document, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(" "), let last = lines.last, last.hasPrefix("→ ") || last.hasPrefix("← ") {
                lines[lines.count - 1] += line.drop { $0 == " " }
            } else {
                lines.append(String(line))
            }
        }
        return try lines.indices.filter { lines[$0].hasPrefix("→ ") }.map { index in
            guard index + 1 < lines.count, lines[index + 1].hasPrefix("← ") else {
                throw RawConnection.Failure(description: "docs/protocol.md: \(lines[index]) has no ← answer on the next line")
            }
            return (String(lines[index].dropFirst(2)), String(lines[index + 1].dropFirst(2)))
        }
    }

    @Test func theDocumentsExchangesAreTheDaemonsAnswers() async throws {
        let exchanges = try Self.exchanges()
        #expect(exchanges.count == 7)
        let daemon = try await Daemon.start()
        let connection = try await daemon.raw()
        for (request, answer) in exchanges {
            try await connection.send(request + "\n")
            let given = try await connection.readLine()
            #expect(given == answer, "docs/protocol.md shows for \(request) an answer the daemon does not give: \(given ?? "none")")
        }
        await daemon.stop()
    }

    @Test func theExampleIsShort() throws {
        let lines = try Self.example().split(separator: "\n").filter { !$0.allSatisfy(\.isWhitespace) }
        #expect(lines.count <= 10)
    }

    @Test(.enabled(if: References.python.shouldRun, "python3 is not installed; the Python example is not run"))
    func thePythonExampleRunsAgainstALiveDaemon() async throws {
        let daemon = try await Daemon.start()
        let script = daemon.folder + "/example.py"
        try Data(try Self.example().utf8).write(to: URL(fileURLWithPath: script))
        let output = try await offload { () throws -> String in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try References.python.executable())
            process.arguments = [script, daemon.socketPath]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        let tokyo = try Tokenizer.named("o200k_base").count("東京タワー")
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.count == 2, "\(output)")
        #expect(lines.first == "{'bytes': [11, 15], 'counts': [2, \(tokyo)], 'id': 1, 'total': \(2 + tokyo), 'vocab': 'o200k_base'}")
        #expect(lines.last?.contains("'cost_usd': 0.001005") == true, "\(output)")
        #expect(lines.last?.contains("'input_tokens': 2") == true)
        await daemon.stop()
    }
}
