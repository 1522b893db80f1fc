import Foundation
import Testing
import Tokc

/// docs/protocol.md's Python example, run as written against a live daemon.
@Suite(.serialized) struct ProtocolDocumentTests {
    static let document: String = {
        var path = #filePath  // Tests/TokcServerTests/ProtocolDocumentTests.swift
        for _ in 0..<3 { path = (path as NSString).deletingLastPathComponent }
        return path + "/docs/protocol.md"
    }()

    static let python: String? = ["/usr/bin/python3", "/usr/local/bin/python3"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    } ?? ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":").map { $0 + "/python3" }
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    static func example() throws -> String {
        let text = try String(contentsOfFile: document, encoding: .utf8)
        guard let start = text.range(of: "<!-- python-example:start -->\n```python\n"),
              let end = text.range(of: "```\n<!-- python-example:end -->") else {
            throw RawConnection.Failure(description: "docs/protocol.md has no python-example block")
        }
        return String(text[start.upperBound..<end.lowerBound])
    }

    @Test func theExampleIsShort() throws {
        let lines = try Self.example().split(separator: "\n").filter { !$0.allSatisfy(\.isWhitespace) }
        #expect(lines.count <= 10)
    }

    @Test(.enabled(if: python != nil, "python3 is not installed; the Python example is not run"))
    func thePythonExampleRunsAgainstALiveDaemon() async throws {
        let daemon = try await Daemon.start()
        let script = daemon.folder + "/example.py"
        try Data(try Self.example().utf8).write(to: URL(fileURLWithPath: script))
        let output = try await offload { () throws -> String in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Self.python ?? "python3")
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
