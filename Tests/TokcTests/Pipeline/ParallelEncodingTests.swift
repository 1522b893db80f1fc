import Foundation
import Testing
@testable import Tokc

/// Counting and encoding on several threads cut the text just after line breaks before a letter or digit; the
/// ids must be those of the whole text, for every vocabulary that allows the cut.
@Suite struct ParallelEncodingTests {
    static let lineLocal = ["o200k_base", "cl100k_base", "llama3", "bert-base-uncased", "ungreedy-multi-8k"]
    static let notLineLocal = ["deepseek-v3", "mistral-v1", "unigram-multi-8k"]

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

    @Test func partsEndAfterLineBreaksBeforeLettersOrDigits() throws {
        let tokenizer = try Tokenizer.named("o200k_base")
        let parts = Self.awkward.withUnsafeBufferPointer {
            tokenizer.lineStartParts(of: $0, allowedSpecial: .none, threads: 2, partBytes: 1)
        }
        // Nine cuts in each of the 40 repeats (before B, Y, WORLD, Bar, 字, 2, Σ, σ, ｶﾅ; not before /, a space,
        // a combining mark, U+3000, ', a tab, a line break or an emoji) and one before the final A.
        #expect(parts.count == 40 * 9 + 1 + 1)
        #expect(parts.first?.lowerBound == 0 && parts.last?.upperBound == Self.awkward.count)
        for (left, right) in zip(parts, parts.dropFirst()) {
            #expect(left.upperBound == right.lowerBound)
            #expect(Self.awkward[left.upperBound - 1] == 0x0A)
            let next = Self.awkward[right.lowerBound]
            #expect(next != 0x2F && next != 0x20 && next != 0x0A && next != 0xE3 && next != 0xCC, "cut before \(next)")
        }
        // One thread, a short text or a policy that could match a special token across a cut: one part.
        Self.awkward.withUnsafeBufferPointer { bytes in
            #expect(tokenizer.lineStartParts(of: bytes, allowedSpecial: .none, threads: 1, partBytes: 1).count == 1)
            #expect(tokenizer.lineStartParts(of: bytes, allowedSpecial: .none, threads: 2, partBytes: nil).count == 1)
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
