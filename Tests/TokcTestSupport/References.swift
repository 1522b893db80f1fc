import Foundation

/// The reference tools some tests drive: Python with tiktoken, tokenizers or sentencepiece (the pinned versions
/// of `scripts/reference-requirements.txt`), a plain python3 for standard-library scripts, and Chromium.
///
/// Where a tool is missing, a test is skipped through swift-testing's own `.enabled(if:)` trait, whose comment
/// says what is missing, so the run reports it as skipped, never as passed. CI sets
/// `TOKC_REQUIRE_REFERENCES=1`: there `shouldRun` is always true, and a missing tool is a thrown
/// `ReferenceMissing`, that is, a failure.
public enum References {
    /// Whether a missing reference fails its test instead of skipping it (`TOKC_REQUIRE_REFERENCES=1`, set by `.ci/run`).
    public static let required = ProcessInfo.processInfo.environment["TOKC_REQUIRE_REFERENCES"] == "1"

    /// The checkout this file belongs to.
    public static let repositoryRoot: String = {
        var path = #filePath  // Tests/TokcTestSupport/References.swift
        for _ in 0..<3 { path = (path as NSString).deletingLastPathComponent }
        return path
    }()

    public static let tiktoken = Tool(pythonModule: "tiktoken")
    public static let tokenizers = Tool(pythonModule: "tokenizers")
    public static let sentencepiece = Tool(pythonModule: "sentencepiece")
    /// Any python3, for scripts that need only its standard library.
    public static let python = Tool(pythonModule: "json")
    /// PySpark and a Java to run it, for the Spark example's test (examples/spark).
    public static let pyspark = Tool(pythonModule: "pyspark")
    public static let java = Tool(
        name: "Java 17 or later (apt-get install openjdk-17-jre-headless)",
        path: ["/usr/bin/java", "/usr/lib/jvm/default-java/bin/java"].first { FileManager.default.isExecutableFile(atPath: $0) })
    /// Selenium (pinned in `scripts/reference-requirements.txt`) and Debian's `chromedriver`, for the playground's browser test.
    public static let selenium = Tool(pythonModule: "selenium")
    public static let chromedriver = Tool(
        name: "chromedriver (apt-get install chromium-driver)",
        path: ["/usr/bin/chromedriver"].first { FileManager.default.isExecutableFile(atPath: $0) })
    public static let chromium = Tool(
        name: "Chromium (apt-get install chromium)",
        path: ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
            .first { FileManager.default.isExecutableFile(atPath: $0) })

    /// Interpreters tried in order: `$TOKC_PYTHON` (what `.ci/run` makes), the checkout's reference venv
    /// (`python3 scripts/reference_venv.py` makes it), then every python3 on `PATH`.
    static let pythonCandidates: [String] = {
        let environment = ProcessInfo.processInfo.environment
        var candidates = [environment["TOKC_PYTHON"], repositoryRoot + "/Benchmarks/.venv/bin/python"].compactMap { $0 }
        candidates += (environment["PATH"] ?? "/usr/bin").split(separator: ":").map { $0 + "/python3" }
        return candidates.filter { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// The first candidate interpreter that imports `module`.
    static func python(importing module: String) -> String? {
        pythonCandidates.first { candidate in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: candidate)
            process.arguments = ["-c", "import \(module)"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            guard (try? process.run()) != nil else { return false }
            process.waitUntilExit()
            return process.terminationStatus == 0
        }
    }

    /// One reference tool, looked for once per test process.
    public struct Tool: Sendable {
        public let name: String
        /// The executable (for a Python module: the interpreter that imports it), if there is one.
        public let path: String?

        init(name: String, path: String?) {
            self.name = name
            self.path = path
        }

        init(pythonModule: String) {
            self.init(name: pythonModule == "json" ? "python3" : "python3 with \(pythonModule)",
                      path: References.python(importing: pythonModule))
        }

        /// The condition for `.enabled(if:)`: the tool is here, or CI requires it (the test then fails in `executable()`).
        public var shouldRun: Bool { path != nil || References.required }

        /// The executable; throws, naming what is missing and how to get it, when there is none.
        public func executable() throws -> String {
            guard let path else { throw ReferenceMissing(tool: name, tried: References.pythonCandidates) }
            return path
        }
    }

    public struct ReferenceMissing: Error, CustomStringConvertible {
        public let tool: String
        public let tried: [String]
        public var description: String {
            "\(tool) is not available (TOKC_REQUIRE_REFERENCES=1 makes that a failure); pythons tried: "
                + "\(tried.isEmpty ? "none" : tried.joined(separator: ", ")); "
                + "`python3 scripts/reference_venv.py` makes the pinned reference environment"
        }
    }
}

/// The vocabularies `Vocabularies/manifest.json` ships, in its order: the one list the tests compare against.
public let shippedVocabularyNames = [
    "o200k_base", "cl100k_base", "r50k_base", "p50k_base", "o200k_harmony", "llama3", "llama4", "deepseek-v3", "mistral-v1",
    "bert-base-uncased", "unigram-multi-8k", "ungreedy-multi-8k", "qwen2.5", "qwen3.5", "glm-4", "glm-4.7", "minimax-m3",
    "claude-legacy", "mistral-v3", "mistral-v7", "tekken", "gemma-4", "llama2", "command-r", "kimi-k2",
]
