@testable import Tokc
@testable import TokcServer
import TokcJinja
import TokcProtocol  // the ops, for the http-request target (built as a dependency of TokcServer)

#if canImport(Glibc)
import Glibc
#endif

/// One libFuzzer entry point for every target; `TOKC_FUZZ_TARGET` names the one a run exercises (scripts/fuzz
/// sets it). Each target states what must hold for every input; a broken invariant traps, and libFuzzer saves
/// the input as a crash.
enum FuzzTarget: String, CaseIterable {
    /// `.tiktoken` reader: any bytes give an encoder or a TokcError, never a crash.
    case tiktokenFile = "tiktoken-file"
    /// Hugging Face tokenizer.json reader (BPE, WordPiece, Unigram, normalisers, pre-tokenizers).
    case tokenizerJSON = "tokenizer-json"
    /// BERT's vocab.txt reader.
    case vocabTxt = "vocab-txt"
    /// SentencePiece `.model` reader (protobuf wire format, normaliser's charsmap).
    case sentencePieceModel = "sentencepiece-model"
    /// tokc's ungreedy vocabulary reader.
    case ungreedyFile = "ungreedy-file"
    /// GGUF metadata reader: any bytes give the metadata (having read no more than the input) or an error
    /// naming a byte inside the input, never a crash; the tokenizer that metadata describes is assembled or
    /// refused with an error, and one that assembles encodes; and the format detection on the same bytes.
    case ggufMetadata = "gguf-metadata"
    /// Mistral's Tekken reader: any bytes give a tokenizer (which encodes) or a TokcError, never a crash.
    case tekkenFile = "tekken-file"
    /// Every shipped vocabulary on the input bytes: count == encode.count; decode(encode(x)) == x for the
    /// lossless ones (byte-level BPE, ungreedy); pieces never cross the input; no crash.
    case encoders = "encoders"
    /// The daemon's request parser on one line: a request or an error object, never a crash.
    case daemonRequest = "daemon-request"
    /// An HTTP request body into the same parser as `POST /v1/<op>` reads it (the first byte picks the op, the
    /// rest is the body): a request of the URL's op that names no files, or an error, never a crash; and the
    /// body as a `Host` value through the address check.
    case httpRequest = "http-request"
    /// A chat template's source: it parses or is a JinjaError; one that parses renders a fixed conversation
    /// within small limits or stops with one (an endless loop or doubling output must stop, not hang).
    case chatTemplate = "chat-template"
    /// A chat request body through qwen2.5's shipped template, Mistral's v3 and v7 encodings (tekken,
    /// mistral-v7) and harmony (o200k_harmony): a prompt whose ids are in the vocabulary, or a TokcError, never
    /// a crash.
    case chatRequest = "chat-request"
    /// The built-in patterns' split (the ASCII tier, the word and CJK shortcuts, then PCRE2) against PCRE2
    /// alone (the same pattern in a group, which no tier recognises), on any bytes: the same pieces.
    case preTokenizer = "pre-tokenizer"
    /// BERT's fused loop (`WordPieceEncoder.encodeBert`) against its normaliser, split and WordPiece run in
    /// turn, for the four settings it runs, on any bytes: the same ids.
    case bert = "bert"

    static let selected: FuzzTarget = {
        let name = getenv("TOKC_FUZZ_TARGET").map { String(cString: $0) } ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            report("set TOKC_FUZZ_TARGET to one of \(allCases.map(\.rawValue).joined(separator: ", "))")
            exit(2)
        }
        return target
    }()
}

/// The shipped vocabularies, loaded once (by name, through the standard registry) for the `encoders` target.
let shippedTokenizers: [(tokenizer: Tokenizer, lossless: Bool)] = {
    let lossless: Set<String> = [
        "o200k_base", "cl100k_base", "r50k_base", "p50k_base", "o200k_harmony", "llama3", "deepseek-v3", "ungreedy-multi-8k",
        "glm-4", "tekken",
    ]
    do {
        return try VocabularyRegistry.standard.vocabularies().map { located in
            (try VocabularyRegistry.standard.load(located), lossless.contains(located.entry.name))
        }
    } catch {
        report("cannot load the shipped vocabularies: \(error)")
        exit(2)
    }
}()

/// The fixed conversation the `chat-template` target renders.
let fuzzConversation: [String: JinjaValue] = {
    let request = #"{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi <|im_start|> 日本"},"# +
        #"{"role":"assistant","content":"","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{\"a\":[1,2.5,null]}"}}]},"# +
        #"{"role":"tool","content":"ok"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]}"#
    guard let value = try? JinjaValue.parseJSON(request), let variables = try? ChatTemplateInput.variables(request: value,
        specialTokens: ["bos_token": "<s>", "eos_token": "</s>"]) else {
        report("the fuzz conversation does not parse")
        exit(2)
    }
    return variables
}()

/// The `chat-request` target's vocabularies and how each counts a request: qwen2.5 through its shipped
/// template, tekken and mistral-v7 through Mistral's encodings, o200k_harmony through harmony.
let fuzzChats: [(Tokenizer, ChatCounting)] = {
    ["qwen2.5", "tekken", "mistral-v7", "o200k_harmony"].map { name in
        guard let tokenizer = try? Tokenizer.named(name), let counting = try? VocabularyRegistry.standard.chatCounting(for: name) else {
            report("cannot load \(name) and its chat counting")
            exit(2)
        }
        return (tokenizer, counting)
    }
}()

/// Writes a line to standard error (descriptor 2: the C `stderr` global is not concurrency-safe to name).
func report(_ message: String) {
    let line = Array("tokc-fuzz: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition {
        report("invariant broken: \(message())")
        abort()
    }
}

/// Each built-in pattern with a shortcut, split by the tiers and by PCRE2 alone.
let fuzzSplits: [(pattern: String, tiered: RegexPreTokenizer, plain: RegexPreTokenizer)] = {
    let patterns = [
        RegexPreTokenizer.Named.o200k.pattern, RegexPreTokenizer.Named.cl100k.pattern, RegexPreTokenizer.Named.llama3.pattern,
        RegexPreTokenizer.WordShortcut.llama3Spelled, RegexPreTokenizer.WordShortcut.qwen, RegexPreTokenizer.Named.kimi.pattern,
    ]
    do {
        return try patterns.map { ($0, try RegexPreTokenizer(pattern: $0), try RegexPreTokenizer(pattern: "(?:" + $0 + ")")) }
    } catch {
        report("a built-in pattern does not compile: \(error)")
        exit(2)
    }
}()

/// bert-base-uncased's WordPiece encoder under each setting the fused loop runs, for the `bert` target.
let fuzzBert: (encoder: WordPieceEncoder, normalizers: [BertNormalizer]) = {
    guard let encoder = (try? Tokenizer.named("bert-base-uncased"))?.encoder as? WordPieceEncoder else {
        report("cannot load bert-base-uncased")
        exit(2)
    }
    let normalizers = [(true, true), (false, false), (true, false), (false, true)].map {
        BertNormalizer(stripAccents: $0.0, lowercase: $0.1)
    }
    return (encoder, normalizers)
}()

/// The pieces of `bytes` as byte ranges.
func pieceRanges(_ bytes: [UInt8], _ preTokenizer: RegexPreTokenizer) -> [Range<Int>] {
    bytes.withUnsafeBufferPointer { buffer in
        var ranges: [Range<Int>] = []
        preTokenizer.forEachPiece(in: buffer) { piece in
            let start = piece.baseAddress! - buffer.baseAddress!
            ranges.append(start..<(start + piece.count))
        }
        return ranges
    }
}

/// libFuzzer calls this once, before the first input and outside the per-input timeout: the `encoders` target
/// loads every shipped vocabulary here. Loaded lazily by the first input instead, their tables took longer than
/// the 10 s an input may take in the debug AddressSanitizer build on a busy machine (a CI run failed so).
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(
    _ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?
) -> CInt {
    if FuzzTarget.selected == .encoders { _ = shippedTokenizers.count }
    if FuzzTarget.selected == .bert { _ = fuzzBert.normalizers.count }
    if FuzzTarget.selected == .chatRequest {
        // Each vocabulary's tables built on first use (whole characters, merge cuts) are built here, not inside
        // the first input: in the debug AddressSanitizer build they took 13 s, past libFuzzer's slow-unit line.
        let warmUp = String(repeating: "日本語の文章と中文的句子、한국어 문장 and English words. ", count: 8)
        for (tokenizer, _) in fuzzChats { _ = tokenizer.count(warmUp) }
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: data == nil ? 0 : size))
    switch FuzzTarget.selected {
    case .tiktokenFile:
        _ = try? TiktokenFormat.parse(bytes, path: "fuzz.tiktoken")
    case .tokenizerJSON:
        if let tokenizer = try? TokenizerJSONFormat.load(bytes, name: "fuzz", path: "fuzz.json") {
            _ = tokenizer.encode("Hello wörld 日本語 ")
        }
    case .vocabTxt:
        _ = try? WordPieceFormat.parse(bytes, path: "fuzz.txt")
    case .sentencePieceModel:
        if let tokenizer = try? SentencePieceFormat.load(bytes, name: "fuzz", path: "fuzz.model") {
            _ = tokenizer.encode("Hello wörld 日本語 ")
        }
    case .ungreedyFile:
        if let tokenizer = try? UngreedyFormat.load(bytes, name: "fuzz", path: "fuzz.json") {
            _ = tokenizer.encode("Hello wörld 日本語 ")
        }
    case .ggufMetadata:
        var reader = GGUFMetadata.Reader(bytes: bytes, path: "fuzz.gguf")
        do {
            let metadata = try GGUFMetadata.parse(&reader)
            check(metadata.bytesRead <= bytes.count, "read \(metadata.bytesRead) of \(bytes.count) bytes")
            if let tokenizer = try? GGUFFormat.load(metadata, name: "fuzz", path: "fuzz.gguf") {
                let ids = tokenizer.encode("Hello wörld 日本語 \n\n", allowedSpecial: .all)
                check(ids.allSatisfy { Int($0) < tokenizer.vocabularySize }, "an id outside the GGUF vocabulary")
            }
        } catch let .invalidVocabulary(_, reason) {
            let offset = Int(reason.dropFirst("byte ".count).prefix { $0.isNumber }) ?? -1
            check(reason.hasPrefix("byte ") && offset >= 0 && offset <= bytes.count, "error names no byte of the input: \(reason)")
        } catch {
            check(false, "an error other than invalidVocabulary: \(error)")
        }
        _ = try? VocabularyFileFormat.detect(bytes, path: "fuzz")
    case .tekkenFile:
        if let tokenizer = try? TekkenFormat.load(bytes, name: "fuzz", path: "fuzz.json") {
            let ids = tokenizer.encode("Hello wörld 日本語 [INST]", allowedSpecial: .all)
            check(ids.allSatisfy { Int($0) < tokenizer.vocabularySize }, "an id outside the Tekken vocabulary")
        }
    case .encoders:
        for (tokenizer, lossless) in shippedTokenizers {
            let ids = tokenizer.encode(bytes)
            check(tokenizer.count(bytes) == ids.count, "\(tokenizer.name): count \(tokenizer.count(bytes)) != \(ids.count) ids")
            check(ids.allSatisfy { Int($0) < tokenizer.encoder.idLimit }, "\(tokenizer.name): an id outside the vocabulary")
            if lossless {
                let decoded = try? tokenizer.decode(ids)
                check(decoded == bytes, "\(tokenizer.name): decode(encode(x)) != x")
            }
        }
    case .daemonRequest:
        bytes.withUnsafeBytes { line in _ = RequestParser.parse(line) }
    case .httpRequest:
        guard let first = bytes.first else { break }
        let op = Op.allCases[Int(first) % Op.allCases.count]
        Array(bytes.dropFirst()).withUnsafeBytes { body in
            if case let .success(request) = RequestParser.parse(body, face: .http(op: op)) {
                check(request.op == op, "the body's op \(request.op) won over the URL's \(op)")
                check(request.paths == nil, "a request with paths accepted over HTTP")
            }
        }
        _ = HTTPHandler.isAddressLiteral(String(decoding: bytes.dropFirst(), as: UTF8.self), port: Int(first) * 257)
    case .chatTemplate:
        let source = String(decoding: bytes, as: UTF8.self)
        if let template = try? JinjaTemplate(source) {
            let limits = JinjaLimits(outputBytes: 1 << 20, loopIterations: 100_000, callDepth: 32)
            if let output = try? template.render(fuzzConversation, limits: limits) {
                check(output.utf8.count <= (1 << 20) + (1 << 20), "output of \(output.utf8.count) bytes past the limit")
            }
        }
    case .preTokenizer:
        for (pattern, tiered, plain) in fuzzSplits {
            let pieces = pieceRanges(bytes, tiered)
            check(pieces == pieceRanges(bytes, plain), "\(pattern.prefix(24)): the tiers split \(bytes) otherwise than PCRE2")
        }
    case .bert:
        bytes.withUnsafeBufferPointer { text in
            for normalizer in fuzzBert.normalizers {
                var general = IDSink()
                let normalized = normalizer.normalize(text) ?? Array(text)
                normalized.withUnsafeBufferPointer {
                    BertPreTokenizer().forEachPiece(in: $0) { fuzzBert.encoder.encode(piece: $0, into: &general) }
                }
                var fused = IDSink()
                fuzzBert.encoder.encodeBert(text, map: BertCharacterMap.forNormalizer(normalizer)!, into: &fused)
                check(fused.ids == general.ids, "bert (strip \(normalizer.stripAccents), lowercase \(normalizer.lowercase)): fused \(fused.ids) != \(general.ids) on \(bytes)")
            }
        }
    case .chatRequest:
        guard let request = try? JinjaValue.parseJSON(bytes) else { break }
        for (tokenizer, counting) in fuzzChats {
            if let prompt = try? counting.encode(request, tokenizer: tokenizer) {
                check(prompt.ids.allSatisfy { Int($0) < tokenizer.vocabularySize }, "an id outside \(tokenizer.name)")
            }
        }
    }
    return 0
}
