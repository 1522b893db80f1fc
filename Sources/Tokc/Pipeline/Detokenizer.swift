/// What decoding does after looking up each token's bytes, for vocabularies whose tokens are not the text's
/// bytes as they are: SentencePiece-style ones write a space as `▁` and put one in front of the text, so decode
/// turns `▁` back into a space and drops the one in front. Byte-level vocabularies need none of it
/// (`Detokenizer.none`): their tokens are the bytes.
///
/// It models the Hugging Face decoder chains that real files use, token by token as they do:
/// `Replace(▁ → " ")` on each token, `Metaspace` (the same, but the first token's `▁` vanish), and, once the
/// tokens are fused into one text, `Strip` of leading and trailing spaces. Byte-fallback tokens (`<0x0A>`)
/// are not rewritten: they decode to their byte, which is what Hugging Face's `ByteFallback` does after
/// `Replace` has passed them by.
///
/// WordPiece vocabularies join words with a space and continuations (`##ing`) without one, then, as Hugging
/// Face's `WordPiece` decoder with `cleanup`, take the space away again before `.`, `?`, `!` and `,`.
public struct Detokenizer: Sendable {
    /// The bytes that stand for a space in tokens, with what they become.
    public var replacement: (of: [UInt8], with: [UInt8])?
    /// The replacement vanishes (rather than becoming a space) in the first token: `Metaspace`'s decoder.
    public var dropsReplacementInFirstToken = false
    /// Up to this many spaces are removed from the start and the end of the decoded text.
    public var stripLeadingSpaces = 0
    public var stripTrailingSpaces = 0
    /// Ids whose bytes are raw bytes (byte fallback), which the replacement leaves alone.
    public var rawByteIDs: Set<TokenID> = []
    /// WordPiece joining: tokens after the first get a space in front, unless they start with `prefix`
    /// (`##`), which is removed instead; with `cleanup`, English tokenisation artefacts are undone per token.
    public var wordPiece: (prefix: [UInt8], cleanup: Bool)?
    /// Capitalisation markers to apply at the end (`Capcode`, ungreedy vocabularies that use them).
    public var capcode = false
    /// SentencePiece's own decoding, which looks across tokens (byte runs, the first piece's `▁`): when set,
    /// it decodes the whole id sequence and nothing above applies.
    public var sentencePiece: SentencePieceDecoding?

    public static let none = Detokenizer()

    public init(
        replacement: (of: [UInt8], with: [UInt8])? = nil, dropsReplacementInFirstToken: Bool = false,
        stripLeadingSpaces: Int = 0, stripTrailingSpaces: Int = 0, rawByteIDs: Set<TokenID> = [],
        wordPiece: (prefix: [UInt8], cleanup: Bool)? = nil
    ) {
        self.replacement = replacement
        self.dropsReplacementInFirstToken = dropsReplacementInFirstToken
        self.stripLeadingSpaces = stripLeadingSpaces
        self.stripTrailingSpaces = stripTrailingSpaces
        self.rawByteIDs = rawByteIDs
        self.wordPiece = wordPiece
    }

    /// Hugging Face's `WordPiece` decoder.
    public static func wordPiece(prefix: [UInt8] = Array("##".utf8), cleanup: Bool = true) -> Detokenizer {
        Detokenizer(wordPiece: (prefix, cleanup))
    }

    var isNone: Bool {
        replacement == nil && stripLeadingSpaces == 0 && stripTrailingSpaces == 0 && wordPiece == nil && sentencePiece == nil && !capcode
    }

    /// Rewrites the bytes token `id` (the `position`-th) just appended at `start..<output.count`, in place.
    func rewriteToken(_ id: TokenID, position: Int, in output: inout [UInt8], from start: Int) {
        if let (prefix, cleanup) = wordPiece {
            joinWordPiece(prefix: prefix, cleanup: cleanup, position: position, in: &output, from: start)
            return
        }
        guard let (pattern, substitute) = replacement, !rawByteIDs.contains(id), output.count - start >= pattern.count else { return }
        let with = position == 0 && dropsReplacementInFirstToken ? [] : substitute
        guard let rewritten = output.withUnsafeBufferPointer({
            ReplaceNormalizer.replacing(pattern, with: with, in: UnsafeBufferPointer(rebasing: $0[start...]))
        }) else { return }
        output.replaceSubrange(start..., with: rewritten)
    }

    /// The cleanup pairs of Hugging Face's WordPiece decoder, applied in this order to each token once its
    /// space is in front. Tokens never hold spaces, so in practice only the first four ever match.
    private static let cleanups: [([UInt8], [UInt8])] = [
        (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
        (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
    ].map { (Array($0.utf8), Array($1.utf8)) }

    private func joinWordPiece(prefix: [UInt8], cleanup: Bool, position: Int, in output: inout [UInt8], from start: Int) {
        if position > 0 {
            if !prefix.isEmpty && output.count - start >= prefix.count && output[start..<(start + prefix.count)].elementsEqual(prefix) {
                output.removeSubrange(start..<(start + prefix.count))
            } else {
                output.insert(0x20, at: start)
            }
        }
        guard cleanup else { return }
        for (pattern, substitute) in Self.cleanups where output.count - start >= pattern.count {
            if let rewritten = output.withUnsafeBufferPointer({
                ReplaceNormalizer.replacing(pattern, with: substitute, in: UnsafeBufferPointer(rebasing: $0[start...]))
            }) {
                output.replaceSubrange(start..., with: rewritten)
            }
        }
    }

    /// Strips the spaces the chain strips from the whole decoded text.
    func finish(_ output: inout [UInt8]) {
        var leading = 0
        while leading < stripLeadingSpaces && leading < output.count && output[leading] == 0x20 { leading += 1 }
        var trailing = 0
        while trailing < stripTrailingSpaces && trailing < output.count - leading && output[output.count - 1 - trailing] == 0x20 {
            trailing += 1
        }
        if trailing > 0 { output.removeLast(trailing) }
        if leading > 0 { output.removeFirst(leading) }
        if capcode { output = Capcode.decode(output) }
    }
}

/// The special tokens a vocabulary's post-processor puts around an encoded text, such as Llama 2's `<s>` in
/// front or BERT's `[CLS] … [SEP]` (Hugging Face's `TemplateProcessing` for a single sequence). They are added
/// only when the caller asks (`encode(_:addingTemplate: true)`): tiktoken-style counts leave them
/// out, and so do the reference fixtures.
public struct TokenTemplate: Sendable, Equatable {
    public var prefix: [TokenID]
    public var suffix: [TokenID]

    public static let none = TokenTemplate(prefix: [], suffix: [])

    public init(prefix: [TokenID], suffix: [TokenID]) {
        self.prefix = prefix
        self.suffix = suffix
    }

    public var isEmpty: Bool { prefix.isEmpty && suffix.isEmpty }
}
