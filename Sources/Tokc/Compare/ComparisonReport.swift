import Foundation

/// The result of a `Comparison`: the counts it made and the metrics computed from them, with the settings and
/// the corpus it ran on. Rendered as a terminal table (`table()`), JSON (`json()`, schema in
/// `docs/metrics.md`), CSV (`csv()`) and a self-contained HTML page (`html()`).
public struct ComparisonReport: Sendable {
    /// The language code of the measurement over every language together.
    public static let allLanguages = "all"
    /// Parity figures whose unknown share is above this are marked in the table and the HTML report.
    public static let notableUnknownShare = 0.01

    public struct Language: Sendable {
        public let code: String
        public let path: String
        public let trainingPath: String?
        public let lines: Int
        public let bytes: Int
        public let characters: Int
        /// ICU words (letters, numbers, kana, ideographs; not spaces or punctuation), by the language's locale.
        public let words: Int
        public let sha256: String
    }

    public struct ParallelText: Sendable {
        public let path: String
        public let rows: Int
        public let referenceLanguage: String
        /// Sentences present per column, in file order.
        public let sentences: [(language: String, count: Int)]
        public let sha256: String
    }

    public struct Vocabulary: Sendable {
        public let name: String
        public let scheme: Scheme
        /// `shipped`, `file`, `trained` or `caller`.
        public let origin: String
        /// Where it comes from: the manifest's source, the file path, or the training command.
        public let source: String
        public let vocabularySize: Int
        /// Loading or training time.
        public let preparationSeconds: Double
    }

    /// One vocabulary on one language's text (or on all of them: `allLanguages`).
    public struct Measurement: Sendable {
        public let vocabulary: String
        public let language: String
        public let lines: Int
        public let bytes: Int
        public let characters: Int
        public let words: Int
        public let tokens: Int
        /// Words that encode, alone, to two tokens or more.
        public let splitWords: Int
        public let unknownTokens: Int
        public let byteFallbackTokens: Int
        /// Lines that decode back to their exact bytes.
        public let exactLines: Int
        /// Distinct ids the text used.
        public let distinctTokens: Int
        public let vocabularySize: Int
        public let encodeSeconds: Double

        init(vocabulary: String, language: String, tally: TextTally) {
            self.vocabulary = vocabulary
            self.language = language
            lines = tally.lines
            bytes = tally.bytes
            characters = tally.characters
            words = tally.words
            tokens = tally.tokens
            splitWords = tally.splitWords
            unknownTokens = tally.unknownTokens
            byteFallbackTokens = tally.byteFallbackTokens
            exactLines = tally.exactLines
            distinctTokens = tally.distinctTokens
            vocabularySize = tally.vocabularySize
            encodeSeconds = tally.encodeSeconds
        }

        public var bytesPerToken: Double? { ratio(bytes, tokens) }
        public var charactersPerToken: Double? { ratio(characters, tokens) }
        /// Tokens per word.
        public var fertility: Double? { ratio(tokens, words) }
        public var splitWordShare: Double? { ratio(splitWords, words) }
        public var unknownShare: Double? { ratio(unknownTokens, tokens) }
        public var byteFallbackShare: Double? { ratio(byteFallbackTokens, tokens) }
        public var roundTripShare: Double? { ratio(exactLines, lines) }
        public var vocabularyUtilisation: Double? { ratio(distinctTokens, vocabularySize) }
        public var encodeMegabytesPerSecond: Double? { encodeSeconds > 0 ? Double(bytes) / 1e6 / encodeSeconds : nil }

        private func ratio(_ numerator: Int, _ denominator: Int) -> Double? {
            denominator > 0 ? Double(numerator) / Double(denominator) : nil
        }
    }

    /// One vocabulary's tokens for one language's sentences against the reference language's.
    public struct Parity: Sendable {
        public let vocabulary: String
        /// The parallel corpus's column name (`zh_CN`).
        public let language: String
        /// Rows with both texts (and a reference text of at least one token).
        public let sentences: Int
        /// Mean and median over those rows of tokens(language) ÷ tokens(reference).
        public let mean: Double?
        public let median: Double?
        public let tokens: Int
        public let referenceTokens: Int
        /// Unknown tokens among `tokens`: a vocabulary that spells a whole word it cannot read as one `[UNK]`
        /// looks cheap here, so parity is read with this.
        public let unknownTokens: Int

        public var unknownShare: Double? { tokens > 0 ? Double(unknownTokens) / Double(tokens) : nil }
    }

    public let started: Date
    public let corpusFolder: String
    public let corpusProvenance: String
    public let languages: [Language]
    public let parallel: ParallelText?
    public let vocabularies: [Vocabulary]
    /// Per vocabulary, each language in corpus order, then `allLanguages`.
    public let measurements: [Measurement]
    /// Per vocabulary, each parallel column but the reference, in file order.
    public let parity: [Parity]

    func measurement(_ vocabulary: String, _ language: String) -> Measurement? {
        measurements.first { $0.vocabulary == vocabulary && $0.language == language }
    }

    func parity(_ vocabulary: String, _ language: String) -> Parity? {
        parity.first { $0.vocabulary == vocabulary && $0.language == language }
    }

    /// The parallel columns other than the reference, in file order.
    var parityLanguages: [String] {
        guard let parallel else { return [] }
        return parallel.sentences.map(\.language).filter { $0 != parallel.referenceLanguage }
    }

    /// The parallel column that holds a corpus language: the same code, or the code with a region (`zh_CN`).
    func parityLanguage(for code: String) -> String? {
        parityLanguages.first { $0 == code } ?? parityLanguages.first { $0.hasPrefix(code + "_") }
    }

    var startedText: String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: started)
    }

    // MARK: - JSON

    /// The report as JSON, `tokc-compare` version 1 (`docs/metrics.md`). Ratios with a zero denominator are null.
    public func json() -> [UInt8] {
        func number(_ value: Double?) -> JSONValue { value.map(JSONValue.number) ?? .null }
        func text(_ value: String?) -> JSONValue { value.map(JSONValue.text) ?? .null }
        let corpus: JSONValue = .object([
            ("folder", .text(corpusFolder)),
            ("provenance", .text(corpusProvenance)),
            ("languages", .array(languages.map { language in
                .object([
                    ("code", .text(language.code)), ("path", .text(language.path)), ("training_path", text(language.trainingPath)),
                    ("lines", .integer(language.lines)), ("bytes", .integer(language.bytes)),
                    ("characters", .integer(language.characters)), ("words", .integer(language.words)),
                    ("sha256", .text(language.sha256)),
                ])
            })),
        ])
        let parallelValue: JSONValue = parallel.map { parallel in
            .object([
                ("path", .text(parallel.path)), ("rows", .integer(parallel.rows)),
                ("reference_language", .text(parallel.referenceLanguage)), ("sha256", .text(parallel.sha256)),
                ("sentences", .object(parallel.sentences.map { ($0.language, JSONValue.integer($0.count)) })),
            ])
        } ?? .null
        let document: JSONValue = .object([
            ("format", .text("tokc-compare")),
            ("version", .integer(1)),
            ("started", .text(startedText)),
            ("corpus", corpus),
            ("parallel", parallelValue),
            ("vocabularies", .array(vocabularies.map { vocabulary in
                .object([
                    ("name", .text(vocabulary.name)), ("scheme", .text(vocabulary.scheme.rawValue)),
                    ("origin", .text(vocabulary.origin)), ("source", .text(vocabulary.source)),
                    ("vocabulary_size", .integer(vocabulary.vocabularySize)),
                    ("preparation_seconds", .number(vocabulary.preparationSeconds)),
                ])
            })),
            ("measurements", .array(measurements.map { m in
                .object([
                    ("vocabulary", .text(m.vocabulary)), ("language", .text(m.language)),
                    ("lines", .integer(m.lines)), ("bytes", .integer(m.bytes)), ("characters", .integer(m.characters)),
                    ("words", .integer(m.words)), ("tokens", .integer(m.tokens)), ("split_words", .integer(m.splitWords)),
                    ("unknown_tokens", .integer(m.unknownTokens)), ("byte_fallback_tokens", .integer(m.byteFallbackTokens)),
                    ("exact_lines", .integer(m.exactLines)), ("distinct_tokens", .integer(m.distinctTokens)),
                    ("vocabulary_size", .integer(m.vocabularySize)), ("encode_seconds", .number(m.encodeSeconds)),
                    ("bytes_per_token", number(m.bytesPerToken)), ("characters_per_token", number(m.charactersPerToken)),
                    ("fertility", number(m.fertility)), ("split_word_share", number(m.splitWordShare)),
                    ("unknown_share", number(m.unknownShare)), ("byte_fallback_share", number(m.byteFallbackShare)),
                    ("round_trip_share", number(m.roundTripShare)),
                    ("vocabulary_utilisation", number(m.vocabularyUtilisation)),
                    ("encode_mb_per_second", number(m.encodeMegabytesPerSecond)),
                ])
            })),
            ("parity", .array(parity.map { p in
                .object([
                    ("vocabulary", .text(p.vocabulary)), ("language", .text(p.language)),
                    ("sentences", .integer(p.sentences)), ("mean", number(p.mean)), ("median", number(p.median)),
                    ("tokens", .integer(p.tokens)), ("reference_tokens", .integer(p.referenceTokens)),
                    ("unknown_tokens", .integer(p.unknownTokens)), ("unknown_share", number(p.unknownShare)),
                ])
            })),
        ])
        return document.serialized()
    }

    // MARK: - CSV

    /// One row per vocabulary and language (corpus languages, `all`, then parallel-only languages), the
    /// measurement's columns and the language's parity; cells that do not apply are empty. RFC 4180 quoting.
    public func csv() -> [UInt8] {
        let header = [
            "vocabulary", "scheme", "language", "lines", "bytes", "characters", "words", "tokens", "bytes_per_token",
            "characters_per_token", "fertility", "split_word_share", "unknown_share", "byte_fallback_share",
            "round_trip_share", "distinct_tokens", "vocabulary_utilisation", "encode_mb_per_second",
            "parity_language", "parity_sentences", "parity_mean", "parity_median", "parity_unknown_share",
        ]
        var rows = [header]
        func number(_ value: Double?) -> String { value.map { String($0) } ?? "" }
        for vocabulary in vocabularies {
            var covered = Set<String>()
            var codes = languages.map(\.code) + [Self.allLanguages]
            codes += parityLanguages.filter { language in !languages.contains { parityLanguage(for: $0.code) == language } }
            for code in codes {
                let m = measurement(vocabulary.name, code)
                let parityCode = m == nil ? code : parityLanguage(for: code)
                let p = parityCode.flatMap { parity(vocabulary.name, $0) }
                if let parityCode { covered.insert(parityCode) }
                var row = [vocabulary.name, vocabulary.scheme.rawValue, code]
                if let m {
                    row += [m.lines, m.bytes, m.characters, m.words, m.tokens].map(String.init)
                    row += [m.bytesPerToken, m.charactersPerToken, m.fertility, m.splitWordShare, m.unknownShare,
                            m.byteFallbackShare, m.roundTripShare].map(number)
                    row += [String(m.distinctTokens), number(m.vocabularyUtilisation), number(m.encodeMegabytesPerSecond)]
                } else {
                    row += Array(repeating: "", count: 15)
                }
                row += p.map { [$0.language, String($0.sentences), number($0.mean), number($0.median), number($0.unknownShare)] } ?? ["", "", "", "", ""]
                rows.append(row)
            }
        }
        var output: [UInt8] = []
        for row in rows {
            output += Array(row.map(Self.csvField).joined(separator: ",").utf8)
            output += [0x0D, 0x0A]
        }
        return output
    }

    static func csvField(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    // MARK: - Terminal table

    /// A table per language (every vocabulary's metrics), one for all languages, and the parity means.
    public func table() -> String {
        var out = ""
        let nameWidth = max(10, vocabularies.map(\.name.count).max() ?? 0)
        func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, width - text.count))
            return left ? text + fill : fill + text
        }
        func fixed(_ value: Double?, _ digits: Int) -> String { value.map { String(format: "%.\(digits)f", $0) } ?? "-" }
        func percent(_ value: Double?) -> String { value.map { String(format: "%.2f", 100 * $0) } ?? "-" }
        let columns = ["scheme", "tokens", "bytes/tok", "chars/tok", "tok/word", "split%", "unk%", "bytes%", "exact%", "used%", "MB/s"]
        let widths = [9, 9, 9, 9, 8, 7, 6, 7, 7, 6, 6]
        for code in languages.map(\.code) + [Self.allLanguages] {
            if let language = languages.first(where: { $0.code == code }) {
                out += "\(code): \(language.lines) lines, \(language.bytes) bytes, \(language.words) words (\(language.path))\n"
            } else {
                out += "all languages: \(languages.reduce(0) { $0 + $1.lines }) lines, \(languages.reduce(0) { $0 + $1.bytes }) bytes, \(languages.reduce(0) { $0 + $1.words }) words\n"
            }
            out += pad("vocabulary", nameWidth, left: true) + zip(columns, widths).map { " " + pad($0, $1) }.joined() + "\n"
            for vocabulary in vocabularies {
                guard let m = measurement(vocabulary.name, code) else { continue }
                let cells = [
                    vocabulary.scheme.rawValue, String(m.tokens), fixed(m.bytesPerToken, 3), fixed(m.charactersPerToken, 3),
                    fixed(m.fertility, 3), percent(m.splitWordShare), percent(m.unknownShare), percent(m.byteFallbackShare),
                    percent(m.roundTripShare), percent(m.vocabularyUtilisation), fixed(m.encodeMegabytesPerSecond, 1),
                ]
                out += pad(vocabulary.name, nameWidth, left: true) + zip(cells, widths).map { " " + pad($0, $1) }.joined() + "\n"
            }
            out += "\n"
        }
        if let parallel, !parity.isEmpty {
            let parityColumns = parityLanguages
            out += "parity: tokens for a sentence ÷ tokens for its \(parallel.referenceLanguage) original, mean over the sentences with both (\(parallel.path), \(parallel.rows) rows)\n"
            let width = max(7, parityColumns.map(\.count).max() ?? 0)
            out += pad("vocabulary", nameWidth, left: true) + parityColumns.map { " " + pad($0, width - 1) + " " }.joined() + "\n"
            var marked = false
            for vocabulary in vocabularies {
                out += pad(vocabulary.name, nameWidth, left: true)
                for language in parityColumns {
                    let entry = parity(vocabulary.name, language)
                    let unknown = (entry?.unknownShare ?? 0) > Self.notableUnknownShare
                    marked = marked || unknown
                    out += " " + pad(fixed(entry?.mean, 3) + (unknown ? "*" : " "), width)
                }
                out += "\n"
            }
            if marked { out += "* over \(Int(100 * Self.notableUnknownShare))% of the tokens are unknown: the vocabulary cannot read the language, and a whole word as one unknown token looks cheap\n" }
        }
        return out
    }
}
