import Foundation

/// Hugging Face `tokenizer.json` for byte-level BPE: the vocabulary, the split regex, the normaliser and the
/// added tokens, assembled into a `Tokenizer`.
///
/// Supported now: model `BPE`, either with `ignore_merges: true` (the tiktoken-derived files such as Llama 3:
/// a piece that is a token is taken whole and merges follow token ids) or ranked by its merge list
/// (DeepSeek V3); no `byte_fallback`, no subword prefix or suffix; normalizer `null`, `NFC`, `NFKC` or a
/// `Sequence` of at most one of those; pre-tokenizer one or more `Split` (regex, `Isolated`) followed by
/// `ByteLevel` without its own regex, or `ByteLevel` with the GPT-2 regex; decoder `ByteLevel`;
/// post-processor `null`, `ByteLevel`, or a `Sequence` of `ByteLevel`.
/// Anything else is an error that names the component: a vocabulary is never loaded with a part skipped.
///
/// Added tokens are the tokenizer's special tokens. Hugging Face recognises them in the text always; in tokc
/// they are recognised when the caller allows special tokens (`allowedSpecial: .all`, `--allow-special`),
/// which then gives exactly Hugging Face's ids.
public enum TokenizerJSONFormat {
    public static func load(_ content: [UInt8], name: String, path: String) throws(TokcError) -> Tokenizer {
        let root: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: Data(content)) as? [String: Any] else {
                throw TokcError.malformedFile(path: path, line: 1, expected: "a JSON object (a tokenizer.json)")
            }
            root = object
        } catch let error as TokcError {
            throw error
        } catch {
            throw JSONErrors.syntaxError(in: Data(content), path: path)
        }
        func unsupported(_ component: String, _ detail: String) -> TokcError {
            .invalidVocabulary(path: path, reason: "\(component) is not supported by this tokc: \(detail)")
        }

        // The model.
        guard let model = root["model"] as? [String: Any] else {
            throw .malformedFile(path: path, line: 1, expected: "a 'model' object")
        }
        guard model["type"] as? String == "BPE" else {
            throw unsupported("model type '\(model["type"] as? String ?? "none")'", "only BPE is read from tokenizer.json")
        }
        if model["byte_fallback"] as? Bool == true { throw unsupported("model.byte_fallback", "true") }
        let ignoreMerges = model["ignore_merges"] as? Bool == true
        for key in ["continuing_subword_prefix", "end_of_word_suffix", "dropout"] where !(model[key] is NSNull || model[key] == nil) {
            throw unsupported("model.\(key)", "\(model[key]!)")
        }
        guard let vocabulary = model["vocab"] as? [String: Any] else {
            throw .malformedFile(path: path, line: 1, expected: "'model.vocab', an object of token → id")
        }
        // Added tokens.
        var specials: [String: TokenID] = [:]
        for case let added as [String: Any] in root["added_tokens"] as? [Any] ?? [] {
            guard let content = added["content"] as? String, let id = (added["id"] as? NSNumber).flatMap({ TokenID(exactly: $0.int64Value) }) else {
                throw .malformedFile(path: path, line: 1, expected: "added_tokens entries with 'content' and 'id'")
            }
            for flag in ["single_word", "lstrip", "rstrip"] where added[flag] as? Bool == true {
                throw unsupported("added_tokens.\(flag)", "set on '\(content)'")
            }
            specials[content] = id
        }

        var tokenBytes: [UInt8] = []
        var entries: [(id: TokenID, range: Range<Int>)] = []
        entries.reserveCapacity(vocabulary.count)
        for (text, value) in vocabulary where specials[text] == nil {
            guard let number = value as? NSNumber, let id = TokenID(exactly: number.int64Value) else {
                throw .malformedFile(path: path, line: 1, expected: "a token id for '\(text)' in model.vocab")
            }
            guard let bytes = ByteLevel.bytes(of: text), !bytes.isEmpty else {
                throw .invalidVocabulary(path: path, reason: "model.vocab token '\(text)' (id \(id)) is not byte-level text")
            }
            entries.append((id, tokenBytes.count..<tokenBytes.count + bytes.count))
            tokenBytes += bytes
        }
        let table: TokenTable
        do {
            table = try TokenTable(bytes: tokenBytes, entries: entries)
        } catch {
            throw .invalidVocabulary(path: path, reason: "model.vocab cannot be indexed: \(error)")
        }
        let encoder: any Encoder
        if ignoreMerges {
            // A piece that is a token is taken whole, and merges follow token ids: tiktoken's rule.
            guard let byRank = BPEEncoder(table: table) else {
                throw .invalidVocabulary(path: path, reason: "byte-level BPE needs all 256 single bytes as tokens")
            }
            encoder = byRank
        } else {
            guard let byList = MergeListBPEEncoder(table: table, merges: try Self.merges(model["merges"], table: table, path: path)) else {
                throw .invalidVocabulary(path: path, reason: "byte-level BPE needs all 256 single bytes as tokens")
            }
            encoder = byList
        }

        let normalizer = try Self.normalizer(root["normalizer"], unsupported: unsupported)
        if normalizer != .identity, let normalized = (root["added_tokens"] as? [[String: Any]])?.first(where: { $0["normalized"] as? Bool == true }) {
            throw unsupported("added_tokens.normalized", "set on '\(normalized["content"] as? String ?? "?")' with a normalizer")
        }
        let patterns = try Self.patterns(root["pre_tokenizer"], unsupported: unsupported)
        var stages: [any PreTokenizer] = []
        for pattern in patterns { stages.append(try RegexPreTokenizer(pattern: pattern)) }
        try Self.checkByteLevelOnly(root["decoder"], component: "decoder", unsupported: unsupported)
        try Self.checkByteLevelOnly(root["post_processor"], component: "post_processor", unsupported: unsupported)

        return Tokenizer(
            name: name, normalizer: normalizer, preTokenizer: stages.count == 1 ? stages[0] : SequencePreTokenizer(stages),
            encoder: encoder, specialTokens: specials)
    }

    /// Writes a byte-level BPE ranked by its merge list as a Hugging Face `tokenizer.json` (keys sorted, so the
    /// same vocabulary always gives the same bytes). `tokens[i]` is the token of id `i`.
    public static func serialize(
        tokens: [[UInt8]], merges: [(left: TokenID, right: TokenID)], pattern: String,
        normalizer: UnicodeNormalizer, specialTokens: [String: TokenID]
    ) throws(TokcError) -> [UInt8] {
        let normalizerObject: Any
        switch normalizer {
        case .identity: normalizerObject = NSNull()
        case .nfc: normalizerObject = ["type": "NFC"]
        case .nfkc: normalizerObject = ["type": "NFKC"]
        default:
            throw .invalidVocabulary(path: "tokenizer.json", reason: "normaliser \(normalizer.rawValue) has no tokenizer.json form that tokc writes; use nfc or nfkc")
        }
        var vocabulary: [String: Int] = [:]
        for (id, token) in tokens.enumerated() { vocabulary[ByteLevel.text(of: token)] = id }
        let mergeTexts = merges.map { ByteLevel.text(of: tokens[Int($0.left)]) + " " + ByteLevel.text(of: tokens[Int($0.right)]) }
        let added: [[String: Any]] = specialTokens.sorted { $0.value < $1.value }.map {
            ["id": Int($0.value), "content": $0.key, "single_word": false, "lstrip": false, "rstrip": false,
             "normalized": false, "special": true]
        }
        let document: [String: Any] = [
            "version": "1.0",
            "truncation": NSNull(),
            "padding": NSNull(),
            "added_tokens": added,
            "normalizer": normalizerObject,
            "pre_tokenizer": [
                "type": "Sequence",
                "pretokenizers": [
                    ["type": "Split", "pattern": ["Regex": pattern], "behavior": "Isolated", "invert": false],
                    ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false],
                ],
            ],
            "post_processor": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false],
            "decoder": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false],
            "model": [
                "type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                "vocab": vocabulary, "merges": mergeTexts,
            ],
        ]
        do {
            let data = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])
            return Array(data) + [UInt8(ascii: "\n")]
        } catch {
            throw .invalidVocabulary(path: "tokenizer.json", reason: "cannot be written: \(error)")
        }
    }

    private static func normalizer(
        _ value: Any?, unsupported: (String, String) -> TokcError
    ) throws(TokcError) -> UnicodeNormalizer {
        guard let object = value as? [String: Any] else { return .identity }
        let type = object["type"] as? String ?? "none"
        switch type {
        case "NFC": return .nfc
        case "NFKC": return .nfkc
        case "Sequence":
            let parts = object["normalizers"] as? [Any] ?? []
            guard parts.count <= 1 else { throw unsupported("normalizer Sequence of \(parts.count)", "at most one normaliser") }
            return try normalizer(parts.first, unsupported: unsupported)
        default:
            throw unsupported("normalizer '\(type)'", "supported: NFC, NFKC, a Sequence of one of them, or none")
        }
    }

    /// The split regexes of the pre-tokenizer, applied one after another.
    private static func patterns(_ value: Any?, unsupported: (String, String) -> TokcError) throws(TokcError) -> [String] {
        guard let object = value as? [String: Any] else { throw unsupported("a missing pre_tokenizer", "byte-level BPE needs one") }
        let type = object["type"] as? String ?? "none"
        switch type {
        case "ByteLevel":
            guard object["use_regex"] as? Bool != false else { throw unsupported("ByteLevel without regex alone", "nothing splits the text") }
            guard object["add_prefix_space"] as? Bool != true else { throw unsupported("ByteLevel.add_prefix_space", "true") }
            return [RegexPreTokenizer.Named.gpt2.pattern]
        case "Sequence":
            let parts = object["pretokenizers"] as? [[String: Any]] ?? []
            let splits = parts.dropLast()
            guard let last = parts.last, last["type"] as? String == "ByteLevel", !splits.isEmpty,
                  splits.allSatisfy({ $0["type"] as? String == "Split" }) else {
                throw unsupported("pre_tokenizer Sequence [\(parts.map { $0["type"] as? String ?? "?" }.joined(separator: ", "))]", "supported: one or more Split, then ByteLevel")
            }
            guard last["use_regex"] as? Bool == false, last["add_prefix_space"] as? Bool != true else {
                throw unsupported("ByteLevel after Split with its own regex or prefix space", "supported: use_regex false, add_prefix_space false")
            }
            var regexes: [String] = []
            for split in splits {
                guard let regex = (split["pattern"] as? [String: Any])?["Regex"] as? String else {
                    throw unsupported("Split with a String pattern", "supported: a Regex pattern")
                }
                guard split["behavior"] as? String == "Isolated", split["invert"] as? Bool != true else {
                    throw unsupported("Split behavior '\(split["behavior"] as? String ?? "?")'", "supported: Isolated, not inverted")
                }
                regexes.append(regex)
            }
            return regexes
        default:
            throw unsupported("pre_tokenizer '\(type)'", "supported: ByteLevel, Sequence [Split..., ByteLevel]")
        }
    }

    /// The merge list as ids: `"a b"` strings or `["a", "b"]` pairs of byte-level tokens.
    private static func merges(_ value: Any?, table: TokenTable, path: String) throws(TokcError) -> [(left: TokenID, right: TokenID, merged: TokenID)] {
        guard let list = value as? [Any] else {
            throw .malformedFile(path: path, line: 1, expected: "'model.merges', a list")
        }
        func id(_ bytes: [UInt8]) -> TokenID? {
            bytes.withUnsafeBufferPointer { $0.isEmpty ? nil : table.id(of: $0.baseAddress!, count: $0.count) }
        }
        var result: [(left: TokenID, right: TokenID, merged: TokenID)] = []
        result.reserveCapacity(list.count)
        for (index, item) in list.enumerated() {
            let pair: [String]
            if let text = item as? String {
                pair = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            } else {
                pair = item as? [String] ?? []
            }
            guard pair.count == 2, let left = ByteLevel.bytes(of: pair[0]), let right = ByteLevel.bytes(of: pair[1]),
                  let leftID = id(left), let rightID = id(right), let mergedID = id(left + right) else {
                throw .invalidVocabulary(path: path, reason: "model.merges[\(index)] \(item) is not two byte-level tokens whose concatenation is a token")
            }
            result.append((leftID, rightID, mergedID))
        }
        return result
    }

    private static func checkByteLevelOnly(
        _ value: Any?, component: String, unsupported: (String, String) -> TokcError
    ) throws(TokcError) {
        guard let object = value as? [String: Any] else { return }
        let type = object["type"] as? String ?? "none"
        switch type {
        case "ByteLevel": return
        case "Sequence":
            for part in (object["processors"] ?? object["decoders"]) as? [Any] ?? [] {
                try checkByteLevelOnly(part, component: component, unsupported: unsupported)
            }
        default:
            throw unsupported("\(component) '\(type)'", "supported: ByteLevel, or a Sequence of ByteLevel")
        }
    }
}

/// GPT-2's byte-level alphabet: each byte is written as one printable character (`Ġ` for a space), so
/// byte-level tokens can be JSON strings.
enum ByteLevel {
    /// Character → byte.
    static let byteOfCharacter: [Unicode.Scalar: UInt8] = {
        let printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        var map: [Unicode.Scalar: UInt8] = [:]
        for byte in printable { map[Unicode.Scalar(UInt32(byte))!] = UInt8(byte) }
        var next: UInt32 = 256
        for byte in 0...255 where !printable.contains(byte) {
            map[Unicode.Scalar(next)!] = UInt8(byte)
            next += 1
        }
        return map
    }()

    /// Byte → character.
    static let characterOfByte: [Unicode.Scalar] = {
        var result = [Unicode.Scalar](repeating: " ", count: 256)
        for (character, byte) in byteOfCharacter { result[Int(byte)] = character }
        return result
    }()

    /// The byte-level text of token bytes.
    static func text(of bytes: [UInt8]) -> String {
        var text = String.UnicodeScalarView()
        for byte in bytes { text.append(characterOfByte[Int(byte)]) }
        return String(text)
    }

    /// The bytes a byte-level token string stands for; nil if a character is outside the alphabet.
    static func bytes(of text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            guard let byte = byteOfCharacter[scalar] else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
