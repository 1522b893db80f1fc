import CICU

/// ICU's break iterators over UTF-8 text, reported as byte ranges: grapheme clusters for Hugging Face's
/// `Precompiled` normaliser, dictionary word boundaries for `ICUWordPreTokenizer`, and the words alone for
/// `tokc compare`'s fertility.
enum ICUBreaks {
    /// Calls `body` with the byte range of each segment of non-empty `text`, in order; together they cover the
    /// text. ICU fails only on allocation or missing locale data: the whole text is then one segment.
    static func forEachSegment(
        _ kind: tokc_icu_break_kind, locale: String = "", in text: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Void
    ) {
        guard !text.isEmpty else { return }
        var offsets: UnsafeMutablePointer<Int64>? = nil
        var count: Int64 = 0
        let status = tokc_icu_boundaries(kind, locale, text.baseAddress, Int64(text.count), &offsets, &count)
        defer { tokc_icu_free(offsets) }
        guard status == 0, let offsets, count >= 2 else {
            body(0..<text.count)
            return
        }
        var start = 0
        for index in 1..<Int(count) {
            let end = Int(offsets[index])
            guard end > start else { continue }
            body(start..<end)
            start = end
        }
    }

    /// Calls `body` with the byte range of each word of `text` (ICU's word segments tagged as letters, numbers,
    /// kana or ideographs; spaces and punctuation are not words), in order. If ICU fails, it reports no words.
    static func forEachWord(locale: String = "", in text: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Void) {
        guard !text.isEmpty else { return }
        var offsets: UnsafeMutablePointer<Int64>? = nil
        var count: Int64 = 0
        let status = tokc_icu_boundaries(TOKC_ICU_WORD_SPANS, locale, text.baseAddress, Int64(text.count), &offsets, &count)
        defer { tokc_icu_free(offsets) }
        guard status == 0, let offsets else { return }
        for pair in 0..<Int(count / 2) {
            body(Int(offsets[2 * pair])..<Int(offsets[2 * pair + 1]))
        }
    }
}
