import Dispatch
import Foundation
import Logging
import NIOCore
import Synchronization  // Atomic
import Tokc
import TokcJinja
import TokcProtocol

/// Turns one request line into one response line. Runs on the thread pool, never on the event loop; shared by
/// every connection, so everything it holds is immutable or behind a lock.
final class RequestProcessor: Sendable {
    let registry: VocabularyRegistry
    let catalog: ModelCatalog
    let stats: ServerStats
    let logger: Logger
    let version: String
    /// The vocabularies the manifests list, read once at start: the daemon loads only these, by name, never
    /// an arbitrary path a client sends.
    let vocabularies: [VocabularyRegistry.Located]
    let defaults: [String: String]
    private let loaded = Locked<[String: Tokenizer]>([:])
    /// How each vocabulary counts chat requests, its template parsed once.
    private let chatCountings = Locked<[String: ChatCounting]>([:])
    /// Serialises first loads, so a vocabulary wanted by many requests at once loads once.
    private let loading = Locked<Void>(())
    private let draining = Atomic<Bool>(false)
    let maxRequestBytes: Int
    /// The bytes held across connections, for `stats`.
    let budget: MemoryBudget
    /// How many threads one batch may spread over.
    let threads: Int

    init(
        registry: VocabularyRegistry, catalog: ModelCatalog, stats: ServerStats, logger: Logger, version: String,
        maxRequestBytes: Int, threads: Int, budget: MemoryBudget
    ) throws(TokcError) {
        self.budget = budget
        self.maxRequestBytes = maxRequestBytes
        self.threads = max(1, threads)
        self.registry = registry
        self.catalog = catalog
        self.stats = stats
        self.logger = logger
        self.version = version
        self.vocabularies = try registry.vocabularies()
        var defaults: [String: String] = [:]
        for scheme in Scheme.allCases {
            if let name = try? registry.defaultVocabulary(for: scheme) { defaults[scheme.rawValue] = name }
        }
        self.defaults = defaults
    }

    func beginDraining() { draining.store(true, ordering: .relaxed) }

    // MARK: - Lines in, lines out

    /// Lines at most this long that name no files are answered on the event loop.
    static let lightLineLimit = 16 * 1024

    /// Whether a frame is cheap enough to answer on the event loop: a short line that reads no files. The
    /// byte sequence `"paths"` can only be a key (inside a JSON string its quotes would be escaped), or the
    /// text "paths", which merely sends that request to the pool.
    static func isLight(_ frame: Frame) -> Bool {
        guard case let .line(line) = frame else { return true }
        guard line.readableBytes <= lightLineLimit else { return false }
        let key = Array(#""paths""#.utf8)
        return line.withUnsafeReadableBytes { raw in
            var index = raw.startIndex
            while let quote = raw[index...].firstIndex(of: key[0]) {
                if raw.count - quote >= key.count && raw[quote..<quote + key.count].elementsEqual(key) { return false }
                index = quote + 1
            }
            return true
        }
    }

    /// Where a request came from: the socket, or HTTP's `POST /v1/<op>`, whose URL names the op (the body may
    /// omit it) and which may not name files.
    enum Face: Sendable {
        case socket
        case http(op: Op)
    }

    /// The response to one frame, as one line ending in `\n`.
    func respond(to frame: Frame, allocator: ByteBufferAllocator) -> ByteBuffer {
        answer(frame, face: .socket, allocator: allocator).response
    }

    /// The response to one frame, as one line ending in `\n`, and its error code when it is an error.
    func answer(_ frame: Frame, face: Face, allocator: ByteBufferAllocator) -> (response: ByteBuffer, error: ErrorCode?) {
        let started = ContinuousClock.now
        var id = RequestID.none
        var op = "unknown"
        let body: Result<any Encodable, ErrorBody>
        switch frame {
        case let .tooLarge(bytes):
            body = .failure(ErrorBody(code: .requestTooLarge, message: "the request has \(bytes) bytes; this daemon takes at most \(maxRequestBytes) bytes per line (--max-request-bytes)"))
        case let .line(line):
            body = line.withUnsafeReadableBytes { raw in
                switch RequestParser.parse(raw, face: face) {
                case let .failure(failure):
                    id = failure.id
                    op = failure.op ?? op
                    return .failure(failure.error)
                case let .success(request):
                    id = request.id
                    op = request.op.rawValue
                    do throws(ErrorBody) {
                        return .success(try perform(request, line: raw))
                    } catch {
                        return .failure(error)
                    }
                }
            }
        }
        var output = allocator.buffer(capacity: 256)
        do {
            switch body {
            case let .success(response): try ResponseWriter.write(response, to: &output)
            case let .failure(error): ResponseWriter.write(ErrorResponse(id: id, error: error), to: &output)
            }
        } catch {
            output.clear()
            ResponseWriter.write(ErrorResponse(id: id, error: ErrorBody(code: .serverData, message: "the response could not be encoded: \(error)")), to: &output)
        }
        let failure: ErrorCode? = if case let .failure(error) = body { error.code } else { nil }
        stats.recordRequest(op: op, error: failure)
        if let failure {
            logger.info("request failed", metadata: ["id": "\(id)", "op": "\(op)", "code": "\(failure.rawValue)"])
        } else {
            logger.debug("request", metadata: ["id": "\(id)", "op": "\(op)", "duration": "\(ContinuousClock.now - started)"])
        }
        return (output, failure)
    }

    // MARK: - Operations

    private func perform(_ request: ParsedRequest, line: UnsafeRawBufferPointer) throws(ErrorBody) -> any Encodable {
        switch request.op {
        case .count: return try count(request, line: line)
        case .encode: return try encode(request, line: line)
        case .decode: return try decode(request)
        case .cost: return try cost(request, line: line)
        case .vocabularies: return listVocabularies(request)
        case .models: return listModels(request)
        case .health:
            return HealthResponse(
                id: request.id, status: draining.load(ordering: .relaxed) ? "draining" : "ok", version: version,
                pid: getpid(), uptimeSeconds: stats.uptimeSeconds)
        case .stats:
            var snapshot = stats.snapshot(id: request.id, loadedVocabularies: loaded.withLock { $0.keys.sorted() })
            let memory = budget.snapshot
            snapshot.memoryHeldBytes = memory.held
            snapshot.memoryPeakBytes = memory.peak
            snapshot.maxMemoryBytes = budget.limit
            snapshot.readsPaused = memory.pausedReads
            return snapshot
        case .countChat: return try countChat(request)
        }
    }

    private func countChat(_ request: ParsedRequest) throws(ErrorBody) -> ChatCountResponse {
        let (tokenizer, pricing) = try resolve(vocab: request.vocab, model: request.model)
        let counting: ChatCounting
        do {
            counting = try chatCounting(for: tokenizer.name)
        } catch {
            throw Self.errorBody(error)
        }
        var items: [ChatCountResponse.Item] = []
        for (index, chat) in (request.chatRequests ?? []).enumerated() {
            do {
                let (tokens, contentTokens) = try counting.count(chat, tokenizer: tokenizer, allowSpecial: request.allowSpecial)
                items.append(.init(tokens: tokens, contentTokens: contentTokens, templateTokens: tokens - contentTokens))
            } catch {
                var body = Self.errorBody(error)
                body.message = "requests[\(index)]: " + (error.description)
                throw body
            }
        }
        stats.recordTokenized(bytes: 0, tokens: items.reduce(0) { $0 + $1.tokens })
        var response = ChatCountResponse(id: request.id, vocab: tokenizer.name, template: counting.isApproximate ? "openai-estimate" : counting.encodingName ?? tokenizer.name, requests: items)
        // As `tokc count --chat --model`: a model's figure is an estimate when its vocabulary stands in, when it is
        // OpenAI's rule, or when the vocabulary's shipped template is not known to be the model's own format.
        let notes = [pricing?.note].compactMap { $0 }
            + counting.notes(model: request.model, vocabulary: tokenizer.name, templateGiven: false)
        if request.model != nil || !notes.isEmpty { response.approximate = !notes.isEmpty }
        if !notes.isEmpty { response.note = notes.joined(separator: "; ") }
        return response
    }

    /// How a vocabulary counts chat requests (its template parsed once), kept after first use.
    private func chatCounting(for name: String) throws(TokcError) -> ChatCounting {
        if let cached = chatCountings.withLock({ $0[name] }) { return cached }
        let counting = try registry.chatCounting(for: name)
        chatCountings.withLock { $0[name] = counting }
        return counting
    }

    private func count(_ request: ParsedRequest, line: UnsafeRawBufferPointer) throws(ErrorBody) -> CountResponse {
        let (tokenizer, pricing) = try resolve(vocab: request.vocab, model: request.model)
        let policy: SpecialTokenPolicy = request.allowSpecial ? .all : .none
        let results = try forEachInput(request, line: line) { bytes in (tokenizer.count(bytes, allowedSpecial: policy), bytes.count) }
        stats.recordTokenized(bytes: results.reduce(0) { $0 + $1.1 }, tokens: results.reduce(0) { $0 + $1.0 })
        return CountResponse(
            id: request.id, vocab: tokenizer.name, model: pricing?.model.name, approximate: pricing?.approximate,
            note: pricing?.note, counts: results.map(\.0), bytes: results.map(\.1))
    }

    private func encode(_ request: ParsedRequest, line: UnsafeRawBufferPointer) throws(ErrorBody) -> EncodeResponse {
        let (tokenizer, _) = try resolve(vocab: request.vocab, model: request.model)
        let policy: SpecialTokenPolicy = request.allowSpecial ? .all : .none
        guard request.offsets || request.offsetArrays else {
            let ids = try forEachInput(request, line: line) { bytes in
                var sink = IDSink(reservingCapacity: bytes.count / 4)
                tokenizer.encode(bytes, allowedSpecial: policy, into: &sink)
                return sink.ids
            }
            return EncodeResponse(id: request.id, vocab: tokenizer.name, ids: ids)
        }
        let (objects, arrays) = (request.offsets, request.offsetArrays)
        let answers = try forEachInput(request, line: line) { bytes in
            let spans = tokenizer.encodeWithOffsets(bytes, allowedSpecial: policy)
            let utf16 = UTF16Offsets(bytes)
            let tokens = objects ? spans.map { span in
                TokenOffset(id: span.id, start: span.start, end: span.end, utf16Start: utf16[span.start],
                            utf16End: utf16[span.end], bytes: tokenizer.tokenBytes(of: span.id) ?? [])
            } : nil
            var lists: OffsetArrays?
            if arrays {
                var list = OffsetArrays()
                list.start.reserveCapacity(spans.count)
                list.end.reserveCapacity(spans.count)
                list.utf16Start.reserveCapacity(spans.count)
                list.utf16End.reserveCapacity(spans.count)
                for span in spans {
                    list.start.append(span.start)
                    list.end.append(span.end)
                    list.utf16Start.append(utf16[span.start])
                    list.utf16End.append(utf16[span.end])
                }
                lists = list
            }
            return (ids: spans.map(\.id), tokens: tokens, arrays: lists)
        }
        return EncodeResponse(
            id: request.id, vocab: tokenizer.name, ids: answers.map(\.ids),
            offsets: objects ? answers.map { $0.tokens ?? [] } : nil,
            offsetArrays: arrays ? answers.map { $0.arrays ?? OffsetArrays() } : nil)
    }

    private func decode(_ request: ParsedRequest) throws(ErrorBody) -> DecodeResponse {
        let (tokenizer, _) = try resolve(vocab: request.vocab, model: request.model)
        var texts: [String] = []
        var lossy: [Bool] = []
        for (list, ids) in (request.ids ?? []).enumerated() {
            let bytes: [UInt8]
            do {
                bytes = try tokenizer.decode(ids)
            } catch {
                throw ErrorBody(code: .unknownTokenID, message: "ids[\(list)]: \(error)")
            }
            let text = String(decoding: bytes, as: UTF8.self)
            texts.append(text)
            lossy.append(text.utf8.count != bytes.count || !text.utf8.elementsEqual(bytes))
        }
        return DecodeResponse(id: request.id, vocab: tokenizer.name, texts: texts, lossy: lossy)
    }

    private func cost(_ request: ParsedRequest, line: UnsafeRawBufferPointer) throws(ErrorBody) -> CostResponse {
        guard case let (_, pricing?) = try resolve(vocab: request.vocab, model: request.model) else {
            throw ErrorBody(code: .invalidRequest, message: "op 'cost' needs 'model'")
        }
        let budget = request.budget ?? pricing.defaultBudget
        let policy: SpecialTokenPolicy = request.allowSpecial ? .all : .none
        let counts = try forEachInput(request, line: line) { bytes in pricing.tokenizer.count(bytes, budget: budget, allowedSpecial: policy) }
        let estimate = pricing.estimate(counts, budget: budget, outputTokens: request.outputTokens ?? 0)
        return CostResponse(estimate, id: request.id)
    }

    private func listVocabularies(_ request: ParsedRequest) -> VocabulariesResponse {
        let loadedNames = Set(loaded.withLock { $0.keys })
        return VocabulariesResponse(id: request.id, defaults: defaults, vocabularies: vocabularies.map {
            .init(name: $0.entry.name, scheme: $0.entry.scheme, vocabSize: $0.entry.vocabSize,
                  loaded: loadedNames.contains($0.entry.name), usedBy: $0.entry.usedBy, source: $0.entry.source,
                  licence: $0.entry.licence)
        })
    }

    private func listModels(_ request: ParsedRequest) -> ModelsResponse {
        ModelsResponse(id: request.id, pricesFrom: catalog.pricesFrom, models: catalog.models.map(ModelsResponse.Model.init))
    }

    // MARK: - Vocabularies and inputs

    /// The tokenizer a request names: its model's (through the price table), its `vocab`, or the default.
    private func resolve(vocab: String?, model: String?) throws(ErrorBody) -> (Tokenizer, ModelPricing?) {
        do {
            if let model {
                let pricing = try ModelPricing(model: model, vocabulary: vocab, catalog: catalog, load: { name throws(TokcError) in try self.tokenizer(named: name) })
                return (pricing.tokenizer, pricing)
            }
            guard let name = vocab ?? defaults[Scheme.bpe.rawValue] else {
                throw TokcError.unknownVocabulary(name: "default", known: vocabularies.map(\.entry.name))
            }
            return (try tokenizer(named: name), nil)
        } catch {
            throw Self.errorBody(error)
        }
    }

    /// A loaded vocabulary by manifest name; loads it on first use and keeps it.
    func tokenizer(named name: String) throws(TokcError) -> Tokenizer {
        if let tokenizer = loaded.withLock({ $0[name] }) { return tokenizer }
        guard let located = vocabularies.first(where: { $0.entry.name == name }) else {
            throw .unknownVocabulary(name: name, known: vocabularies.map(\.entry.name))
        }
        return try loading.withLock { _ throws(TokcError) -> Tokenizer in
            if let tokenizer = loaded.withLock({ $0[name] }) { return tokenizer }
            let started = ContinuousClock.now
            let tokenizer = try registry.load(located)
            loaded.withLock { $0[name] = tokenizer }
            logger.info("vocabulary loaded", metadata: ["vocab": "\(name)", "duration": "\(ContinuousClock.now - started)"])
            return tokenizer
        }
    }

    /// Runs `body` over each text or file of the request, spread over the cores when there are several and
    /// enough bytes to be worth it, and returns the results in request order. Texts are read in place in the
    /// request line; files are read whole, one at a time per worker.
    private func forEachInput<Result: Sendable>(
        _ request: ParsedRequest, line: UnsafeRawBufferPointer,
        _ body: @escaping @Sendable (UnsafeBufferPointer<UInt8>) -> Result
    ) throws(ErrorBody) -> [Result] {
        let texts = request.texts ?? []
        let paths = request.paths ?? []
        let count = texts.count + paths.count
        let totalText = texts.reduce(0) { $0 + $1.byteCount() }
        let workers = count > 1 && (!paths.isEmpty || totalText >= Self.parallelThreshold) ? min(count, threads) : 1
        var results = [Swift.Result<Result, ErrorBody>?](repeating: nil, count: count)
        results.withUnsafeMutableBufferPointer { slots in
            // Each index is written by exactly one iteration, and the buffers outlive the loop.
            nonisolated(unsafe) let slots = slots
            nonisolated(unsafe) let line = line
            let work: @Sendable (Int) -> Void = { index in
                if index < texts.count {
                    slots[index] = .success(texts[index].withBytes(in: line, body))
                    return
                }
                let path = paths[index - texts.count]
                do {
                    let bytes = try FileIO.readAll(path)
                    slots[index] = .success(bytes.withUnsafeBufferPointer { body($0) })
                } catch {
                    slots[index] = .failure(ErrorBody(code: .unreadableFile, message: "\(error)"))
                }
            }
            if workers > 1 {
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    for index in stride(from: worker, to: count, by: workers) { work(index) }
                }
            } else {
                for index in 0..<count { work(index) }
            }
        }
        var collected: [Result] = []
        collected.reserveCapacity(count)
        for outcome in results {
            switch outcome {
            case let .success(value)?: collected.append(value)
            case let .failure(error)?: throw error
            case nil: throw ErrorBody(code: .serverData, message: "an input was not processed")
            }
        }
        return collected
    }

    /// Below this many bytes in all, a batch runs on one thread: handing work to others costs more than it saves.
    static let parallelThreshold = 64 * 1024

    static func errorBody(_ error: any Error) -> ErrorBody {
        guard let error = error as? TokcError else { return ErrorBody(code: .serverData, message: "\(error)") }
        let code: ErrorCode
        switch error {
        case .unknownVocabulary: code = .unknownVocab
        case .unknownModel: code = .unknownModel
        case .noTokenizer: code = .noTokenizer
        case .unknownTokenID: code = .unknownTokenID
        case .templateRefused: code = .templateRefused
        case .invalidTemplate: code = .invalidTemplate
        case .invalidRequest: code = .invalidRequest
        case .unreadableFile, .unwritableFile, .malformedFile, .checksumMismatch, .invalidVocabulary, .invalidPattern,
             .unknownPattern, .missingPattern, .malformedInput, .icuFailure:
            code = .serverData
        }
        return ErrorBody(code: code, message: error.description)
    }
}

extension JSONEncoder {
    /// The daemon's encoder: keys sorted, so every response has one byte-for-byte form.
    public static var `protocol`: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}


extension CostResponse {
    /// The response to a `cost` request for `estimate`; `tokc cost --json` prints the same object.
    public init(_ estimate: CostEstimate, id: RequestID = .none) {
        let model = estimate.pricing.model
        self.init(
            id: id, model: model.name, vocab: estimate.pricing.tokenizer.name, approximate: estimate.pricing.approximate,
            note: estimate.pricing.note, inputTokens: estimate.inputTokens, outputTokens: estimate.outputTokens,
            inputCostUSD: estimate.inputCostUSD, outputCostUSD: estimate.outputCostUSD, costUSD: estimate.costUSD,
            contextWindow: model.maxInputTokens, budget: estimate.budget, fits: estimate.fits,
            items: estimate.items.map { Item(tokens: $0.tokens, fits: $0.fits, budgetEndByte: $0.bytesWithinBudget) },
            priceSource: model.priceSource, priceDate: model.priceDate)
    }
}

extension ModelsResponse.Model {
    /// A catalogue model as the `models` op lists it; `tokc cost --list --json` prints the same objects.
    public init(_ model: ModelCatalog.Model) {
        self.init(
            name: model.name, provider: model.provider, family: model.family, vocab: model.vocabulary, approximate: model.approximate,
            note: model.tokenizerNote, maxInputTokens: model.maxInputTokens, maxOutputTokens: model.maxOutputTokens,
            inputUSDPerMillion: model.inputUSDPerMillion, outputUSDPerMillion: model.outputUSDPerMillion,
            priceSource: model.priceSource, priceDate: model.priceDate)
    }
}
