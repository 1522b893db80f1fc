import Testing
@testable import Tokc
import CICU

@Suite struct NormalizerTests {
    static func normalize(_ text: String, _ normalizer: UnicodeNormalizer) -> String? {
        Array(text.utf8).withUnsafeBufferPointer { normalizer.normalize($0) }.map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func identityCopiesNothing() {
        #expect(Self.normalize("ｶﾀｶﾅ", .identity) == nil)
    }

    @Test func icuForms() {
        #expect(Self.normalize("ｶﾀｶﾅﾞ ＡＢＣ１２３", .nfkc) == "カタカナ゙ ABC123")
        #expect(Self.normalize("ｶﾞ", .nfkc) == "ガ")
        #expect(Self.normalize("cafe\u{301}", .nfc) == "café")
        #expect(Self.normalize("café", .nfd) == "cafe\u{301}")
        #expect(Self.normalize("ﬁ Ⅻ", .nfkd) == "fi XII")
        #expect(Self.normalize("Straße ＡＢＣ", .nfkcCasefold) == "strasse abc")
        #expect(Self.normalize("ΣΟΦΟΣ İ", .lowercase) == "σοφος i\u{307}")
        #expect(Self.normalize("Straße", .casefold) == "strasse")
    }

    @Test func illFormedBytesBecomeReplacementCharacters() {
        let output = [UInt8]([0x61, 0xFF, 0x62]).withUnsafeBufferPointer { UnicodeNormalizer.nfc.normalize($0) }
        #expect(output == Array("a\u{FFFD}b".utf8))
    }

    /// Inputs past ICU's size limit are cut just before an ASCII byte, so a mark stays with its base letter,
    /// and without ASCII nearby at a code-point boundary.
    @Test func largeInputsAreCutAtSafePoints() {
        Array("e\u{301}e\u{301}e\u{301}".utf8).withUnsafeBufferPointer { text in
            #expect(UnicodeNormalizer.chunkEnd(in: text, from: 0, limit: 5) == 3)
            #expect(UnicodeNormalizer.chunkEnd(in: text, from: 3, limit: 5) == 6)
            #expect(UnicodeNormalizer.chunkEnd(in: text, from: 6, limit: 5) == 9)
        }
        Array("ééé".utf8).withUnsafeBufferPointer { text in
            #expect(UnicodeNormalizer.chunkEnd(in: text, from: 0, limit: 3) == 2)
            #expect(UnicodeNormalizer.chunkEnd(in: text, from: 2, limit: 3) == 4)
        }
    }

    @Test func japaneseWordBreak() {
        let words = RegexPreTokenizerTests.pieces("東京タワーは日本の電波塔です。", ICUWordPreTokenizer(locale: "ja"))
        #expect(words == ["東京タワー", "は", "日本", "の", "電波", "塔", "です", "。"])
        let mixed = Array("a \u{FF}".utf8) + [0xFF]
        let pieces = RegexPreTokenizerTests.pieces(mixed, ICUWordPreTokenizer())
        #expect(Array(pieces.joined()) == mixed)
    }
}

/// Hugging Face's NFC/NFKC (a `tokenizer.json`'s normaliser) knows Unicode 9.0: a later combining mark is left
/// where it is, and the quick check leaves text that is normalised already untouched.
struct UnicodeNineNormalizerTests {
    static func nfc(_ text: String, _ form: UnicodeNormalizer = .nfcUnicode9) -> [UInt32] {
        let bytes = Array(text.utf8)
        let out = bytes.withUnsafeBufferPointer { form.normalize($0) } ?? bytes
        return String(decoding: out, as: UTF8.self).unicodeScalars.map(\.value)
    }

    @Test func laterMarksStayInPlace() {
        // U+1AC5 (Unicode 14.0, class 230) before U+3099 (class 8): ICU's current NFC reorders them, 9.0's did not.
        #expect(Self.nfc("x\u{1AC5}\u{3099}", .nfc) == [0x78, 0x3099, 0x1AC5])
        #expect(Self.nfc("x\u{1AC5}\u{3099}") == [0x78, 0x1AC5, 0x3099])
        // U+1DF5 (9.0, class 230) is reordered by both.
        #expect(Self.nfc("x\u{1DF5}\u{3099}") == [0x78, 0x3099, 0x1DF5])
        // Composition as ever, and a later code point blocks nothing before it.
        #expect(Self.nfc("e\u{301}") == [0xE9])
        #expect(Self.nfc("\u{FF76}\u{FF9E}", .nfkcUnicode9) == [0x30AC])
    }

    /// The quick-yes bitmaps read from ICU's quick-check property are the ones its quick check gives, code point
    /// by code point.
    /// The ranges shipped for one ICU version (`QuickYes+Data.swift`) are that ICU's properties: equal to the
    /// bitmap read from the ICU loaded now when it is that version; under another, they are not used.
    @Test func shippedQuickYesRangesAreTheICUs() throws {
        let running = String(cString: tokc_icu_version())
        for form in [TOKC_ICU_NFC, TOKC_ICU_NFKC] {
            guard running == UnicodeNormalizer.quickYesICUVersion else {
                #expect(UnicodeNormalizer.shippedQuickYesBitmap(form) == nil)
                continue
            }
            let shipped = try #require(UnicodeNormalizer.shippedQuickYesBitmap(form))
            #expect(shipped == UnicodeNormalizer.quickYesBitmapFromICU(form, byCheck: false), "ICU \(running), form \(form)")
        }
    }

    @Test func quickYesBitmapsFromThePropertyEqualTheCheck() throws {
        for form in [TOKC_ICU_NFC, TOKC_ICU_NFKC, TOKC_ICU_NFD, TOKC_ICU_NFKD] {
            let byProperty = try #require(UnicodeNormalizer.quickYesBitmapFromICU(form, byCheck: false))
            let byCheck = try #require(UnicodeNormalizer.quickYesBitmap(form, byCheck: true))
            let differing = (0..<0x10000).filter { byProperty[$0 >> 3] >> ($0 & 7) & 1 != byCheck[$0 >> 3] >> ($0 & 7) & 1 }
            #expect(differing.isEmpty, "form \(form.rawValue): \(differing.prefix(20).map { String($0, radix: 16) })")
        }
    }

    /// The quick check's four-byte path (a three-byte character with bytes after it) answers for every BMP code
    /// point as its per-character path does (the same character at the end of the text), at every alignment.
    @Test func quickCheckPathsAgreeOnEveryBMPCodePoint() throws {
        let quickYes = try #require(UnicodeNormalizer.quickYes(TOKC_ICU_NFC))
        var disagreements: [UInt32] = []
        for value in UInt32(0x80)...0xFFFF where !(0xD800...0xDFFF).contains(value) {
            let character = Array(String(Unicode.Scalar(value)!).utf8)
            let alone = character.withUnsafeBufferPointer { UnicodeNormalizer.isNormalized($0, quickYes: quickYes) }
            for prefix in ["", "a", "abcdefg"] {
                let text = Array(prefix.utf8) + character + Array("    ".utf8)
                if text.withUnsafeBufferPointer({ UnicodeNormalizer.isNormalized($0, quickYes: quickYes) }) != alone {
                    disagreements.append(value)
                }
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(20).map { String($0, radix: 16) })")
        // Ill-formed three-byte sequences (overlong, surrogate) are never "yes".
        for bad: [UInt8] in [[0xE0, 0x80, 0x80, 0x20], [0xED, 0xA0, 0x80, 0x20], [0xE3, 0x81, 0x20, 0x20]] {
            #expect(bad.withUnsafeBufferPointer { UnicodeNormalizer.isNormalized($0, quickYes: quickYes) } == false)
        }
    }

    @Test func normalisedTextIsLeftAsItIs() {
        let quickYes = "日本語のテキスト、English text. Ünïcödé"
        let bytes = Array(quickYes.utf8)
        #expect(bytes.withUnsafeBufferPointer { UnicodeNormalizer.nfc.normalize($0) } == nil)
        // A decomposed accent is not quick-check "yes": it goes to ICU and comes back composed.
        #expect(Self.nfc("Cafe\u{301}", .nfc) == Array("Café".unicodeScalars.map(\.value)))
    }
}
