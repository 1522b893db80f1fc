/// Every error tokc reports. Each case carries what a user needs to act: which file, which line or
/// offset, and what was expected there. `description` is the one-line message the CLI prints.
public enum TokcError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A vocabulary or manifest file that does not parse. `line` is 1-based.
    case malformedFile(path: String, line: Int, expected: String)
    /// A file whose bytes do not match the sha256 its manifest promises.
    case checksumMismatch(path: String, expected: String, actual: String)
    /// A vocabulary name that no manifest lists.
    case unknownVocabulary(name: String, known: [String])
    /// A vocabulary whose content cannot work with its scheme (e.g. byte-level BPE without all 256 bytes).
    case invalidVocabulary(path: String, reason: String)
    /// A file that cannot be opened or read.
    case unreadableFile(path: String, reason: String)
    /// A file or folder that cannot be created or written.
    case unwritableFile(path: String, reason: String)
    /// A pre-tokenizer regex PCRE2 rejects; `offset` is the byte offset PCRE2 names in the pattern.
    case invalidPattern(pattern: String, offset: Int, reason: String)
    /// A token id outside the vocabulary, at `position` in the input ids.
    case unknownTokenID(id: UInt32, position: Int, vocabularySize: Int)
    /// A pattern name that is not one of the built-in ones and not usable as a regex.
    case unknownPattern(name: String, known: [String])
    /// A vocabulary file that no manifest describes, so its pattern and special tokens are unknown.
    case missingPattern(path: String, known: [String])
    /// Input that does not have the shape a command reads (JSON Lines, id lists). `line` is 1-based.
    case malformedInput(source: String, line: Int, expected: String)
    /// ICU failed; `code` is ICU's error name.
    case icuFailure(operation: String, code: String)
    /// A model name the price table does not list; `similar` are the closest names it does.
    case unknownModel(name: String, similar: [String])
    /// A model the price table lists but whose tokens no vocabulary of tokc's counts.
    case noTokenizer(model: String, note: String?)
    /// A chat template that does not parse or cannot render (its line and the construct are in the message).
    case invalidTemplate(String)
    /// A chat format's own refusal of a conversation (a template's `raise_exception`, Mistral's or harmony's
    /// checks), in its own words.
    case templateRefused(String)
    /// A chat request that is not the shape of an OpenAI chat-completions body.
    case invalidRequest(String)

    public var description: String {
        switch self {
        case let .malformedFile(path, line, expected):
            return "\(path):\(line): expected \(expected)"
        case let .checksumMismatch(path, expected, actual):
            return "\(path): sha256 is \(actual), the manifest expects \(expected); the file is damaged or not the one named"
        case let .unknownVocabulary(name, known):
            return "unknown vocabulary '\(name)'; known: \(known.joined(separator: ", "))"
        case let .invalidVocabulary(path, reason):
            return "\(path): \(reason)"
        case let .unreadableFile(path, reason):
            return "\(path): cannot read: \(reason)"
        case let .unwritableFile(path, reason):
            return "\(path): cannot write: \(reason)"
        case let .invalidPattern(pattern, offset, reason):
            return "invalid pattern at byte \(offset): \(reason): \(pattern)"
        case let .unknownTokenID(id, position, size):
            return "token id \(id) at position \(position) is not in the vocabulary (ids run below \(size))"
        case let .unknownPattern(name, known):
            return "unknown pattern '\(name)'; known: \(known.joined(separator: ", "))"
        case let .missingPattern(path, known):
            return "\(path) is not described by any manifest, so its pre-tokenizer pattern is unknown; pass --pattern (\(known.joined(separator: ", ")) or a regex)"
        case let .malformedInput(source, line, expected):
            return "\(source):\(line): expected \(expected)"
        case let .icuFailure(operation, code):
            return "ICU \(operation) failed: \(code)"
        case let .unknownModel(name, similar):
            return "unknown model '\(name)'" + (similar.isEmpty ? "; 'tokc cost --list' shows the known ones" : "; similar: \(similar.joined(separator: ", "))")
        case let .noTokenizer(model, note):
            return "no vocabulary is known to count the tokens of '\(model)'" + (note.map { " (\($0))" } ?? "") + "; name one with --vocab to estimate with it as a proxy"
        case let .invalidTemplate(message):
            return "chat template: \(message)"
        case let .templateRefused(message):
            return "the chat format refuses this conversation: \(message)"
        case let .invalidRequest(message):
            return "chat request: \(message)"
        }
    }
}
