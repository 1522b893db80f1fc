import Testing
@testable import Tokc

/// Kimi's vocabulary (issue #26): Moonshot's tiktoken.model with the split pattern of its tokenization_kimi.py,
/// which Rust regex reads with a class intersection (`[\p{Lu}…&&[^\p{Han}]]`) that PCRE2 lacks; tokc's manifest
/// spells it with a negative lookahead, `\p{Han}` as the script (PCRE2's bare `\p{Han}` is the script extension,
/// which takes `、` and `。`), and the ideographs Unicode 15.0–16.0 added to Han.
@Suite struct KimiVocabularyTests {
    /// The fixtures `scripts/make-kimi-fixtures.py` made with tiktoken and Kimi's own pattern: the 112 public texts,
    /// twelve where Kimi's pattern and o200k's part ways, four that spell its special tokens.
    @Test func fixturesMadeWithKimisOwnPattern() throws {
        let tokenizer = try Tokenizer.named("kimi-k2")
        #expect(tokenizer.vocabularySize == 163_842)
        let records = try Fixtures.jsonLines("kimi-k2.jsonl")
        #expect(records.count == 128)
        for record in records { try BPEParityTests.checkText(record, tokenizer) }
    }

    /// A Han run is a piece of its own, cut from the letters and from the CJK punctuation around it (common
    /// script, Han only by script extension); an ideograph of CJK Extension H (Unicode 15.0) is Han as well.
    @Test(arguments: [
        ["你好", "、", "世界"], ["東京", "タワー"], ["x", "\u{31350}", "y"], ["abc", "中文", "def"], ["中", "'s"],
    ])
    func hanRunsArePiecesOfTheirOwn(pieces: [String]) throws {
        let tokenizer = try Tokenizer.named("kimi-k2")
        #expect(tokenizer.encode(pieces.joined()) == pieces.flatMap { tokenizer.encode($0) }, "\(pieces)")
    }
}
