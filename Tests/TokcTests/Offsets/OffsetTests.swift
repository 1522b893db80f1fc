import Foundation
import Testing
@testable import Tokc

/// Token offsets (issue #30): on every shipped vocabulary the spans are in order, on character boundaries and
/// cover the input (tile it exactly where nothing is normalised away, and decode back to it where the scheme is
/// lossless); on every tokenizer.json vocabulary they equal Hugging Face tokenizers' offsets.
struct OffsetTests {
    static let manifest = try! VocabularyManifest.parse(
        try! FileIO.readAll(Fixtures.repositoryRoot + "/Vocabularies/manifest.json"), path: "manifest.json")
    static let shippedNames = manifest.vocabularies.map(\.name)

    /// Texts that exercise the rules: scripts, emoji cut by byte-level BPE, combining marks, ligatures and
    /// full-width forms (normalisers), runs of spaces and tabs, control characters, special tokens' text.
    static let texts: [String] = [
        "", " ", "hello world", "Hello, World! It's 2025.", "  leading and trailing  ", "a\tb\n\nc\r\nd",
        "日本語のテキスト、東京タワー。", "中文文本和标点符号！", "Ünïcödé straße İstanbul ΟΔΟΣ ΑΣ",
        "🤗 hugs 👩‍👩‍👧 x🤗y", "ﬁne ﬂour ① ㌀ ＡＢＣ ｶﾀｶﾅ", "cafe\u{301} nai\u{308}ve e\u{301}", "Ελληνικά и русский текст",
        "x\u{0}y\u{7}z\u{200B}w", "<|endoftext|> [CLS] <s> </s> <unk>", "HTTP McDonald NASA's iPhone",
        "def f(x):\n    return x ** 2  # square\n", "हिन्दी पाठ", "العربية نص", "한국어 텍스트",
    ] + corpusSamples

    /// The start of each language's held-out corpus file, cut at a line end.
    static let corpusSamples: [String] = ["ja", "zh", "de", "fr", "en"].compactMap { language in
        guard let bytes = try? FileIO.readAll(Fixtures.repositoryRoot + "/Corpus/split/\(language).heldout.txt") else { return nil }
        let prefix = Array(bytes.prefix(3000))
        let end = prefix.lastIndex(of: 0x0A) ?? prefix.count
        return String(decoding: prefix[..<end], as: UTF8.self)
    }

    @Test(arguments: shippedNames)
    func spansAreOrderedAndCoverTheInput(name: String) throws {
        let tokenizer = try Tokenizer.named(name)
        let lossless = Self.isLossless(tokenizer)
        for text in Self.texts {
            for policy in [SpecialTokenPolicy.none, .all] {
                try Self.check(tokenizer, Array(text.utf8), policy: policy, lossless: lossless, label: "\(name) \(text.debugDescription.prefix(40))")
            }
        }
        // Bytes that are not UTF-8: each ill-formed byte is a character of its own.
        for bytes: [UInt8] in [[0xFF], [0x61, 0xE2, 0x82], [0xE2, 0x82, 0x61, 0xC0, 0xAF, 0xF0, 0x9F, 0xA4, 0x97]] {
            try Self.check(tokenizer, bytes, policy: .none, lossless: lossless, label: "\(name) \(hex(bytes))")
        }
    }

    @Test func templateTokensSpanNothing() throws {
        let bert = try Tokenizer.named("bert-base-uncased")
        let spans = bert.encodeWithOffsets("Hello world", addingTemplate: true)
        #expect(spans.map(\.id) == bert.encode("Hello world", addingTemplate: true))
        #expect(spans.first.map { $0.range } == 0..<0)
        #expect(spans.last.map { $0.range } == 11..<11)
        #expect(spans.dropFirst().dropLast().map(\.range) == [0..<5, 6..<11])
    }

    @Test func byteLevelTokensInsideACharacterSpanIt() throws {
        let tokenizer = try Tokenizer.named("o200k_base")
        let text = "x🤗y"
        let spans = tokenizer.encodeWithOffsets(text)
        // The emoji's four bytes are cut among tokens: each of them spans all four.
        #expect(spans.count > 3)
        for span in spans where span.id != spans.first?.id && span.id != spans.last?.id {
            #expect(span.range.overlaps(1..<5))
            #expect(span.start >= 0 && span.end <= 6 && (span.start == 0 || span.start == 1))
        }
        let utf16 = UTF16Offsets(Array(text.utf8))
        #expect([0, 1, 5, 6].map { utf16[$0] } == [0, 1, 3, 4])
    }

    @Test func specialTokensSpanTheirText() throws {
        let tokenizer = try Tokenizer.named("cl100k_base")
        let spans = tokenizer.encodeWithOffsets("a<|endoftext|>b", allowedSpecial: .all)
        #expect(spans == [TokenSpan(id: 64, start: 0, end: 1), TokenSpan(id: 100257, start: 1, end: 14), TokenSpan(id: 65, start: 14, end: 15)])
    }

    @Test func bertSpansSkipSpacesAndKeepAccents() throws {
        let bert = try Tokenizer.named("bert-base-uncased")
        let text = "Héllo, WORLD 你好 naïve"
        let spans = bert.encodeWithOffsets(text)
        let pieces = spans.map { String(decoding: Array(text.utf8)[$0.range], as: UTF8.self) }
        #expect(pieces == ["Héllo", ",", "WORLD", "你", "好", "naïve"])
    }

    /// Every tokenizer.json vocabulary against Hugging Face tokenizers 0.23.3's offsets
    /// (`scripts/make-offsets-fixtures.py`): the 112 public texts and a few of offsets' own.
    @Test func equalToHuggingFaceOffsets() throws {
        let compressed = try FileIO.readAll(Fixtures.directory + "/offsets-tokenizers.jsonl.gz")
        let lines = try Gzip.decompress(compressed, path: "offsets-tokenizers.jsonl.gz").split(separator: UInt8(ascii: "\n"))
        var tokenizers: [String: Tokenizer] = [:]
        var checked: [String: Int] = [:]
        for line in lines {
            let record = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
            guard let vocab = record.string("vocab"), let file = record.string("file"), let text = record.string("text") else { continue }
            if tokenizers[vocab] == nil { tokenizers[vocab] = try VocabularyRegistry.standard.load(Fixtures.repositoryRoot + "/" + file) }
            let tokenizer = try #require(tokenizers[vocab])
            let expectedOffsets = try #require(record["offsets"] as? [Int])
            let expected = zip(try #require(record.ids("ids")), stride(from: 0, to: expectedOffsets.count, by: 2)).map {
                TokenSpan(id: $0, start: expectedOffsets[$1], end: expectedOffsets[$1 + 1])
            }
            let spans = tokenizer.encodeWithOffsets(text, allowedSpecial: .all)
            #expect(spans.map(\.id) == expected.map(\.id), "\(vocab) \(record.string("id") ?? "")")
            if spans.map(\.id) == expected.map(\.id) {
                let differences = zip(spans, expected).enumerated().filter { $1.0 != $1.1 }
                #expect(differences.isEmpty, "\(vocab) \(record.string("id") ?? ""): \(differences.prefix(4).map { "token \($0.offset): \($0.element.0.range) vs \($0.element.1.range)" })")
            }
            checked[vocab, default: 0] += 1
        }
        #expect(checked.count == 10)
        #expect(checked.values.allSatisfy { $0 == 119 })
    }

    // MARK: - Checks

    /// A vocabulary whose decoding gives back exactly the bytes its tokens came from: no normaliser, no
    /// detokenizer (tiktoken files, byte-level tokenizer.json, Tekken, byte-level GGUF).
    static func isLossless(_ tokenizer: Tokenizer) -> Bool {
        (tokenizer.normalizer as? UnicodeNormalizer) == .identity && tokenizer.detokenizer.isNone
    }

    static func check(_ tokenizer: Tokenizer, _ input: [UInt8], policy: SpecialTokenPolicy, lossless: Bool, label: String) throws {
        let spans = tokenizer.encodeWithOffsets(input, allowedSpecial: policy)
        #expect(spans.map(\.id) == tokenizer.encode(input, allowedSpecial: policy), "\(label): ids")
        var previous = TokenSpan(id: 0, start: 0, end: 0)
        for span in spans {
            #expect(span.start <= span.end && span.end <= input.count, "\(label): \(span)")
            #expect(span.start >= previous.start && span.end >= previous.end, "\(label): \(previous) then \(span)")
            #expect(isCharacterBoundary(span.start, in: input) && isCharacterBoundary(span.end, in: input), "\(label): \(span)")
            previous = span
        }
        // Tokens whose spans overlap share characters: each group is one stretch of the input.
        var groups: [(range: Range<Int>, ids: [TokenID])] = []
        for span in spans where !span.range.isEmpty {
            if let last = groups.last, span.start < last.range.upperBound {
                groups[groups.count - 1] = (last.range.lowerBound..<max(last.range.upperBound, span.end), last.ids + [span.id])
            } else {
                groups.append((span.range, [span.id]))
            }
        }
        if lossless {
            #expect(groups.first.map { $0.range.lowerBound } ?? 0 == 0, "\(label): starts at 0")
            #expect(groups.last.map { $0.range.upperBound } ?? 0 == input.count, "\(label): ends at the end")
            for (group, next) in zip(groups, groups.dropFirst()) {
                #expect(group.range.upperBound == next.range.lowerBound, "\(label): a gap or overlap at \(group.range)")
            }
            for group in groups {
                #expect(try tokenizer.decode(group.ids) == Array(input[group.range]), "\(label): \(group.range) decodes to itself")
            }
        } else {
            // What no span covers is what the normaliser removed or the split dropped: white space, control and
            // format characters, combining marks, ill-formed bytes.
            var covered = [Bool](repeating: false, count: input.count)
            for group in groups { for index in group.range { covered[index] = true } }
            let text = input.withUnsafeBufferPointer { $0 }
            _ = text
            var index = 0
            while index < input.count {
                let length = input.withUnsafeBufferPointer { UTF8Scan.sequenceLength(in: $0, at: index) }
                if !covered[index], length > 0 {
                    let scalar = input.withUnsafeBufferPointer { UTF8Scan.scalar(in: $0, at: index, length: length) }
                    let removable = scalar.properties.isWhitespace || [.control, .format, .nonspacingMark].contains(scalar.properties.generalCategory)
                    #expect(removable, "\(label): U+\(String(scalar.value, radix: 16)) at \(index) is in no span")
                }
                index += max(length, 1)
            }
        }
    }

    static func isCharacterBoundary(_ offset: Int, in input: [UInt8]) -> Bool {
        guard offset > 0 && offset < input.count else { return true }
        return input.withUnsafeBufferPointer { Tokenizer.widenedToCharacters(offset..<offset, in: $0) == offset..<offset }
    }
}
