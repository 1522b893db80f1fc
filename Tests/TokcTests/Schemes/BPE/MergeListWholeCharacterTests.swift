import Testing
@testable import Tokc

/// A byte-level merge list starts long pieces from whole three-byte characters where `WholeCharacters` allows
/// (with a merge's place in the list as its rank): the ids must be those of merging from bytes, as the rule
/// states it.
@Suite struct MergeListWholeCharacterTests {
    /// The shipped byte-level merge-list vocabularies: Qwen 3.5, MiniMax, DeepSeek, legacy Claude, Command R.
    static let vocabularies = ["qwen3.5", "minimax-m3", "deepseek-v3", "claude-legacy", "command-r"]

    static func pair(_ name: String) throws -> (whole: Tokenizer, bytes: Tokenizer) {
        let tokenizer = try Tokenizer.named(name)
        let encoder = try #require(tokenizer.encoder as? MergeListBPEEncoder)
        #expect(encoder.wholeCharacters != nil, "\(name) has no whole-character start")
        let bytes = Tokenizer(
            name: name + " from bytes", normalizer: tokenizer.normalizer, preTokenizer: tokenizer.preTokenizer,
            encoder: encoder.mergingFromBytes(), specialTokens: [:], detokenizer: tokenizer.detokenizer, template: .none)
        return (tokenizer, bytes)
    }

    /// Random pieces of kana, kanji, a space or punctuation before them, scripts whose byte tokens overlap
    /// three-byte characters, stray continuation and lone lead bytes.
    @Test(arguments: vocabularies)
    func randomTextMatchesMergingFromBytes(name: String) throws {
        let (whole, bytes) = try Self.pair(name)
        let units: [[UInt8]] = ["の", "は", "日", "本", "語", "漢", "字", "京", "東", "ア", "ｱ", "。", "、", "「", "ა", "ქ", "क", "한", "€", " ", "a", "\n", "中文", "們"]
            .map { Array($0.utf8) } + [[0x80], [0xAE], [0xE3], [0xE5, 0xA4], [0xE3, 0x81]]
        var random = SeededGenerator(seed: 43)
        for round in 0..<400 {
            var text: [UInt8] = []
            let length = Int.random(in: 6...160, using: &random)
            while text.count < length { text += units.randomElement(using: &random)! }
            #expect(whole.encode(text) == bytes.encode(text), "\(name), round \(round): \(text)")
        }
    }

    /// The shipped Japanese and Chinese text (the training files, whole), id for id.
    @Test(arguments: vocabularies)
    func corpusMatchesMergingFromBytes(name: String) throws {
        guard let split = EvaluationCorpus.shippedFolder.map({ $0 + "/split" }) else {
            print("skipped: no shipped Corpus/ folder found")
            return
        }
        let (whole, bytes) = try Self.pair(name)
        for language in ["ja", "zh"] {
            let text = try FileIO.readAll(split + "/" + language + ".heldout.txt")
            #expect(whole.encode(text) == bytes.encode(text), "\(name) \(language)")
        }
    }
}
