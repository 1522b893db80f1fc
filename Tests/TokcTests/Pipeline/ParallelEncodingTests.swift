import Foundation
import Testing
@testable import Tokc

/// Counting and encoding on several threads cut the text just after line breaks before a letter or digit; the
/// ids must be those of the whole text, for every vocabulary that allows the cut.
@Suite struct ParallelEncodingTests {
    static let lineLocal = ["o200k_base", "cl100k_base", "llama3", "qwen2.5", "bert-base-uncased", "ungreedy-multi-8k", "deepseek-v3", "kimi-k2"]
    static let notLineLocal = ["mistral-v1", "unigram-multi-8k", "r50k_base"]

    /// Line breaks next to everything the patterns treat specially, repeated so that tiny parts cut it often.
    static let awkward: [UInt8] = {
        let pieces = [
            "a.\n/b", " \n\nB", "x \nY", "HELLO\nWORLD Wörld", "\n\u{301}a", "foo\r\nBar", "数\n字", "1\n2", "end.\n\n\n  Start",
            "\u{3000}\n\u{3000}x", "it's\n's", "tab\t\n\tTab", "Σ\nΣ ΟΔΟΣ\nσ", "\n\n\n", "ｶﾀｶﾅ\nｶﾅ", "👨‍👩‍👧\n👍🏽x",
        ]
        return Array(String(repeating: pieces.joined(separator: "|"), count: 40).utf8) + [0xFF, 0x0A, 0x41, 0xC3]
    }()

    @Test func whichVocabulariesCut() throws {
        for name in Self.lineLocal {
            #expect(try Tokenizer.named(name).splitsAtLineStarts(allowedSpecial: .none), "\(name)")
        }
        for name in Self.notLineLocal {
            #expect(try !Tokenizer.named(name).splitsAtLineStarts(allowedSpecial: .none), "\(name)")
        }
    }

    @Test func gpt2PatternIsNotLineLocal() throws {
        // GPT-2's `\s++$` takes " \n" whole at the end of a part, but splits it before a letter.
        let regex = try RegexPreTokenizer(.gpt2)
        #expect(!regex.isLineLocal)
        func pieces(_ text: String) -> [String] {
            var found: [String] = []
            let bytes = Array(text.utf8)
            bytes.withUnsafeBufferPointer { regex.forEachPiece(in: $0) { found.append(String(decoding: $0, as: UTF8.self)) } }
            return found
        }
        #expect(pieces("a \nB") == ["a", " ", "\n", "B"])
        #expect(pieces("a \n") + pieces("B") == ["a", " \n", "B"])
    }

    @Test func partsEndAfterLineBreaksBeforeLettersOrDigitsOrBeforeBlanksAfterWords() throws {
        let tokenizer = try Tokenizer.named("o200k_base")
        let parts = Self.awkward.withUnsafeBufferPointer {
            tokenizer.cutParts(of: $0, allowedSpecial: .none, threads: 2, partBytes: 1)
        }
        // Fourteen places in each of the 40 repeats: nine line starts (before B, Y, WORLD, Bar, 字, 2, Σ, σ, ｶﾅ;
        // not before /, a space, a combining mark, U+3000, ', a tab, a line break or an emoji) and five blanks
        // after a character that is not white space (" \n\nB" after the "|", "x ", "WORLD ", "tab\t", "Σ ";
        // not the spaces or tab after a line break); and one before the final A.
        #expect(parts.count == 40 * 14 + 1 + 1)
        #expect(parts.first?.lowerBound == 0 && parts.last?.upperBound == Self.awkward.count)
        for (left, right) in zip(parts, parts.dropFirst()) {
            #expect(left.upperBound == right.lowerBound)
            let next = Self.awkward[right.lowerBound]
            if next == 0x20 || next == 0x09 {
                #expect(![0x20, 0x09, 0x0A].contains(Self.awkward[left.upperBound - 1]))
            } else {
                #expect(Self.awkward[left.upperBound - 1] == 0x0A)
                #expect(next != 0x2F && next != 0x0A && next != 0xE3 && next != 0xCC, "cut before \(next)")
            }
        }
        // One thread, a short text or a policy that could match a special token across a cut: one part.
        Self.awkward.withUnsafeBufferPointer { bytes in
            #expect(tokenizer.cutParts(of: bytes, allowedSpecial: .none, threads: 1, partBytes: 1).count == 1)
            #expect(tokenizer.cutParts(of: bytes, allowedSpecial: .none, threads: 2, partBytes: nil).count == 1)
        }
    }

    /// SentencePiece's pipeline hands the encoder the whole normalised text; a Mistral BPE can cut it before a
    /// word's `▁` (one that follows anything but `▁`). Unigram's lattice and DeepSeek's (not line-local) regex
    /// cannot be cut.
    @Test func wholeTextPartsStartAtWords() throws {
        let mistral = try Tokenizer.named("mistral-v1")
        let text = Self.awkward + Array("   leading  runs   of spaces ▁ and ▁▁ markers \n  x".utf8)
        let cut = try #require(text.withUnsafeBufferPointer {
            mistral.wholeTextParts(of: $0, allowedSpecial: .none, threads: 2, partBytes: 1)
        })
        #expect(cut.parts.first?.lowerBound == 0 && cut.parts.last?.upperBound == cut.normalized.count)
        let marker: [UInt8] = [0xE2, 0x96, 0x81]
        // With parts of one byte, every word start is a cut: 5 in each of the 40 repeats (before B, Y, Wörld,
        // Start, ΟΔΟΣ; U+3000 is not a space to SentencePiece) and 8 in the tail.
        let wordStarts = (3..<(cut.normalized.count - 2)).filter { at in
            Array(cut.normalized[at..<(at + 3)]) == marker && Array(cut.normalized[(at - 3)..<at]) != marker
        }
        #expect(wordStarts.count == 40 * 5 + 8)
        #expect(cut.parts.count == wordStarts.count + 1)
        for (left, right) in zip(cut.parts, cut.parts.dropFirst()) {
            #expect(left.upperBound == right.lowerBound)
            #expect(Array(cut.normalized[right.lowerBound..<(right.lowerBound + 3)]) == marker)
            #expect(Array(cut.normalized[(right.lowerBound - 3)..<right.lowerBound]) != marker)
        }
        for name in ["unigram-multi-8k", "deepseek-v3", "o200k_base"] {
            let tokenizer = try Tokenizer.named(name)
            #expect(text.withUnsafeBufferPointer {
                tokenizer.wholeTextParts(of: $0, allowedSpecial: .none, threads: 2, partBytes: 1)
            } == nil, "\(name)")
        }
        // One thread, or a text shorter than a part: not cut.
        text.withUnsafeBufferPointer { bytes in
            #expect(mistral.wholeTextParts(of: bytes, allowedSpecial: .none, threads: 1, partBytes: 1) == nil)
            #expect(mistral.wholeTextParts(of: bytes, allowedSpecial: .none, threads: 2, partBytes: nil) == nil)
        }
    }

    @Test func wholeTextCutsGiveTheSameIDs() throws {
        let spaced = Self.awkward + Array("   leading  runs   of spaces ▁ and ▁▁ markers \n  x ".utf8)
        var texts = [("awkward", spaced)]
        if let split = EvaluationCorpus.shippedFolder.map({ $0 + "/split" }) {
            for language in ["ja", "zh", "de", "fr", "en"] {
                texts.append((language, try FileIO.readAll(split + "/" + language + ".heldout.txt")))
            }
        }
        let tokenizer = try Tokenizer.named("mistral-v1")
        for (label, bytes) in texts {
            let whole = tokenizer.encode(bytes)
            for partBytes in label == "awkward" ? [1, 7, 100] : [4096] {
                #expect(tokenizer.encode(bytes, threads: 2, partBytes: partBytes) == whole, "\(label), parts of \(partBytes)")
                let counted = bytes.withUnsafeBufferPointer { tokenizer.count($0, threads: 3, partBytes: partBytes) }
                #expect(counted == whole.count, "\(label), parts of \(partBytes)")
            }
        }
    }

    @Test func sameIDsAsWholeText() throws {
        var texts = [("awkward", Self.awkward)]
        if let split = EvaluationCorpus.shippedFolder.map({ $0 + "/split" }) {
            for language in ["ja", "zh", "de", "fr", "en"] {
                texts.append((language, try FileIO.readAll(split + "/" + language + ".heldout.txt")))
            }
        }
        for name in Self.lineLocal {
            let tokenizer = try Tokenizer.named(name)
            for (label, bytes) in texts {
                let whole = tokenizer.encode(bytes)
                let partBytes = label == "awkward" ? 1 : 4096
                #expect(tokenizer.encode(bytes, threads: 2, partBytes: partBytes) == whole, "\(name) on \(label)")
                let counted = bytes.withUnsafeBufferPointer { tokenizer.count($0, threads: 3, partBytes: partBytes) }
                #expect(counted == whole.count, "\(name) on \(label)")
            }
        }
    }
}
