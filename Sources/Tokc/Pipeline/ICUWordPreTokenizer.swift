import CICU

/// Splits text into words with ICU's dictionary-based word break iterator: Japanese, Chinese and Thai, where
/// spaces do not separate words, get real word boundaries (`東京タワー|は|日本|の|電波|塔|です|。`).
///
/// Meant to run after a vocabulary's own pre-tokenizer, on each of its pieces (`Tokenizer.withICUWordBreaking`),
/// so it leaves alone what that one decided:
/// - a piece that is all ASCII passes whole (ICU would only cut it at spaces and punctuation);
/// - a run of spaces and tabs stays at the front of the word after it (` 東京` as GPT-style patterns keep
///   ` word`), except at the end of the piece.
/// The pieces still cover the text exactly, ill-formed UTF-8 included.
public struct ICUWordPreTokenizer: PreTokenizer {
    /// ICU locale id, e.g. "ja", "zh", "th"; "" is the root locale (which still uses the CJK dictionaries).
    public let locale: String

    public init(locale: String = "") {
        self.locale = locale
    }

    public func forEachPiece(in text: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        guard !text.isEmpty else { return }
        guard text.contains(where: { $0 >= 0x80 }) else {
            body(text)
            return
        }
        var start = 0
        ICUBreaks.forEachSegment(TOKC_ICU_WORDS, locale: locale, in: text) { word in
            let isBlank = text[word].allSatisfy { $0 == 0x20 || $0 == 0x09 }
            if isBlank && word.upperBound < text.count { return }  // glued to the word that follows
            body(UnsafeBufferPointer(rebasing: text[start..<word.upperBound]))
            start = word.upperBound
        }
    }
}

extension Tokenizer {
    /// This tokenizer with ICU dictionary word breaking (`ICUWordPreTokenizer`) after its own pre-tokenizer:
    /// `tokc … --pretokenizer icu-words`. Where the normaliser is BERT's, its padding of CJK ideographs is
    /// turned off, since the dictionary now finds the words they belong to (`日本` stays one word).
    public func withICUWordBreaking(locale: String = "") -> Tokenizer {
        var normalizer = self.normalizer
        if var bert = normalizer as? BertNormalizer {
            bert.handleChineseCharacters = false
            normalizer = bert
        }
        return Tokenizer(
            name: name, normalizer: normalizer,
            preTokenizer: SequencePreTokenizer([preTokenizer, ICUWordPreTokenizer(locale: locale)]),
            encoder: encoder, specialTokens: Dictionary(uniqueKeysWithValues: specialTokens.all.map { ($0.text, $0.id) }),
            detokenizer: detokenizer, template: template)
    }
}
