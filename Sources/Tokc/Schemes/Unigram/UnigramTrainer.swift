import CICU
import Foundation

/// SentencePiece's Unigram training: texts are normalised as the model will normalise them and cut into words
/// at `▁`; the characters that cover `characterCoverage` of the text are the alphabet (the rest become byte
/// pieces); frequent substrings seed a large vocabulary; then, round after round, EM re-estimates the pieces'
/// log probabilities (forward-backward over each word's lattice; Bayesian M-step with digamma) and the pieces
/// whose removal costs the corpus least likelihood are pruned, until the vocabulary is `vocabSize`.
///
/// Where tokc differs from sentencepiece, on purpose:
/// - Seeds are found by counting substrings of the distinct words level by level (a substring of length n + 1
///   is counted only where its first n characters occur twice), weighted by word counts, rather than by an
///   enhanced suffix array over the sentences. Both score a seed by frequency × length and keep the best
///   `seedSize`.
/// - Scripts come from ICU (`uscript_getScript`), not sentencepiece's own table.
public struct UnigramTrainer: Trainer {
    public struct Options: Sendable {
        /// Pieces in the result: unknown, `<s>`, `</s>`, the 256 byte pieces (with byte fallback) and the learned ones.
        public var vocabSize: Int
        public var characterCoverage = 0.9995
        public var byteFallback = true
        public var maxPieceLength = 16
        public var seedSize = 1_000_000
        public var shrinkingFactor = 0.75
        public var subIterations = 2
        /// The normalisation written into the model and applied in training (`nmt_nfkc` by default: the rules
        /// of the shipped `unigram-multi-8k`); an empty charsmap is the identity.
        public var normalization: SentencePieceModel.Normalization
        public var batchBytes = 8 << 20

        /// The pieces every model has before any learned one: unknown, `<s>`, `</s>`, and the 256 bytes with
        /// byte fallback.
        var metaPieceCount: Int { 3 + (byteFallback ? 256 : 0) }

        public init(vocabSize: Int, normalization: SentencePieceModel.Normalization) {
            self.vocabSize = vocabSize
            self.normalization = normalization
        }
    }

    public let options: Options
    private var counter: PieceCounter

    public init(options: Options) throws(TokcError) {
        let meta = options.metaPieceCount
        guard options.vocabSize > meta else {
            throw .malformedInput(source: "--vocab-size", line: 1, expected: "more than the \(meta) meta pieces (unknown, <s>, </s>\(options.byteFallback ? ", 256 bytes" : ""))")
        }
        guard options.characterCoverage > 0 && options.characterCoverage <= 1 else {
            throw .malformedInput(source: "--character-coverage", line: 1, expected: "a share in (0, 1]")
        }
        self.options = options
        var shell = SentencePieceModel()
        shell.normalization = options.normalization
        shell.pieces = [.init(text: Array("<unk>".utf8), score: 0, type: .unknown)]
        counter = PieceCounter(
            normalizer: try SentencePieceNormalizer(model: shell, path: "normalization"),
            preTokenizer: MetaspacePreTokenizer(replacement: SentencePieceNormalizer.space), batchBytes: options.batchBytes)
    }

    public mutating func add(_ text: UnsafeBufferPointer<UInt8>) {
        counter.add(text)
    }

    /// Distinct words counted so far.
    public var distinctWords: Int { counter.counts.count }

    static let space: UInt32 = 0x2581
    /// What a character outside the alphabet becomes in training (sentencepiece's kUNKChar).
    static let unknownCharacter: UInt32 = 0x2585

    public mutating func train(progress: (TrainingProgress) -> Void) throws(TokcError) -> TrainedUnigram {
        counter.countPending()
        let counted = counter.counts.sorted()
        var words: [[UInt32]] = counted.map { UTF8Scan.scalarValues(of: $0.piece) }
        let counts: [Int] = counted.map(\.count)

        // The alphabet: the most frequent characters up to the coverage; the others become the unknown character.
        var characterCounts: [UInt32: Int] = [:]
        for (word, count) in zip(words, counts) {
            for scalar in word { characterCounts[scalar, default: 0] += count }
        }
        let byFrequency = characterCounts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
        let total = byFrequency.reduce(0) { $0 + $1.value }
        var required: [(scalar: UInt32, count: Int)] = []
        var covered = 0
        for (scalar, count) in byFrequency {
            if Double(covered) / Double(max(1, total)) >= options.characterCoverage { break }
            required.append((scalar, count))
            covered += count
        }
        // Every required character is kept as a piece, so they must fit: otherwise pruning could never reach
        // the size (a 300-piece model of English and Japanese text, 557 characters, looped forever).
        let meta = options.metaPieceCount
        guard required.count + meta <= options.vocabSize else {
            throw .malformedInput(source: "--vocab-size", line: 1, expected: "at least \(required.count + meta): the text has \(required.count) characters within --character-coverage \(options.characterCoverage), each a piece, plus \(meta) meta pieces; or a lower --character-coverage")
        }
        let alphabet = Set(required.map(\.scalar))
        for index in words.indices where words[index].contains(where: { !alphabet.contains($0) }) {
            words[index] = words[index].map { alphabet.contains($0) ? $0 : Self.unknownCharacter }
        }

        progress(TrainingProgress(phase: "seeds", done: 0, total: 1))
        var pieces = seeds(words: words, counts: counts, required: required)
        let wordBytes = words.map { UTF8Scan.encode(scalarValues: $0) }
        let desired = Int(Double(options.vocabSize) * 1.1)
        var round = 0
        while true {
            for _ in 0..<options.subIterations {
                let expected = Lattices(pieces: pieces).expectedCounts(words: wordBytes, counts: counts)
                pieces = Self.maximize(pieces, expected: expected)
            }
            round += 1
            progress(TrainingProgress(phase: "EM and pruning", done: round, total: round + 1))
            if pieces.count <= desired { break }
            let before = pieces.count
            pieces = prune(pieces, words: wordBytes, counts: counts, desired: desired)
            // Pruning keeps what no other piece can stand for; when nothing more can go, stop (finalize cuts
            // to the size by score).
            if pieces.count >= before { break }
        }
        return TrainedUnigram(model: finalize(pieces, required: required), options: options)
    }

    // MARK: - Seeds

    /// Validity of a piece as sentencepiece defines it (`IsValidSentencePiece`), checked a character at a time:
    /// `▁` only first, no unknown character, one script (kana count as Han; combining marks take the script
    /// before them; digits are their own script, Common).
    /// Only the script is kept (4 bytes: a position of the seed search is 16); the length is the caller's.
    private struct PieceShape {
        static let any: Int32 = -2
        var script: Int32 = any

        /// Whether the piece of `length` characters so far stays valid with `scalar` after it.
        mutating func extend(with scalar: UInt32, length: Int, maxLength: Int) -> Bool {
            guard length < maxLength, scalar != UnigramTrainer.unknownCharacter, scalar != 0, scalar != 0x20 else { return false }
            if scalar == UnigramTrainer.space { return length == 0 }
            var script = tokc_icu_script(scalar)
            if script == 20 || script == 22 || scalar == 0x30FC { script = 17 }  // Hiragana, Katakana → Han
            else if script == 1 { script = self.script }  // Inherited
            if self.script != Self.any && script != Self.any && self.script != script { return false }
            self.script = script
            return true
        }
    }

    /// Every required character (weighted count) and the best `seedSize` substrings of two characters or more
    /// seen at least twice, by frequency × length; as log probabilities.
    private func seeds(words: [[UInt32]], counts: [Int], required: [(scalar: UInt32, count: Int)]) -> [(piece: [UInt32], score: Double)] {
        struct Position {
            var word: Int32
            var start: Int32
            var id: Int32
            var shape: PieceShape
        }
        var positions: [Position] = []
        for (index, word) in words.enumerated() {
            for start in word.indices {
                var shape = PieceShape()
                if shape.extend(with: word[start], length: 0, maxLength: options.maxPieceLength) {
                    positions.append(Position(word: Int32(index), start: Int32(start), id: Int32(bitPattern: word[start]), shape: shape))
                }
            }
        }
        var found: [(word: Int32, start: Int32, length: Int32, score: Int)] = []
        var length = 1
        while !positions.isEmpty && length < options.maxPieceLength {
            // Extend every live position by one character, in place (the positions are the biggest thing
            // training holds: one per character of the distinct words); ids of the longer substrings by (id,
            // character).
            var ids: [UInt64: Int32] = [:]
            var frequency: [Int] = []
            var exemplar: [Int32] = []
            var kept = 0
            for index in positions.indices {
                var position = positions[index]
                let word = words[Int(position.word)]
                let end = Int(position.start) + length
                guard end < word.count, position.shape.extend(with: word[end], length: length, maxLength: options.maxPieceLength) else { continue }
                let key = UInt64(UInt32(bitPattern: position.id)) << 32 | UInt64(word[end])
                if let known = ids[key] {
                    position.id = known
                } else {
                    position.id = Int32(frequency.count)
                    ids[key] = position.id
                    frequency.append(0)
                    exemplar.append(Int32(kept))
                }
                frequency[Int(position.id)] += counts[Int(position.word)]
                positions[kept] = position
                kept += 1
            }
            positions.removeLast(positions.count - kept)
            length += 1
            for (id, count) in frequency.enumerated() where count >= 2 {
                let at = positions[Int(exemplar[id])]
                found.append((at.word, at.start, Int32(length), count * length))
            }
            positions.removeAll { frequency[Int($0.id)] < 2 }
        }
        found.sort { $0.score != $1.score ? $0.score > $1.score : ($0.word, $0.start, $0.length) < ($1.word, $1.start, $1.length) }
        var result: [(piece: [UInt32], score: Double)] = required.sorted { ($0.count, $1.scalar) > ($1.count, $0.scalar) }.map { ([$0.scalar], Double($0.count)) }
        for seed in found.prefix(options.seedSize) {
            let word = words[Int(seed.word)]
            result.append((Array(word[Int(seed.start)..<Int(seed.start + seed.length)]), Double(seed.score)))
        }
        let logTotal = log(result.reduce(0) { $0 + $1.score })
        return result.map { ($0.piece, log($0.score) - logTotal) }
    }

    // MARK: - EM

    /// The current pieces in a trie over their UTF-8, for building each word's lattice.
    private struct Lattices {
        let trie: ByteTrie
        let scores: [Double]
        let unknownScore: Double

        init(pieces: [(piece: [UInt32], score: Double)]) {
            trie = ByteTrie(pieces.enumerated().map { (UTF8Scan.encode(scalarValues: $1.piece), TokenID($0)) })
            scores = pieces.map(\.score)
            unknownScore = (scores.min() ?? 0) - 10
        }

        /// Calls `body(start, end, id)` for every edge of the word's lattice over its UTF-8 (`id` -1 for an
        /// unknown character, which a character no single piece covers becomes).
        func forEachEdge(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (Int, Int, Int) -> Void) {
            var start = 0
            while start < bytes.count {
                let length = UnigramEncoder.characterLength(bytes[start])
                var covered = false
                trie.forEachPrefix(of: bytes, from: start) { end, id in
                    if end - start == length { covered = true }
                    body(start, end, Int(id))
                }
                if !covered { body(start, min(bytes.count, start + length), -1) }
                start += length
            }
        }

        func score(_ id: Int) -> Double { id < 0 ? unknownScore : scores[id] }

        /// The expected count of every piece over all words (forward-backward), on every core.
        func expectedCounts(words: [[UInt8]], counts: [Int]) -> [Double] {
            PerPieceSums.sum(pieces: scores.count, words: words.count) { indices, expected in
                var edges: [(start: Int32, end: Int32, id: Int32)] = []
                var alpha: [Double] = []
                var beta: [Double] = []
                for index in indices {
                    edges.removeAll(keepingCapacity: true)
                    words[index].withUnsafeBufferPointer { buffer in
                        forEachEdge(buffer) { edges.append((Int32($0), Int32($1), Int32($2))) }
                    }
                    let size = words[index].count
                    alpha.removeAll(keepingCapacity: true)
                    alpha.append(contentsOf: repeatElement(-.infinity, count: size + 1))
                    beta.removeAll(keepingCapacity: true)
                    beta.append(contentsOf: repeatElement(-.infinity, count: size + 1))
                    alpha[0] = 0
                    for edge in edges {  // in order of start: forward
                        alpha[Int(edge.end)] = logAdd(alpha[Int(edge.end)], alpha[Int(edge.start)] + score(Int(edge.id)))
                    }
                    beta[size] = 0
                    for edge in edges.reversed() {  // ends are after starts: backward
                        beta[Int(edge.start)] = logAdd(beta[Int(edge.start)], beta[Int(edge.end)] + score(Int(edge.id)))
                    }
                    let z = alpha[size]
                    guard z > -.infinity else { continue }
                    let count = Double(counts[index])
                    for edge in edges where edge.id >= 0 {
                        expected[Int(edge.id)] += count * exp(alpha[Int(edge.start)] + score(Int(edge.id)) + beta[Int(edge.end)] - z)
                    }
                }
            }
        }

        /// The best segmentation of `bytes`; `excluding` a piece id that may not be used. Nil when none exists.
        func viterbi(
            _ bytes: UnsafeBufferPointer<UInt8>, excluding: Int = -2, scratch best: inout [(score: Double, start: Int, id: Int)]
        ) -> [Int]? {
            let size = bytes.count
            best.removeAll(keepingCapacity: true)
            best.append(contentsOf: repeatElement((score: -Double.infinity, start: -1, id: -1), count: size + 1))
            best[0] = (0, 0, -1)
            forEachEdge(bytes) { start, end, id in
                guard id != excluding, best[start].score > -.infinity else { return }
                let candidate = best[start].score + score(id)
                if best[end].start < 0 || candidate > best[end].score { best[end] = (candidate, start, id) }
            }
            guard best[size].start >= 0 || size == 0 else { return nil }
            var path: [Int] = []
            var end = size
            while end > 0 {
                path.append(best[end].id)
                end = best[end].start
            }
            return path.reversed()
        }
    }

    /// Bayesian M-step: pieces expected less than half a time go; the others score digamma(count) −
    /// digamma(total).
    private static func maximize(_ pieces: [(piece: [UInt32], score: Double)], expected: [Double]) -> [(piece: [UInt32], score: Double)] {
        var kept: [(piece: [UInt32], score: Double)] = []
        var sum = 0.0
        for (index, piece) in pieces.enumerated() where expected[index] >= 0.5 {
            kept.append((piece.piece, expected[index]))
            sum += expected[index]
        }
        let logSum = digamma(sum)
        return kept.map { ($0.piece, digamma($0.score) - logSum) }
    }

    // MARK: - Pruning

    /// Keeps the pieces whose removal would cost the most likelihood, down to max(desired, shrinking × size):
    /// a piece's loss compares its own probability with that of the best segmentation without it.
    private func prune(_ pieces: [(piece: [UInt32], score: Double)], words: [[UInt8]], counts: [Int], desired: Int) -> [(piece: [UInt32], score: Double)] {
        let lattices = Lattices(pieces: pieces)
        var scratch: [(score: Double, start: Int, id: Int)] = []
        var alwaysKeep = [Bool](repeating: true, count: pieces.count)
        var alternatives = [[Int]](repeating: [], count: pieces.count)
        for (index, piece) in pieces.enumerated() where piece.piece.count > 1 {
            let bytes = UTF8Scan.encode(scalarValues: piece.piece)
            bytes.withUnsafeBufferPointer { buffer in
                guard let best = lattices.viterbi(buffer, scratch: &scratch) else { return }
                if best.count >= 2 {
                    alwaysKeep[index] = false  // not even its own text takes it
                } else if let second = lattices.viterbi(buffer, excluding: index, scratch: &scratch) {
                    alternatives[index] = second
                }
            }
        }
        // Viterbi counts over the corpus.
        let frequency = PerPieceSums.sum(pieces: pieces.count, words: words.count) { indices, frequency in
            var scratch: [(score: Double, start: Int, id: Int)] = []
            for index in indices {
                guard let path = words[index].withUnsafeBufferPointer({ lattices.viterbi($0, scratch: &scratch) }) else { continue }
                for id in path where id >= 0 { frequency[id] += Double(counts[index]) }
            }
        }
        let totalWords = Double(counts.reduce(0, +))
        let sum = frequency.reduce(0, +)
        let logSum = log(sum)
        var kept: [(piece: [UInt32], score: Double)] = []
        var candidates: [(index: Int, loss: Double)] = []
        for index in pieces.indices {
            guard frequency[index] > 0, alwaysKeep[index] else { continue }
            if alternatives[index].isEmpty {
                kept.append(pieces[index])
                continue
            }
            let share = frequency[index] / totalWords
            let logProbability = log(frequency[index]) - logSum
            let logSumWithout = log(sum + frequency[index] * Double(alternatives[index].count - 1))
            var logProbabilityWithout = 0.0
            for alternative in alternatives[index] where alternative >= 0 {
                logProbabilityWithout += log(frequency[alternative] + frequency[index]) - logSumWithout
            }
            candidates.append((index, share * (logProbability - logProbabilityWithout)))
        }
        let target = max(desired, Int(options.shrinkingFactor * Double(pieces.count)))
        candidates.sort { $0.loss != $1.loss ? $0.loss > $1.loss : $0.index < $1.index }
        for candidate in candidates where kept.count < target {
            kept.append(pieces[candidate.index])
        }
        return kept
    }

    // MARK: - The model

    /// Unknown, `<s>`, `</s>`, the byte pieces, then every required character and the best-scoring pieces up to
    /// the vocabulary size, by score.
    private func finalize(_ pieces: [(piece: [UInt32], score: Double)], required: [(scalar: UInt32, count: Int)]) -> SentencePieceModel {
        var model = SentencePieceModel()
        model.normalization = options.normalization
        model.byteFallback = options.byteFallback
        model.vocabularySize = options.vocabSize
        model.pieces = [
            .init(text: Array("<unk>".utf8), score: 0, type: .unknown),
            .init(text: Array("<s>".utf8), score: 0, type: .control),
            .init(text: Array("</s>".utf8), score: 0, type: .control),
        ]
        if options.byteFallback {
            for byte in 0...255 {
                model.pieces.append(.init(text: ByteFallback.token(of: UInt8(byte)), score: 0, type: .byte))
            }
        }
        let scores = Dictionary(pieces.map { ($0.piece, $0.score) }, uniquingKeysWith: { first, _ in first })
        let lowest = pieces.map(\.score).min() ?? 0
        var chosen: [[UInt32]: Double] = [:]
        var penalty = 0.0
        for (scalar, _) in required.sorted(by: { ($0.count, $1.scalar) > ($1.count, $0.scalar) }) {
            if let score = scores[[scalar]] {
                chosen[[scalar]] = score
            } else {
                chosen[[scalar]] = lowest + penalty
                penalty += 0.0001
            }
        }
        let room = options.vocabSize - model.pieces.count
        for piece in pieces.sorted(by: { $0.score != $1.score ? $0.score > $1.score : $0.piece.lexicographicallyPrecedes($1.piece) }) {
            guard chosen.count < room else { break }
            if chosen[piece.piece] == nil { chosen[piece.piece] = piece.score }
        }
        for (piece, score) in chosen.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key.lexicographicallyPrecedes($1.key) }) {
            model.pieces.append(.init(text: UTF8Scan.encode(scalarValues: piece), score: Float(score), type: .normal))
        }
        return model
    }
}

/// log(e^a + e^b) without overflow.
@inline(__always) private func logAdd(_ a: Double, _ b: Double) -> Double {
    if a == -.infinity { return b }
    if b == -.infinity { return a }
    return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b))
}

/// The digamma function ψ(x) for x > 0: the recurrence up to 6, then the asymptotic series.
private func digamma(_ x: Double) -> Double {
    var x = x
    var result = 0.0
    while x < 6 {
        result -= 1 / x
        x += 1
    }
    let f = 1 / (x * x)
    let series = f * (-1.0 / 12 + f * (1.0 / 120 + f * (-1.0 / 252 + f * (1.0 / 240 + f * (-1.0 / 132)))))
    return result + log(x) - 0.5 / x + series
}

/// A trained Unigram model.
public struct TrainedUnigram: TrainedModel, Sendable {
    public let model: SentencePieceModel
    public let options: UnigramTrainer.Options

    public func tokenizer(name: String) throws(TokcError) -> Tokenizer {
        try SentencePieceFormat.tokenizer(model, name: name, path: name)
    }

    /// `sentencepiece` (`.model`), which Python's sentencepiece loads, or `tokenizer.json` (Hugging Face).
    public func serialize(format: String) throws(TokcError) -> [UInt8] {
        switch format {
        case "sentencepiece": return model.serialized()
        case "tokenizer.json": return try TokenizerJSONFormat.serialize(unigram: model)
        default: throw .malformedInput(source: "--format", line: 1, expected: "sentencepiece (a .model file) or tokenizer.json")
        }
    }
}
