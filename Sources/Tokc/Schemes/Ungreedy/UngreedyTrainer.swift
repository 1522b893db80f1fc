import Foundation

/// Trains an ungreedy vocabulary by distillation, as TokenMonster does in spirit: a large set of candidate
/// tokens is cut down, round after round, by how much each one actually saves when the sample is encoded.
///
/// 1. **Sample**: the training lines (capitalisation-marked with `capcode`, each with its `\n`), up to
///    `sampleBytes`; beyond that, a uniform sample of lines (reservoir sampling with `seed`).
/// 2. **Candidates**: every substring of the sample of 2 to `maxTokenBytes` bytes (one character or more) that
///    starts and ends on a character boundary and occurs at least `minCount` times, counted level by level (a substring one
///    character longer is counted only where its prefix was frequent). They may span spaces and words
///    (`of the`, `, and`) but not a line break in the middle. The best `candidates` (2,000,000) by count × (length − 1)
///    bytes, the bytes they would save, are kept.
/// 3. **Distillation**: the sample is encoded with the current vocabulary (`UngreedyEncoder`, on every core);
///    a token's loss is how many more tokens the sample would need without it: its uses × (the fewest other
///    tokens that spell it − 1). The least useful tokens go (a tenth of the vocabulary per round, less near the
///    end), and the sample is encoded again, until `vocabSize` is reached. Past `timeBudget`, the rest goes in
///    one round.
///
/// Deterministic: the same lines, options and seed give the same vocabulary, byte for byte.
public struct UngreedyTrainer: Trainer {
    public struct Options: Sendable {
        /// Tokens in the result, the 256 single bytes included.
        public var vocabSize: Int
        public var capcode = true
        public var maxTokenBytes = 32
        public var minCount = 4
        public var candidates = 2_000_000
        public var sampleBytes = 64 << 20
        public var seed: UInt64 = 0
        /// Seconds of distillation after which the remaining excess is removed at once; nil for none.
        public var timeBudget: Double? = nil

        public init(vocabSize: Int) {
            self.vocabSize = vocabSize
        }
    }

    public let options: Options
    private var sample: [UInt8] = []
    private var lineEnds: [Int] = []
    private var lines: [[UInt8]] = []  // only once the sample is full: sampled lines
    private var seen = 0
    private var random: SplitMix64

    public init(options: Options) throws(TokcError) {
        guard options.vocabSize > 256 else {
            throw .malformedInput(source: "--vocab-size", line: 1, expected: "more than the 256 single-byte tokens")
        }
        guard options.maxTokenBytes >= 2, options.minCount >= 2 else {
            throw .malformedInput(source: "--max-token-bytes", line: 1, expected: "2 bytes or more (and a minimum count of 2 or more)")
        }
        self.options = options
        random = SplitMix64(seed: options.seed)
    }

    public mutating func add(_ text: UnsafeBufferPointer<UInt8>) {
        var line = options.capcode ? Capcode().normalize(text) ?? Array(text) : Array(text)
        line.append(0x0A)
        seen += 1
        if lines.isEmpty && sample.count + line.count <= options.sampleBytes {
            sample += line
            lineEnds.append(sample.count)
            return
        }
        if lines.isEmpty { lines = splitSample() }
        // Reservoir sampling: line `seen` replaces a random kept line with probability kept / seen.
        let slot = Int(random.next() % UInt64(seen))
        if slot < lines.count { lines[slot] = line }
    }

    private mutating func splitSample() -> [[UInt8]] {
        var result: [[UInt8]] = []
        var start = 0
        for end in lineEnds {
            result.append(Array(sample[start..<end]))
            start = end
        }
        sample = []
        lineEnds = []
        return result
    }

    public mutating func train(progress: (TrainingProgress) -> Void) throws(TokcError) -> TrainedUngreedy {
        if !lines.isEmpty {
            sample = lines.joined().map { $0 }
            var end = 0
            lineEnds = lines.map { end += $0.count; return end }
            lines = []
        }
        let clock = ContinuousClock()
        let started = clock.now
        progress(TrainingProgress(phase: "candidates", done: 0, total: 1))
        var vocabulary = candidates()
        let target = options.vocabSize - 256
        let initial = vocabulary.count
        var round = 0
        while vocabulary.count > target {
            // Candidates are distinct and of two bytes or more, so the encoder always assembles.
            guard let encoder = UngreedyEncoder(multiByteTokens: vocabulary) else { break }
            round += 1
            progress(TrainingProgress(phase: "distilling", done: initial - vocabulary.count, total: max(1, initial - target)))
            let usage = usageCounts(encoder)
            var losses: [(index: Int, loss: Double)] = []
            losses.reserveCapacity(vocabulary.count)
            for (index, token) in vocabulary.enumerated() {
                let uses = usage[256 + index]
                let loss = uses == 0 ? 0 : uses * Double(encoder.fewestTokens(spelling: token, without: TokenID(256 + index)) - 1)
                losses.append((index, loss))
            }
            // Least useful first; of equal loss, the shorter token first, then by bytes: deterministic.
            losses.sort { a, b in
                if a.loss != b.loss { return a.loss < b.loss }
                let (x, y) = (vocabulary[a.index], vocabulary[b.index])
                return x.count != y.count ? x.count < y.count : x.lexicographicallyPrecedes(y)
            }
            let excess = vocabulary.count - target
            let unused = losses.prefix { $0.loss == 0 }.count
            var removing = min(excess, max(unused, vocabulary.count / 10, 1))
            if let budget = options.timeBudget, Self.seconds(clock.now - started) > budget { removing = excess }
            let removed = Set(losses.prefix(removing).map(\.index))
            vocabulary = vocabulary.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
        }
        progress(TrainingProgress(phase: "distilling", done: 1, total: 1))
        // Final order: by how often the tokens are used, then by bytes, so the ids say something.
        guard let encoder = UngreedyEncoder(multiByteTokens: vocabulary) else {
            throw .malformedInput(source: "training", line: 1, expected: "distinct candidate tokens")
        }
        let usage = usageCounts(encoder)
        let order = vocabulary.indices.sorted { a, b in
            let (x, y) = (usage[256 + a], usage[256 + b])
            return x != y ? x > y : vocabulary[a].lexicographicallyPrecedes(vocabulary[b])
        }
        guard let final = UngreedyEncoder(multiByteTokens: order.map { vocabulary[$0] }) else {
            throw .malformedInput(source: "training", line: 1, expected: "distinct candidate tokens")
        }
        return TrainedUngreedy(encoder: final, capcode: options.capcode, rounds: round)
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }

    /// Each token's uses when the sample is encoded, on every core.
    private func usageCounts(_ encoder: UngreedyEncoder) -> [Double] {
        struct Usage: TokenSink {
            var counts: UnsafeMutableBufferPointer<Double>
            mutating func append(_ token: TokenID) { counts[Int(token)] += 1 }
        }
        // Lines dealt out in blocks of 256, so each thread walks long stretches of the sample.
        let blocks = (lineEnds.count + 255) / 256
        let sample = self.sample
        let lineEnds = self.lineEnds
        return PerPieceSums.sum(pieces: encoder.idLimit, words: blocks) { indices, counts in
            counts.withUnsafeMutableBufferPointer { counts in
                var sink = Usage(counts: counts)
                sample.withUnsafeBufferPointer { bytes in
                    for block in indices {
                        for line in (block * 256)..<min(lineEnds.count, block * 256 + 256) {
                            let start = line == 0 ? 0 : lineEnds[line - 1]
                            encoder.encode(piece: UnsafeBufferPointer(rebasing: bytes[start..<lineEnds[line]]), into: &sink)
                        }
                    }
                }
            }
        }
    }

    /// The frequent substrings of the sample, best `candidates` by bytes saved.
    private func candidates() -> [[UInt8]] {
        // A live position: where a frequent substring starts, its id at the current length, and its length in
        // bytes. All start on a character boundary; each level adds one character.
        struct Position {
            var start: Int32
            var length: Int32
            var id: Int32
        }
        let bytes = sample
        var positions: [Position] = []
        positions.reserveCapacity(bytes.count / 2)
        var firstIDs: [UInt32: Int32] = [:]
        var frequency: [Int] = []
        bytes.withUnsafeBufferPointer { text in
            var index = 0
            while index < text.count {
                let length = UTF8Scan.sequenceLength(in: text, at: index)
                guard length > 0 else { index += 1; continue }  // an ill-formed byte starts no token
                var key: UInt32 = 0
                for byte in text[index..<min(text.count, index + length)] { key = key << 8 | UInt32(byte) }
                let id: Int32
                if let known = firstIDs[key] { id = known } else {
                    id = Int32(frequency.count)
                    firstIDs[key] = id
                    frequency.append(0)
                }
                frequency[Int(id)] += 1
                positions.append(Position(start: Int32(index), length: Int32(length), id: id))
                index += length
            }
        }
        var found: [(start: Int32, length: Int32, saved: Int)] = []
        // Characters of two bytes or more are candidates themselves (a kanji alone is three byte tokens).
        var listed = Set<Int32>()
        for position in positions where position.length >= 2 && frequency[Int(position.id)] >= options.minCount {
            if listed.insert(position.id).inserted {
                found.append((position.start, position.length, frequency[Int(position.id)] * Int(position.length - 1)))
            }
        }
        positions.removeAll { frequency[Int($0.id)] < options.minCount }
        while !positions.isEmpty {
            var ids: [UInt64: Int32] = [:]
            frequency = []
            var exemplar: [Int32] = []
            var kept = 0
            bytes.withUnsafeBufferPointer { text in
                for index in positions.indices {
                    var position = positions[index]
                    let end = Int(position.start + position.length)
                    guard end < text.count else { continue }
                    // A line break only at the end: after one, only more line breaks.
                    if text[end - 1] == 0x0A && text[end] != 0x0A { continue }
                    let length = UTF8Scan.sequenceLength(in: text, at: end)
                    guard length > 0, Int(position.length) + length <= options.maxTokenBytes else { continue }
                    var character: UInt32 = 0
                    for byte in text[end..<(end + length)] { character = character << 8 | UInt32(byte) }
                    let key = UInt64(UInt32(bitPattern: position.id)) << 32 | UInt64(character)
                    if let known = ids[key] {
                        position.id = known
                    } else {
                        position.id = Int32(frequency.count)
                        ids[key] = position.id
                        frequency.append(0)
                        exemplar.append(Int32(kept))
                    }
                    position.length += Int32(length)
                    frequency[Int(position.id)] += 1
                    positions[kept] = position
                    kept += 1
                }
            }
            positions.removeLast(positions.count - kept)
            for (id, count) in frequency.enumerated() where count >= options.minCount {
                let at = positions[Int(exemplar[id])]
                found.append((at.start, at.length, count * (Int(at.length) - 1)))
            }
            positions.removeAll { frequency[Int($0.id)] < options.minCount }
        }
        found.sort { $0.saved != $1.saved ? $0.saved > $1.saved : ($0.start, $0.length) < ($1.start, $1.length) }
        return found.prefix(options.candidates).map { Array(bytes[Int($0.start)..<Int($0.start + $0.length)]) }
    }
}

/// A trained ungreedy vocabulary.
public struct TrainedUngreedy: TrainedModel, Sendable {
    public let encoder: UngreedyEncoder
    public let capcode: Bool
    /// Distillation rounds it took.
    public let rounds: Int

    public func tokenizer(name: String) throws(TokcError) -> Tokenizer {
        UngreedyFormat.tokenizer(encoder, capcode: capcode, name: name)
    }

    /// `tokc-ungreedy` (JSON, `docs/ungreedy.md`).
    public func serialize(format: String) throws(TokcError) -> [UInt8] {
        guard format == UngreedyFormat.formatName else {
            throw .malformedInput(source: "--format", line: 1, expected: "\(UngreedyFormat.formatName) (a JSON vocabulary)")
        }
        return UngreedyFormat.serialize(encoder, capcode: capcode)
    }
}

/// SplitMix64: a small, fast, seedable generator, so sampling is the same on every platform and run (the
/// ungreedy trainer's line sample; tests and benchmarks draw their random inputs from it too).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
