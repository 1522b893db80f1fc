import Foundation

/// Lines up vocabularies on the same multilingual text: per vocabulary and language, how many tokens the text
/// costs, how words are cut, what is lost, and how each language's cost compares with English on the same
/// sentences (tokenization parity). `tokc compare` is this, printed; every metric is defined in
/// `docs/metrics.md`.
///
/// ```swift
/// var options = Comparison.Options(corpus: try EvaluationCorpus(folder: "Corpus/split"))
/// options.candidates = [.named("o200k_base"), .trained(.unigram, vocabSize: 8000)]
/// options.parallel = try ParallelCorpus(path: "Corpus/parallel.tsv")
/// let report = try Comparison(options: options).run()
/// print(String(decoding: report.json(), as: UTF8.self))
/// ```
public struct Comparison: Sendable {
    /// A vocabulary to compare.
    public enum Candidate: Sendable {
        /// By name (shipped or on `TOKC_VOCAB_PATH`) or file path, through the standard registry.
        case named(String)
        /// A tokenizer built by the caller; `origin` says where it comes from in the report.
        case tokenizer(Tokenizer, origin: String)
        /// Trained for the comparison on the corpus's training text, with `tokc train`'s defaults for the scheme.
        case trained(Scheme, vocabSize: Int)
    }

    public struct Options: Sendable {
        public var candidates: [Candidate]
        public var corpus: EvaluationCorpus
        /// Sentences in several languages for parity; nil for none.
        public var parallel: ParallelCorpus?
        /// The parallel column every other language is divided by.
        public var referenceLanguage = "en"

        public init(corpus: EvaluationCorpus, candidates: [Candidate] = [], parallel: ParallelCorpus? = nil) {
            self.corpus = corpus
            self.candidates = candidates
            self.parallel = parallel
        }

        /// The shipped vocabularies, in manifest order.
        public static func shippedCandidates(registry: VocabularyRegistry = .standard) throws(TokcError) -> [Candidate] {
            try registry.vocabularies().map { .named($0.entry.name) }
        }
    }

    public struct Progress: Sendable {
        /// What is being done: "training unigram", "o200k_base: ja", "o200k_base: parity".
        public let step: String
        public let done: Int
        public let total: Int
    }

    public let options: Options

    public init(options: Options) {
        self.options = options
    }

    /// Prepares every candidate (loading or training it), then measures each on every language and the
    /// parallel sentences, one vocabulary after another so that encoding speeds are not measured side by side.
    public func run(progress: (Progress) -> Void = { _ in }) throws(TokcError) -> ComparisonReport {
        let started = Date()
        guard !options.candidates.isEmpty else {
            throw .malformedInput(source: "comparison", line: 0, expected: "at least one vocabulary to compare")
        }
        var languages: [ComparisonReport.Language] = []
        var texts: [SegmentedText] = []
        for language in options.corpus.languages {
            let text = SegmentedText(try FileIO.readAll(language.path), locale: language.code)
            texts.append(text)
            languages.append(ComparisonReport.Language(
                code: language.code, path: language.path, trainingPath: language.trainingPath, lines: text.lines.count,
                bytes: text.lineBytes, characters: text.characters, words: text.wordCount,
                sha256: VocabularyRegistry.sha256(text.bytes)))
        }
        var parity: ComparisonReport.ParallelText?
        var parityLanguages: [Int] = []
        var referenceColumn = 0
        if let parallel = options.parallel {
            guard let reference = parallel.languages.firstIndex(of: options.referenceLanguage) else {
                throw .malformedFile(path: parallel.path, line: 1, expected: "a column for the reference language \(options.referenceLanguage)")
            }
            referenceColumn = reference
            parityLanguages = parallel.languages.indices.filter { $0 != reference }
            parity = ComparisonReport.ParallelText(
                path: parallel.path, rows: parallel.rowCount, referenceLanguage: options.referenceLanguage,
                sentences: parallel.languages.indices.map { (parallel.languages[$0], parallel.rowsPresent(language: $0)) },
                sha256: parallel.sha256)
        }

        var vocabularies: [ComparisonReport.Vocabulary] = []
        var measurements: [ComparisonReport.Measurement] = []
        var parities: [ComparisonReport.Parity] = []
        for (index, candidate) in options.candidates.enumerated() {
            let (tokenizer, vocabulary) = try prepare(candidate, index: index, count: options.candidates.count, progress: progress)
            vocabularies.append(vocabulary)
            let classes = TokenClasses(tokenizer)
            var all = TextTally(vocabularySize: classes.flags.count)
            for (languageIndex, language) in options.corpus.languages.enumerated() {
                progress(Progress(step: "\(vocabulary.name): \(language.code)", done: index, total: options.candidates.count))
                var tally = TextTally(vocabularySize: classes.flags.count)
                tally.measure(texts[languageIndex], tokenizer: tokenizer, classes: classes)
                all.add(tally)
                measurements.append(ComparisonReport.Measurement(vocabulary: vocabulary.name, language: language.code, tally: tally))
            }
            measurements.append(ComparisonReport.Measurement(vocabulary: vocabulary.name, language: ComparisonReport.allLanguages, tally: all))
            if let parallel = options.parallel {
                progress(Progress(step: "\(vocabulary.name): parity", done: index, total: options.candidates.count))
                parities += Self.parity(
                    of: tokenizer, named: vocabulary.name, on: parallel, reference: referenceColumn, languages: parityLanguages,
                    classes: classes)
            }
        }
        progress(Progress(step: "done", done: options.candidates.count, total: options.candidates.count))
        return ComparisonReport(
            started: started, corpusFolder: options.corpus.folder, corpusProvenance: options.corpus.provenance,
            languages: languages, parallel: parity, vocabularies: vocabularies, measurements: measurements, parity: parities)
    }

    // MARK: - Candidates

    private func prepare(
        _ candidate: Candidate, index: Int, count: Int, progress: (Progress) -> Void
    ) throws(TokcError) -> (Tokenizer, ComparisonReport.Vocabulary) {
        let clock = ContinuousClock()
        let start = clock.now
        switch candidate {
        case .named(let nameOrPath):
            progress(Progress(step: "loading \(nameOrPath)", done: index, total: count))
            let registry = VocabularyRegistry.standard
            let tokenizer = try registry.load(nameOrPath)
            let entry = try registry.vocabularies().first { $0.entry.name == nameOrPath }?.entry
            return (tokenizer, ComparisonReport.Vocabulary(
                name: entry == nil ? (nameOrPath as NSString).lastPathComponent : nameOrPath,
                scheme: Scheme.of(tokenizer.encoder), origin: entry == nil ? "file" : "shipped",
                source: entry?.source ?? nameOrPath, vocabularySize: tokenizer.vocabularySize,
                preparationSeconds: Self.seconds(clock.now - start)))
        case .tokenizer(let tokenizer, let origin):
            return (tokenizer, ComparisonReport.Vocabulary(
                name: tokenizer.name, scheme: Scheme.of(tokenizer.encoder), origin: "caller", source: origin,
                vocabularySize: tokenizer.vocabularySize, preparationSeconds: 0))
        case .trained(let scheme, let vocabSize):
            let files = options.corpus.languages.compactMap(\.trainingPath)
            guard !files.isEmpty else {
                throw .unreadableFile(path: options.corpus.folder, reason: "has no <lang>.train.txt files to train \(scheme.rawValue) on")
            }
            let name = "tokc-\(scheme.rawValue)-\(vocabSize)"
            let tokenizer = try scheme.train(vocabSize: vocabSize, files: files, name: name) { step in
                progress(Progress(step: "training \(name): \(step.phase) \(step.done)/\(step.total)", done: index, total: count))
            }
            return (tokenizer, ComparisonReport.Vocabulary(
                name: name, scheme: scheme, origin: "trained",
                source: "tokc train --scheme \(scheme.rawValue) --vocab-size \(vocabSize) on \(files.map { ($0 as NSString).lastPathComponent }.joined(separator: " "))",
                vocabularySize: tokenizer.vocabularySize, preparationSeconds: Self.seconds(clock.now - start)))
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    // MARK: - Parity

    /// Tokens of each language's sentence ÷ tokens of the reference sentence, over the rows that have both.
    static func parity(
        of tokenizer: Tokenizer, named name: String, on parallel: ParallelCorpus, reference: Int, languages: [Int],
        classes: TokenClasses
    ) -> [ComparisonReport.Parity] {
        let referenceTokens = (0..<parallel.rowCount).map { row in
            parallel.withText(row: row, language: reference) { text in text.map { tokenizer.count($0) } ?? 0 }
        }
        var sink = IDSink()
        return languages.map { language in
            var ratios: [Double] = []
            var (tokens, baseline, unknown) = (0, 0, 0)
            for row in 0..<parallel.rowCount where referenceTokens[row] > 0 {
                let present = parallel.withText(row: row, language: language) { text -> Bool in
                    guard let text else { return false }
                    sink.removeAll()
                    tokenizer.encode(text, into: &sink)
                    return true
                }
                guard present else { continue }
                ratios.append(Double(sink.ids.count) / Double(referenceTokens[row]))
                tokens += sink.ids.count
                baseline += referenceTokens[row]
                unknown += sink.ids.count { Int($0) < classes.flags.count && classes.flags[Int($0)] & TokenClasses.unknown != 0 }
            }
            return ComparisonReport.Parity(
                vocabulary: name, language: parallel.languages[language], sentences: ratios.count,
                mean: ratios.isEmpty ? nil : ratios.reduce(0, +) / Double(ratios.count), median: median(&ratios),
                tokens: tokens, referenceTokens: baseline, unknownTokens: unknown)
        }
    }

    /// The median (the mean of the middle two for an even count); nil for none.
    static func median(_ values: inout [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        values.sort()
        let middle = values.count / 2
        return values.count % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2
    }
}

/// What each token id is, for the rates: the unknown token, a byte standing in for (part of) a character, a
/// token of nothing but spaces (or `▁`), or an ordinary token. Flags, as a blank token may also be a byte.
struct TokenClasses {
    static let unknown: UInt8 = 1
    static let byteFallback: UInt8 = 2
    static let blank: UInt8 = 4
    /// By id, over the vocabulary's whole id range (special tokens are ordinary).
    let flags: [UInt8]

    init(_ tokenizer: Tokenizer) {
        let encoder = tokenizer.encoder
        var flags = [UInt8](repeating: 0, count: tokenizer.vocabularySize)
        var bytes: [UInt8] = []
        for id in 0..<encoder.idLimit {
            bytes.removeAll(keepingCapacity: true)
            guard encoder.appendBytes(of: TokenID(id), to: &bytes), !bytes.isEmpty else { continue }
            // A byte-level token that is not whole characters carries part of one: the byte-level form of fallback.
            if bytes.withUnsafeBufferPointer({ UTF8Scan.wellFormedEnd(in: $0, from: 0) != $0.count }) {
                flags[id] |= Self.byteFallback
            }
            if Self.isBlank(bytes) { flags[id] |= Self.blank }
        }
        for id in encoder.byteFallbackIDs where Int(id) < flags.count { flags[Int(id)] |= Self.byteFallback }
        if let unknown = encoder.unknownID, Int(unknown) < flags.count { flags[Int(unknown)] = Self.unknown }
        self.flags = flags
    }

    /// Spaces, tabs, line breaks and SentencePiece's `▁` (U+2581) only.
    static func isBlank(_ bytes: [UInt8]) -> Bool {
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            case 0xE2 where index + 2 < bytes.count && bytes[index + 1] == 0x96 && bytes[index + 2] == 0x81: index += 3
            default: return false
            }
        }
        return true
    }
}

/// The counts behind a measurement of one vocabulary on one language's lines; ratios are computed from them.
struct TextTally: Sendable {
    var lines = 0
    var bytes = 0
    var characters = 0
    var words = 0
    var tokens = 0
    var splitWords = 0
    var unknownTokens = 0
    var byteFallbackTokens = 0
    var exactLines = 0
    var encodeSeconds = 0.0
    /// One bit per id the text used.
    var used: [UInt64]
    let vocabularySize: Int

    init(vocabularySize: Int) {
        self.vocabularySize = vocabularySize
        used = [UInt64](repeating: 0, count: (vocabularySize + 63) / 64)
    }

    var distinctTokens: Int { used.reduce(0) { $0 + $1.nonzeroBitCount } }

    mutating func add(_ other: TextTally) {
        lines += other.lines
        bytes += other.bytes
        characters += other.characters
        words += other.words
        tokens += other.tokens
        splitWords += other.splitWords
        unknownTokens += other.unknownTokens
        byteFallbackTokens += other.byteFallbackTokens
        exactLines += other.exactLines
        encodeSeconds += other.encodeSeconds
        for index in used.indices { used[index] |= other.used[index] }
    }

    /// Measures every line of `text`, each encoded on its own (its newline is the file's, not the text's).
    mutating func measure(_ text: SegmentedText, tokenizer: Tokenizer, classes: TokenClasses) {
        lines = text.lines.count
        bytes = text.lineBytes
        characters = text.characters
        words = text.wordCount
        var sink = IDSink()
        let clock = ContinuousClock()
        var encoding = Duration.zero
        text.bytes.withUnsafeBufferPointer { all in
            for (lineRange, lineWords) in zip(text.lines, text.words) {
                let line = UnsafeBufferPointer(rebasing: all[lineRange])
                sink.removeAll()
                let start = clock.now
                tokenizer.encode(line, into: &sink)
                encoding += clock.now - start
                tokens += sink.ids.count
                for id in sink.ids {
                    let index = Int(id)
                    if index < classes.flags.count {
                        used[index >> 6] |= 1 << UInt64(index & 63)
                        let flags = classes.flags[index]
                        if flags & TokenClasses.unknown != 0 { unknownTokens += 1 }
                        if flags & TokenClasses.byteFallback != 0 { byteFallbackTokens += 1 }
                    }
                }
                if let decoded = try? tokenizer.decode(sink.ids), decoded.elementsEqual(line) { exactLines += 1 }
                // A word is split when no form of it is one token: alone, with the space before it (GPT-style
                // vocabularies hold ` word`) or with the space after it (ungreedy ones hold `word `), as the text
                // has them. Tokens of only spaces or `▁` (the space itself, SentencePiece's dummy prefix) hold
                // none of it.
                for word in lineWords {
                    let before = word.lowerBound > lineRange.lowerBound && all[word.lowerBound - 1] == 0x20
                    let after = word.upperBound < lineRange.upperBound && all[word.upperBound] == 0x20
                    let forms = [word] + (before ? [(word.lowerBound - 1)..<word.upperBound] : [])
                        + (after ? [word.lowerBound..<(word.upperBound + 1)] : [])
                    let whole = forms.contains { form in
                        sink.removeAll()
                        tokenizer.encode(UnsafeBufferPointer(rebasing: all[form]), into: &sink)
                        return sink.ids.count { Int($0) >= classes.flags.count || classes.flags[Int($0)] & TokenClasses.blank == 0 } <= 1
                    }
                    if !whole { splitWords += 1 }
                }
            }
        }
        encodeSeconds = Comparison.seconds(encoding)
    }
}

/// One language's text, split once and shared by every vocabulary's measurement: its non-empty lines (without
/// their `\n` or `\r\n`) and, in each, the words ICU finds for the language's locale, as byte ranges of `bytes`.
struct SegmentedText {
    let bytes: [UInt8]
    let lines: [Range<Int>]
    /// Per line, its words.
    let words: [[Range<Int>]]
    /// Bytes and characters of the lines (line breaks not counted).
    let lineBytes: Int
    let characters: Int
    var wordCount: Int { words.reduce(0) { $0 + $1.count } }

    init(_ bytes: [UInt8], locale: String) {
        var lines: [Range<Int>] = []
        var words: [[Range<Int>]] = []
        var (lineBytes, characters) = (0, 0)
        bytes.withUnsafeBufferPointer { all in
            var start = 0
            while start < all.count {
                var end = all[start...].firstIndex(of: UInt8(ascii: "\n")) ?? all.count
                let next = end + 1
                if end > start && all[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                if end > start {
                    let line = UnsafeBufferPointer(rebasing: all[start..<end])
                    lines.append(start..<end)
                    lineBytes += line.count
                    characters += UTF8Scan.characterCount(in: line)
                    var found: [Range<Int>] = []
                    ICUBreaks.forEachWord(locale: locale, in: line) { found.append((start + $0.lowerBound)..<(start + $0.upperBound)) }
                    words.append(found)
                }
                start = next
            }
        }
        (self.bytes, self.lines, self.words, self.lineBytes, self.characters) = (bytes, lines, words, lineBytes, characters)
    }
}
