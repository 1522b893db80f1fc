/// The daemon's wire format: one JSON object per line each way (docs/protocol.md). These types are the
/// protocol's single definition; the server decodes requests and encodes responses with them, the client the
/// other way round.

/// A request's `id`, echoed in its response: a number, a string, or absent (`null`).
public enum RequestID: Codable, Hashable, Sendable, CustomStringConvertible {
    case number(Int64)
    case string(String)
    case none

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .none
        } else if let number = try? container.decode(Int64.self) {
            self = .number(number)
        } else if let text = try? container.decode(String.self) {
            self = .string(text)
        } else {
            throw DecodingError.typeMismatch(
                RequestID.self, .init(codingPath: decoder.codingPath, debugDescription: "an id is an integer or a string"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case let .number(number): try container.encode(number)
        case let .string(text): try container.encode(text)
        case .none: try container.encodeNil()
        }
    }

    public var description: String {
        switch self {
        case let .number(number): return String(number)
        case let .string(text): return text
        case .none: return "null"
        }
    }
}

/// What a request asks for.
public enum Op: String, Codable, Sendable, CaseIterable {
    case count, encode, decode, cost, vocabularies, models, health, stats
    /// Chat requests counted through the vocabulary's chat template.
    case countChat = "count_chat"
}

/// A request. Which fields an operation reads is in docs/protocol.md; a field the operation does not read, or
/// a key the protocol does not have, is an error, so a typo is never silently ignored.
public struct Request: Codable, Sendable, Equatable {
    public var id: RequestID
    public var op: Op
    /// Texts to count, encode or price, as UTF-8 strings.
    public var texts: [String]?
    /// Absolute paths of files the daemon reads itself, byte for byte (any bytes, not only UTF-8).
    public var paths: [String]?
    /// A vocabulary name; absent means the model's vocabulary, or the default one.
    public var vocab: String?
    /// A model name from the price table.
    public var model: String?
    /// Token id lists to decode.
    public var ids: [[UInt32]]?
    /// Recognise special tokens in the texts (default false: their text is ordinary text).
    public var allowSpecial: Bool?
    /// Expected output tokens, priced at the model's output price (cost; default 0).
    public var outputTokens: Int?
    /// The token budget for `cost`; default the model's input context window.
    public var budget: Int?
    /// `encode` also answers each token's span in the text (default false).
    public var offsets: Bool?
    /// `encode` also answers the spans as parallel number lists, `offset_arrays` (default false): the compact
    /// form, without the tokens' spellings, that the playground asks for.
    public var offsetArrays: Bool?

    public init(
        id: RequestID = .none, op: Op, texts: [String]? = nil, paths: [String]? = nil,
        vocab: String? = nil, model: String? = nil, ids: [[UInt32]]? = nil, allowSpecial: Bool? = nil,
        outputTokens: Int? = nil, budget: Int? = nil, offsets: Bool? = nil, offsetArrays: Bool? = nil
    ) {
        self.id = id
        self.op = op
        self.texts = texts
        self.paths = paths
        self.vocab = vocab
        self.model = model
        self.ids = ids
        self.allowSpecial = allowSpecial
        self.outputTokens = outputTokens
        self.budget = budget
        self.offsets = offsets
        self.offsetArrays = offsetArrays
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case id, op, texts, paths, vocab, model, ids, budget, offsets
        /// `count_chat`'s OpenAI chat-completions bodies (read by the daemon; `TokcClient.countChat` splices them in as
        /// JSON text, so this type does not carry them).
        case requests
        case allowSpecial = "allow_special"
        case outputTokens = "output_tokens"
        case offsetArrays = "offset_arrays"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decodeIfPresent(RequestID.self, forKey: .id) ?? .none
        op = try container.decode(Op.self, forKey: .op)
        texts = try container.decodeIfPresent([String].self, forKey: .texts)
        paths = try container.decodeIfPresent([String].self, forKey: .paths)
        vocab = try container.decodeIfPresent(String.self, forKey: .vocab)
        model = try container.decodeIfPresent(String.self, forKey: .model)
        // Read wide and checked here, so an out-of-range id is named with its place, not "not valid JSON".
        ids = try container.decodeIfPresent([[Int64]].self, forKey: .ids).map { lists in
            try lists.enumerated().map { list, ids in
                try ids.enumerated().map { position, id in
                    guard let token = UInt32(exactly: id) else {
                        throw DecodingError.dataCorruptedError(
                            forKey: .ids, in: container,
                            debugDescription: "ids[\(list)][\(position)] is \(id), not a token id (0 to 4294967295)")
                    }
                    return token
                }
            }
        }
        allowSpecial = try container.decodeIfPresent(Bool.self, forKey: .allowSpecial)
        outputTokens = try container.decodeIfPresent(Int.self, forKey: .outputTokens)
        budget = try container.decodeIfPresent(Int.self, forKey: .budget)
        offsets = try container.decodeIfPresent(Bool.self, forKey: .offsets)
        offsetArrays = try container.decodeIfPresent(Bool.self, forKey: .offsetArrays)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if id != .none { try container.encode(id, forKey: .id) }
        try container.encode(op, forKey: .op)
        try container.encodeIfPresent(texts, forKey: .texts)
        try container.encodeIfPresent(paths, forKey: .paths)
        try container.encodeIfPresent(vocab, forKey: .vocab)
        try container.encodeIfPresent(model, forKey: .model)
        try container.encodeIfPresent(ids, forKey: .ids)
        try container.encodeIfPresent(allowSpecial, forKey: .allowSpecial)
        try container.encodeIfPresent(outputTokens, forKey: .outputTokens)
        try container.encodeIfPresent(budget, forKey: .budget)
        try container.encodeIfPresent(offsets, forKey: .offsets)
        try container.encodeIfPresent(offsetArrays, forKey: .offsetArrays)
    }
}

// MARK: - Errors

/// Why a request failed. The daemon answers every failure with `{"id":…, "error":{"code":…, "message":…}}`
/// and goes on serving.
public enum ErrorCode: String, Codable, Sendable, CaseIterable {
    /// The line is not JSON, or not a JSON object.
    case malformedJSON = "malformed_json"
    /// `op` names no operation.
    case unknownOp = "unknown_op"
    /// A field has the wrong type, is missing, is not one the operation reads, or has an impossible value.
    case invalidRequest = "invalid_request"
    case unknownVocab = "unknown_vocab"
    case unknownModel = "unknown_model"
    /// The model is known but no vocabulary counts its tokens; name one in `vocab` for an estimate.
    case noTokenizer = "no_tokenizer"
    case unknownTokenID = "unknown_token_id"
    case unreadableFile = "unreadable_file"
    /// The line is longer than the daemon's `--max-request-bytes`.
    case requestTooLarge = "request_too_large"
    /// A vocabulary or price file on the daemon's side is damaged.
    case serverData = "server_data"
    /// The chat format refuses the conversation (a template's `raise_exception`, Mistral's or harmony's checks); the message is its own.
    case templateRefused = "template_refused"
    /// A chat template that does not parse, or uses a construct tokc does not support (the message names it).
    case invalidTemplate = "invalid_template"
}

public struct ErrorBody: Codable, Sendable, Equatable, Error {
    public var code: ErrorCode
    public var message: String

    public init(code: ErrorCode, message: String) {
        self.code = code
        self.message = message
    }
}

public struct ErrorResponse: Codable, Sendable, Equatable {
    public var id: RequestID
    public var error: ErrorBody

    public init(id: RequestID, error: ErrorBody) {
        self.id = id
        self.error = error
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)  // `null` when the request had none: always present
        try container.encode(error, forKey: .error)
    }
}

// MARK: - Responses

/// The answer to `count_chat`: the prompt tokens of each request as its chat template renders it.
public struct ChatCountResponse: Codable, Sendable, Equatable {
    public struct Item: Codable, Sendable, Equatable {
        public var tokens: Int
        public var contentTokens: Int
        public var templateTokens: Int

        public init(tokens: Int, contentTokens: Int, templateTokens: Int) {
            self.tokens = tokens
            self.contentTokens = contentTokens
            self.templateTokens = templateTokens
        }

        enum CodingKeys: String, CodingKey {
            case tokens
            case contentTokens = "content_tokens"
            case templateTokens = "template_tokens"
        }
    }

    public var id: RequestID
    public var vocab: String
    /// What rendered the requests: the vocabulary's name (its chat template), "mistral-v3" / "mistral-v7"
    /// (Mistral's request encoding), "harmony" (gpt-oss), or "openai-estimate".
    public var template: String
    /// True, with a note, when the counts are OpenAI's published estimate rather than a rendered prompt.
    public var approximate: Bool?
    public var note: String?
    public var requests: [Item]
    public var total: Int

    public init(id: RequestID, vocab: String, template: String, requests: [Item]) {
        self.id = id
        self.vocab = vocab
        self.template = template
        self.requests = requests
        self.total = requests.reduce(0) { $0 + $1.tokens }
    }
}

public struct CountResponse: Codable, Sendable, Equatable {
    public var id: RequestID
    /// The vocabulary that counted.
    public var vocab: String
    /// The model named in the request, if any, and whether its count is an estimate (and why).
    public var model: String?
    public var approximate: Bool?
    public var note: String?
    /// Tokens per text (or path), in request order.
    public var counts: [Int]
    /// UTF-8 bytes per text (or file size), in request order.
    public var bytes: [Int]
    public var total: Int

    public init(id: RequestID, vocab: String, model: String? = nil, approximate: Bool? = nil, note: String? = nil, counts: [Int], bytes: [Int]) {
        self.id = id
        self.vocab = vocab
        self.model = model
        self.approximate = approximate
        self.note = note
        self.counts = counts
        self.bytes = bytes
        self.total = counts.reduce(0, +)
    }
}

public struct EncodeResponse: Codable, Sendable, Equatable {
    public var id: RequestID
    public var vocab: String
    /// One id list per text, in request order.
    public var ids: [[UInt32]]
    /// With `"offsets": true`: one list per text, a `TokenOffset` per token, in the order of `ids`.
    public var offsets: [[TokenOffset]]?
    /// With `"offset_arrays": true`: one `OffsetArrays` per text, the same spans as `offsets` without spellings.
    public var offsetArrays: [OffsetArrays]?

    public init(id: RequestID, vocab: String, ids: [[UInt32]], offsets: [[TokenOffset]]? = nil, offsetArrays: [OffsetArrays]? = nil) {
        self.id = id
        self.vocab = vocab
        self.ids = ids
        self.offsets = offsets
        self.offsetArrays = offsetArrays
    }

    public enum CodingKeys: String, CodingKey {
        case id, vocab, ids, offsets
        case offsetArrays = "offset_arrays"
    }
}

/// The spans of one text's tokens as parallel lists, `{"start":[…],"end":[…],"utf16_start":[…],"utf16_end":[…]}`:
/// token `k` (`ids[k]`) spans bytes `start[k]..<end[k]`, UTF-16 units `utf16_start[k]..<utf16_end[k]`, as
/// `TokenOffset` has them. A few numbers a token instead of an object with a string: about a quarter of the bytes
/// to write and parse.
public struct OffsetArrays: Codable, Sendable, Equatable {
    public var start: [Int]
    public var end: [Int]
    public var utf16Start: [Int]
    public var utf16End: [Int]

    public init(start: [Int] = [], end: [Int] = [], utf16Start: [Int] = [], utf16End: [Int] = []) {
        self.start = start
        self.end = end
        self.utf16Start = utf16Start
        self.utf16End = utf16End
    }

    public enum CodingKeys: String, CodingKey {
        case start, end
        case utf16Start = "utf16_start"
        case utf16End = "utf16_end"
    }
}

/// A token and where it is in the text: `{"id":…, "start":…, "end":…, "utf16_start":…, "utf16_end":…,
/// "text":…}` (or `"hex"` in place of `"text"`). `start..<end` are UTF-8 byte offsets into the text as sent (or
/// the file's bytes), `utf16_start..<utf16_end` the same span in UTF-16 code units (JavaScript string indices).
/// Spans are in the original text, before any normaliser, and start and end on character boundaries (see
/// `Tokc.TokenSpan` and docs/protocol.md). `text` is the token's own bytes as the vocabulary spells them
/// (`Ġ`-free: ` world`; `▁world`, `##ing`, `<|endoftext|>`) when they are UTF-8, else `hex` holds them in
/// lower-case hex (a byte-level token that ends inside a character, a `<0xE2>` byte-fallback token).
public struct TokenOffset: Codable, Sendable, Equatable {
    public var id: UInt32
    public var start: Int
    public var end: Int
    public var utf16Start: Int
    public var utf16End: Int
    public var text: String?
    public var hex: String?

    public init(id: UInt32, start: Int, end: Int, utf16Start: Int, utf16End: Int, text: String? = nil, hex: String? = nil) {
        self.id = id
        self.start = start
        self.end = end
        self.utf16Start = utf16Start
        self.utf16End = utf16End
        self.text = text
        self.hex = hex
    }

    /// `text` when `bytes` are UTF-8, else `hex`.
    public init(id: UInt32, start: Int, end: Int, utf16Start: Int, utf16End: Int, bytes: [UInt8]) {
        if let text = String(validating: bytes, as: UTF8.self) {
            self.init(id: id, start: start, end: end, utf16Start: utf16Start, utf16End: utf16End, text: text)
        } else {
            let digits = Array("0123456789abcdef".utf8)
            var hex: [UInt8] = []
            hex.reserveCapacity(bytes.count * 2)
            for byte in bytes { hex += [digits[Int(byte >> 4)], digits[Int(byte & 15)]] }
            self.init(id: id, start: start, end: end, utf16Start: utf16Start, utf16End: utf16End, hex: String(decoding: hex, as: UTF8.self))
        }
    }

    public enum CodingKeys: String, CodingKey {
        case id, start, end, text, hex
        case utf16Start = "utf16_start"
        case utf16End = "utf16_end"
    }
}

public struct DecodeResponse: Codable, Sendable, Equatable {
    public var id: RequestID
    public var vocab: String
    /// One text per id list. Bytes that are not UTF-8 (a list that ends inside a character) are U+FFFD here.
    public var texts: [String]
    /// Whether each text had to replace bytes that were not UTF-8.
    public var lossy: [Bool]

    public init(id: RequestID, vocab: String, texts: [String], lossy: [Bool]) {
        self.id = id
        self.vocab = vocab
        self.texts = texts
        self.lossy = lossy
    }
}

public struct CostResponse: Codable, Sendable, Equatable {
    public struct Item: Codable, Sendable, Equatable {
        public var tokens: Int
        public var fits: Bool
        /// Where the budget runs out in this text, as a byte offset (its whole length when it fits).
        public var budgetEndByte: Int

        public init(tokens: Int, fits: Bool, budgetEndByte: Int) {
            self.tokens = tokens
            self.fits = fits
            self.budgetEndByte = budgetEndByte
        }

        enum CodingKeys: String, CodingKey {
            case tokens, fits
            case budgetEndByte = "budget_end_byte"
        }
    }

    public var id: RequestID
    public var model: String
    public var vocab: String
    /// True when `vocab` is not the model's own tokenizer: the counts are an estimate, `note` says why.
    public var approximate: Bool
    public var note: String?
    public var inputTokens: Int
    public var outputTokens: Int
    /// US dollars; nil when the price table has no such price.
    public var inputCostUSD: Double?
    public var outputCostUSD: Double?
    public var costUSD: Double?
    /// The model's input context window, and the budget the texts were measured against (default: the window).
    public var contextWindow: Int?
    public var budget: Int
    /// All texts together fit the budget.
    public var fits: Bool
    public var items: [Item]
    public var priceSource: String?
    public var priceDate: String?

    public init(
        id: RequestID, model: String, vocab: String, approximate: Bool, note: String?, inputTokens: Int,
        outputTokens: Int, inputCostUSD: Double?, outputCostUSD: Double?, costUSD: Double?, contextWindow: Int?,
        budget: Int, fits: Bool, items: [Item], priceSource: String?, priceDate: String?
    ) {
        self.id = id
        self.model = model
        self.vocab = vocab
        self.approximate = approximate
        self.note = note
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.inputCostUSD = inputCostUSD
        self.outputCostUSD = outputCostUSD
        self.costUSD = costUSD
        self.contextWindow = contextWindow
        self.budget = budget
        self.fits = fits
        self.items = items
        self.priceSource = priceSource
        self.priceDate = priceDate
    }

    enum CodingKeys: String, CodingKey {
        case id, model, vocab, approximate, note, budget, fits, items
        case inputTokens = "input_tokens"
        case outputTokens = "output_tokens"
        case inputCostUSD = "input_cost_usd"
        case outputCostUSD = "output_cost_usd"
        case costUSD = "cost_usd"
        case contextWindow = "context_window"
        case priceSource = "price_source"
        case priceDate = "price_date"
    }
}

public struct VocabulariesResponse: Codable, Sendable, Equatable {
    public struct Vocabulary: Codable, Sendable, Equatable {
        public var name: String
        public var scheme: String
        public var vocabSize: Int
        /// Whether the daemon has it in memory now.
        public var loaded: Bool
        public var usedBy: String?
        public var source: String
        public var licence: String

        public init(name: String, scheme: String, vocabSize: Int, loaded: Bool, usedBy: String?, source: String, licence: String) {
            self.name = name
            self.scheme = scheme
            self.vocabSize = vocabSize
            self.loaded = loaded
            self.usedBy = usedBy
            self.source = source
            self.licence = licence
        }

        enum CodingKeys: String, CodingKey {
            case name, scheme, loaded, source, licence
            case vocabSize = "vocab_size"
            case usedBy = "used_by"
        }
    }

    public var id: RequestID
    /// Scheme → the vocabulary it uses when none is named.
    public var defaults: [String: String]
    public var vocabularies: [Vocabulary]

    public init(id: RequestID, defaults: [String: String], vocabularies: [Vocabulary]) {
        self.id = id
        self.defaults = defaults
        self.vocabularies = vocabularies
    }
}

public struct ModelsResponse: Codable, Sendable, Equatable {
    public struct Model: Codable, Sendable, Equatable {
        public var name: String
        public var provider: String?
        /// The family rule that gave the vocabulary (`model-families.json`).
        public var family: String?
        public var vocab: String?
        public var approximate: Bool
        public var note: String?
        public var maxInputTokens: Int?
        public var maxOutputTokens: Int?
        public var inputUSDPerMillion: Double?
        public var outputUSDPerMillion: Double?
        public var priceSource: String?
        public var priceDate: String?

        public init(
            name: String, provider: String?, family: String? = nil, vocab: String?, approximate: Bool, note: String?,
            maxInputTokens: Int?, maxOutputTokens: Int?, inputUSDPerMillion: Double?, outputUSDPerMillion: Double?,
            priceSource: String?, priceDate: String?
        ) {
            self.name = name
            self.provider = provider
            self.family = family
            self.vocab = vocab
            self.approximate = approximate
            self.note = note
            self.maxInputTokens = maxInputTokens
            self.maxOutputTokens = maxOutputTokens
            self.inputUSDPerMillion = inputUSDPerMillion
            self.outputUSDPerMillion = outputUSDPerMillion
            self.priceSource = priceSource
            self.priceDate = priceDate
        }

        enum CodingKeys: String, CodingKey {
            case name, provider, family, vocab, approximate, note
            case maxInputTokens = "max_input_tokens"
            case maxOutputTokens = "max_output_tokens"
            case inputUSDPerMillion = "input_usd_per_million"
            case outputUSDPerMillion = "output_usd_per_million"
            case priceSource = "price_source"
            case priceDate = "price_date"
        }
    }

    public var id: RequestID
    public var pricesFrom: String
    public var models: [Model]

    public init(id: RequestID, pricesFrom: String, models: [Model]) {
        self.id = id
        self.pricesFrom = pricesFrom
        self.models = models
    }

    enum CodingKeys: String, CodingKey {
        case id, models
        case pricesFrom = "prices_from"
    }
}

public struct HealthResponse: Codable, Sendable, Equatable {
    public var id: RequestID
    /// `ok`, or `draining` once a shutdown has begun.
    public var status: String
    public var version: String
    public var pid: Int32
    public var uptimeSeconds: Double

    public init(id: RequestID, status: String, version: String, pid: Int32, uptimeSeconds: Double) {
        self.id = id
        self.status = status
        self.version = version
        self.pid = pid
        self.uptimeSeconds = uptimeSeconds
    }

    enum CodingKeys: String, CodingKey {
        case id, status, version, pid
        case uptimeSeconds = "uptime_seconds"
    }
}

public struct StatsResponse: Codable, Sendable, Equatable {
    public var id: RequestID
    public var uptimeSeconds: Double
    public var connectionsOpen: Int
    public var connectionsTotal: Int
    /// Requests answered, by operation (`unknown` for lines that named none), and errors, by code.
    public var requests: [String: Int]
    public var errors: [String: Int]
    public var inFlight: Int
    /// Bytes of text counted or encoded, and the tokens they gave.
    public var bytesTokenized: Int
    public var tokens: Int
    public var loadedVocabularies: [String]
    /// The bytes of requests and answers held across all connections (`--max-memory` bounds them), the most
    /// held at once, the bound, and how many times a connection stopped reading to stay under it.
    public var memoryHeldBytes: Int?
    public var memoryPeakBytes: Int?
    public var maxMemoryBytes: Int?
    public var readsPaused: Int?

    public init(
        id: RequestID, uptimeSeconds: Double, connectionsOpen: Int, connectionsTotal: Int, requests: [String: Int],
        errors: [String: Int], inFlight: Int, bytesTokenized: Int, tokens: Int, loadedVocabularies: [String],
        memoryHeldBytes: Int? = nil, memoryPeakBytes: Int? = nil, maxMemoryBytes: Int? = nil, readsPaused: Int? = nil
    ) {
        self.memoryHeldBytes = memoryHeldBytes
        self.memoryPeakBytes = memoryPeakBytes
        self.maxMemoryBytes = maxMemoryBytes
        self.readsPaused = readsPaused
        self.id = id
        self.uptimeSeconds = uptimeSeconds
        self.connectionsOpen = connectionsOpen
        self.connectionsTotal = connectionsTotal
        self.requests = requests
        self.errors = errors
        self.inFlight = inFlight
        self.bytesTokenized = bytesTokenized
        self.tokens = tokens
        self.loadedVocabularies = loadedVocabularies
    }

    enum CodingKeys: String, CodingKey {
        case id, requests, errors, tokens
        case uptimeSeconds = "uptime_seconds"
        case connectionsOpen = "connections_open"
        case connectionsTotal = "connections_total"
        case inFlight = "in_flight"
        case bytesTokenized = "bytes_tokenized"
        case loadedVocabularies = "loaded_vocabularies"
        case memoryHeldBytes = "memory_held_bytes"
        case memoryPeakBytes = "memory_peak_bytes"
        case maxMemoryBytes = "max_memory_bytes"
        case readsPaused = "reads_paused"
    }
}
