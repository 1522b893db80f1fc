/// The kinds of vocabulary file tokc recognises, and the one place that decides which a file is: from its
/// content, never from its name (`tokenizer.model.v3`, `model.gguf` and `vocab.bin` are what their bytes say).
public enum VocabularyFileFormat: String, Sendable, CaseIterable {
    /// llama.cpp's model container: the magic `GGUF`; its tokenizer is in the metadata.
    case gguf
    /// Hugging Face `tokenizer.json`: a JSON object (any that is neither of the two below).
    case tokenizerJSON = "tokenizer.json"
    /// tokc's ungreedy vocabulary: a JSON object whose `format` is `tokc-ungreedy`.
    case ungreedy = "tokc-ungreedy"
    /// Mistral's Tekken: a JSON object with `config` and a `vocab` of `token_bytes` entries.
    case tekken
    /// SentencePiece `ModelProto`: protobuf whose first field is a piece (bytes `0A len 0A`).
    case sentencePiece = "sentencepiece"
    /// `.tiktoken`: `base64(token) rank` lines.
    case tiktoken
    /// BERT's `vocab.txt`: UTF-8, one token a line, no spaces in a token.
    case bertVocabulary = "vocab.txt"

    /// Whether a file of the format holds its whole pipeline (split, normaliser, special tokens), so that a
    /// manifest's copies of those can only repeat it.
    public var carriesItsPipeline: Bool { self == .tokenizerJSON || self == .gguf || self == .tekken }

    /// Whether a shipped vocabulary of the format is kept compiled (`CompiledTableCache`): its token table, and
    /// for the formats that `storesCompiledPipeline`, its encoder and pipeline beside it.
    var hasCompiledForm: Bool { self == .tiktoken || self == .tekken || storesCompiledPipeline }

    /// Whether the compiled form holds the encoder and the part of the file it does not replace, not the table
    /// alone: `tokenizerWithPipeline` gives that part for the formats that carry their pipeline; for a
    /// SentencePiece model or an ungreedy vocabulary, read through `Scheme.makeTokenizer`,
    /// `VocabularyRegistry.assembleKeepingPipeline` does.
    var storesCompiledPipeline: Bool { self == .tokenizerJSON || self == .gguf || self == .sentencePiece || self == .ungreedy }

    /// The tokenizer a file of this format holds, from its bytes; nil for `.tiktoken`, whose pattern and
    /// special tokens come from elsewhere (a manifest, `--pattern`). A GGUF file's bytes are its metadata (a
    /// gzipped vocabulary file); a GGUF model on disk is read with `GGUFMetadata.read(path:)` instead.
    func tokenizer(from content: [UInt8], name: String, path: String) throws(TokcError) -> Tokenizer? {
        switch self {
        case .ungreedy: return try UngreedyFormat.load(content, name: name, path: path)
        // A Hugging Face tokenizer.json carries its own pattern and added tokens.
        case .tokenizerJSON: return try TokenizerJSONFormat.load(content, name: name, path: path)
        case .sentencePiece: return try SentencePieceFormat.load(content, name: name, path: path)
        // BERT's vocab.txt: tokens only, so the pipeline is BERT's (uncased, as its name says nothing else).
        case .bertVocabulary: return WordPieceFormat.bertTokenizer(try WordPieceFormat.parse(content, path: path), name: name)
        case .tekken: return try TekkenFormat.load(content, name: name, path: path)
        case .gguf:
            var reader = GGUFMetadata.Reader(bytes: content, path: path)
            return try GGUFFormat.load(try GGUFMetadata.parse(&reader), name: name, path: path)
        case .tiktoken: return nil
        }
    }

    /// As `tokenizer(from:name:path:)`, with what to store beside a compiled encoder (`CompiledEncoder`) for the
    /// formats that have a compiled form: the pipeline's part of the file (`tokenizer(pipeline:encoder:name:path:)`
    /// reads it back). Nil beside the tokenizer for the other formats and when the encoder has no compiled form.
    func tokenizerWithPipeline(from content: [UInt8], name: String, path: String) throws(TokcError) -> (tokenizer: Tokenizer, pipeline: [UInt8]?)? {
        switch self {
        case .tokenizerJSON:
            let tokenizer = try TokenizerJSONFormat.load(content, name: name, path: path)
            guard CompiledEncoder.hasCompiledForm(tokenizer.encoder) else { return (tokenizer, nil) }
            return (tokenizer, try TokenizerJSONFormat.pipelineSource(content, path: path))
        case .gguf:
            var reader = GGUFMetadata.Reader(bytes: content, path: path)
            return try GGUFFormat.loadCompilable(try GGUFMetadata.parse(&reader), name: name, path: path)
        default:
            return try tokenizer(from: content, name: name, path: path).map { ($0, nil) }
        }
    }

    /// The tokenizer from what `tokenizerWithPipeline` gave to store and the encoder compiled with it; nil for a
    /// format without a compiled form.
    func tokenizer(pipeline: [UInt8], encoder: any Encoder, name: String, path: String) throws(TokcError) -> Tokenizer? {
        switch self {
        case .tokenizerJSON: return try TokenizerJSONFormat.load(pipeline, name: name, path: path, encoder: encoder)
        case .gguf: return try GGUFFormat.load(pipelineSource: pipeline, encoder: encoder, name: name, path: path)
        default: return nil
        }
    }

    /// What each format looks like, for the error that lists them.
    static let readable = "GGUF, Hugging Face tokenizer.json, Tekken JSON, tokc-ungreedy JSON, SentencePiece .model, "
        + ".tiktoken (base64 and rank per line) or BERT vocab.txt (one token per line)"

    /// Whether the file starts as GGUF does. Decided from the first bytes alone, so that a model file is never
    /// read whole (its metadata reader reads what it needs).
    public static func isGGUF(head: some Collection<UInt8>) -> Bool {
        head.starts(with: GGUFMetadata.magic)
    }

    /// The format of a vocabulary file whose bytes are `content`, or an error saying what the file looks like
    /// and what tokc reads.
    public static func detect(_ content: [UInt8], path: String) throws(TokcError) -> VocabularyFileFormat {
        if isGGUF(head: content) { return .gguf }
        let firstNonSpace = content.first { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }
        if firstNonSpace == UInt8(ascii: "{") {
            // The ungreedy file's `format` member, which tokc writes first, names it.
            if contains(content.prefix(512), "\"\(UngreedyFormat.formatName)\"") { return .ungreedy }
            return looksLikeTekken(content) ? .tekken : .tokenizerJSON
        }
        if looksLikeSentencePiece(content) { return .sentencePiece }
        let firstLine = content.prefix { $0 != 0x0A }
        if looksLikeTiktokenLine(firstLine) { return .tiktoken }
        if looksLikeTokenLines(content) { return .bertVocabulary }
        throw .invalidVocabulary(path: path, reason: "\(description(of: content)), which is no vocabulary format tokc reads (\(readable))")
    }

    /// Tekken's top level has `config` and a `vocab` whose entries carry `token_bytes`, near the start (the
    /// config is a few hundred bytes); tokenizer.json has neither.
    private static func looksLikeTekken(_ content: [UInt8]) -> Bool {
        let head = content.prefix(1 << 16)
        return contains(head, "\"config\"") && contains(head, "\"token_bytes\"")
    }

    /// Whether `text`'s UTF-8 occurs in `bytes`.
    private static func contains(_ bytes: ArraySlice<UInt8>, _ text: String) -> Bool {
        let needle = Array(text.utf8)
        guard bytes.count >= needle.count else { return false }
        var index = bytes.startIndex
        while index <= bytes.endIndex - needle.count {
            if bytes[index] == needle[0] && bytes[index..<(index + needle.count)].elementsEqual(needle) { return true }
            index += 1
        }
        return false
    }

    /// `ModelProto` starts with field 1 (`pieces`, length-delimited: 0x0A), a varint length, and the piece's own
    /// field 1 (its text: 0x0A again); the length must fit in the file.
    private static func looksLikeSentencePiece(_ content: [UInt8]) -> Bool {
        guard content.count > 3, content[0] == 0x0A else { return false }
        var length = 0, shift = 0, index = 1
        while index < content.count && index < 6 {
            length |= Int(content[index] & 0x7F) << shift
            shift += 7
            index += 1
            if content[index - 1] & 0x80 == 0 { break }
        }
        return length > 0 && index + length <= content.count && index < content.count && content[index] == 0x0A
    }

    /// `base64 SP decimal` with nothing else: the shape of every `.tiktoken` line.
    static func looksLikeTiktokenLine(_ line: some Collection<UInt8>) -> Bool {
        guard let space = line.firstIndex(of: 0x20) else { return false }
        let token = line[..<space], rank = line[line.index(after: space)...].filter { $0 != 0x0D }
        let base64 = token.allSatisfy { $0 == 0x2B || $0 == 0x2F || $0 == 0x3D || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }
        return !token.isEmpty && base64 && !rank.isEmpty && rank.allSatisfy { (0x30...0x39).contains($0) }
    }

    /// UTF-8 with at least one line break and no space or tab anywhere: a token per line.
    private static func looksLikeTokenLines(_ content: [UInt8]) -> Bool {
        guard String(validating: content, as: UTF8.self) != nil, content.contains(0x0A) else { return false }
        return !content.contains(0x20) && !content.contains(0x09)
    }

    /// A short account of what the bytes look like.
    static func description(of content: [UInt8]) -> String {
        if content.isEmpty { return "the file is empty" }
        let head = Array(content.prefix(4096))
        // Text: well-formed UTF-8 without NUL, up to a character the 4 KiB cut may have split.
        let wellFormed = head.withUnsafeBufferPointer { UTF8Scan.wellFormedEnd(in: $0, from: 0) }
        if wellFormed >= head.count - 3 && !head.contains(0) {
            let text = String(decoding: head[..<wellFormed], as: UTF8.self)
            let line = text.prefix { $0 != "\n" && $0 != "\r" }.prefix(40)
            return "the file is text that starts \(String(line).debugDescription)"
        }
        let bytes = content.prefix(8).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 0x10 ? "0" + hex : hex
        }
        return "the file is binary data that starts \(bytes.joined(separator: " "))"
    }
}
