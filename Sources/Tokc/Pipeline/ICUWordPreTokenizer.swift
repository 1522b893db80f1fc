import CICU

/// Splits text into words with ICU's dictionary-based word break iterator: Japanese, Chinese and Thai, where
/// spaces do not separate words, get real word boundaries (`東京タワー|は|日本|の|電波|塔|です|。`).
/// Spaces and punctuation come out as pieces of their own, so the pieces still cover the text exactly.
public struct ICUWordPreTokenizer: PreTokenizer {
    /// ICU locale id, e.g. "ja", "zh", "th"; "" is the root locale (which still uses the CJK dictionaries).
    public let locale: String

    public init(locale: String = "") {
        self.locale = locale
    }

    public func forEachPiece(in text: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        guard !text.isEmpty else { return }
        var offsets: UnsafeMutablePointer<Int64>? = nil
        var count: Int64 = 0
        let status = tokc_icu_word_boundaries(locale, text.baseAddress, Int64(text.count), &offsets, &count)
        defer { tokc_icu_free(offsets) }
        guard status == 0, let offsets, count >= 2 else {
            // ICU fails only on allocation or an unknown-locale data error; keep the contract with one piece.
            body(text)
            return
        }
        for index in 1..<Int(count) {
            let start = Int(offsets[index - 1]), end = Int(offsets[index])
            if end > start { body(UnsafeBufferPointer(rebasing: text[start..<end])) }
        }
    }
}
