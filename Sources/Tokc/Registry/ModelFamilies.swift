import Foundation

/// Which vocabulary counts a model's tokens, by family: `Vocabularies/model-families.json`, the one readable
/// table of rules that `scripts/make-models-json.py` applies to build `models.json` and tokc applies at run time
/// to models it has not seen (a newer LiteLLM table given with `--prices`).
///
/// Rules are tried in order against the model's key, lowercased and without a leading `<provider>/`; the first
/// whose pattern matches decides. A rule is exact only where its evidence shows the model's own tokenizer is the
/// shipped vocabulary for ordinary text (the evidence is in the file, and `docs/model-family-evidence.md`); any
/// other rule is approximate and its evidence says why. Patterns are written in the syntax Python's `re` and
/// PCRE2 share, and a test checks that both classify every model of the shipped table alike.
public struct ModelFamilies: Sendable {
    public struct Rule: Codable, Sendable, Equatable {
        public var family: String
        public var pattern: String
        /// The vocabulary that counts the family's tokens; nil when none can.
        public var vocabulary: String?
        /// True when `vocabulary` is the family's own tokenizer, on the evidence given.
        public var exact: Bool
        public var evidence: String
    }

    public let rules: [Rule]
    private let patterns: [PCRE2Pattern]

    public init(rules: [Rule], path: String = "model-families.json") throws(TokcError) {
        var patterns: [PCRE2Pattern] = []
        for rule in rules {
            do {
                patterns.append(try PCRE2Pattern(rule.pattern))
            } catch {
                throw .invalidVocabulary(path: path, reason: "the pattern of family '\(rule.family)' does not compile: \(error)")
            }
        }
        self.rules = rules
        self.patterns = patterns
    }

    /// The first rule that matches the model's key (lowercased, without a leading `<provider>/`), if any.
    public func rule(forModel name: String, provider: String?) -> Rule? {
        var key = name.lowercased()
        if let provider, !provider.isEmpty, key.hasPrefix(provider.lowercased() + "/") {
            key.removeFirst(provider.count + 1)
        }
        let bytes = Array(key.utf8)
        for (rule, pattern) in zip(rules, patterns) where pattern.matches(bytes) { return rule }
        return nil
    }

    /// The rule of a family by its name.
    public func rule(family: String) -> Rule? { rules.first { $0.family == family } }

    /// Parses the rules file; `path` names it in errors.
    public static func parse(_ content: [UInt8], path: String) throws(TokcError) -> ModelFamilies {
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: Data(content))
        } catch let error as DecodingError {
            throw .malformedFile(path: path, line: 1, expected: JSONErrors.describe(error))
        } catch {
            throw .malformedFile(path: path, line: 1, expected: "a tokc model-families.json (\(error))")
        }
        guard file.formatVersion == 1 else {
            throw .malformedFile(path: path, line: 1, expected: "format_version 1, not \(file.formatVersion)")
        }
        return try ModelFamilies(rules: file.rules, path: path)
    }

    /// The rules shipped beside `models.json` in the registry's folders, or nil where there are none.
    public static func load(registry: VocabularyRegistry = .standard) throws(TokcError) -> ModelFamilies? {
        guard let folder = registry.folders.first(where: { FileIO.isFile($0 + "/model-families.json") }) else { return nil }
        let path = folder + "/model-families.json"
        return try parse(try FileIO.readAll(path), path: path)
    }

    private struct File: Codable {
        var formatVersion: Int
        var rules: [Rule]
        enum CodingKeys: String, CodingKey {
            case rules
            case formatVersion = "format_version"
        }
    }
}
