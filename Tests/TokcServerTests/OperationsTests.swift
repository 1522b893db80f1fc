import Foundation
import Testing
import TokcTestSupport
import Tokc
import TokcClient
import TokcProtocol
import TokcServer

/// Every operation through the Swift client, each answer checked against the library in-process.
@Suite(.serialized) struct OperationsTests {
    static let texts = [
        "hello world", "東京タワーは日本の電波塔です。", "  \r\n\twhitespace  runs\n\n\n", "👩‍👩‍👧‍👦 ZWJ", "ｶﾀｶﾅ half-width", "",
    ]

    @Test func countMatchesTheLibraryForEachText() async throws {
        let daemon = try await Daemon.start()
        let client = daemon.client()
        let tokenizer = try Tokenizer.named("o200k_base")
        let answer = try await client.count(Self.texts)
        #expect(answer.vocab == "o200k_base")
        #expect(answer.counts == Self.texts.map { tokenizer.count($0) })
        #expect(answer.bytes == Self.texts.map(\.utf8.count))
        #expect(answer.total == answer.counts.reduce(0, +))
        #expect(answer.model == nil && answer.approximate == nil)

        let cl100k = try await client.count(Self.texts, vocab: "cl100k_base")
        let reference = try Tokenizer.named("cl100k_base")
        #expect(cl100k.counts == Self.texts.map { reference.count($0) })
        await client.close()
        await daemon.stop()
    }

    @Test func countByModelSaysWhetherItIsExact() async throws {
        let daemon = try await Daemon.start()
        let client = daemon.client()
        let exact = try await client.count(["hello world"], model: "gpt-4")
        #expect(exact.vocab == "cl100k_base" && exact.approximate == false && exact.note == nil && exact.counts == [2])
        let proxy = try await client.count(["hello world"], model: "claude-sonnet-4-5")
        #expect(proxy.vocab == "o200k_base" && proxy.approximate == true)
        #expect(proxy.note?.contains("Anthropic does not publish") == true)
        await client.close()
        await daemon.stop()
    }

    @Test func countSpecialTokensOnlyWhenAllowed() async throws {
        let daemon = try await Daemon.start()
        let client = daemon.client()
        let plain = try await client.count(["<|endoftext|>"])
        let special = try await client.count(["<|endoftext|>"], allowSpecial: true)
        #expect(plain.counts == [try Tokenizer.named("o200k_base").count("<|endoftext|>")])
        #expect(plain.counts[0] > 1 && special.counts == [1])
        await client.close()
        await daemon.stop()
    }

    @Test func countPathsReadsTheBytesThemselvesEvenIllFormedUTF8() async throws {
        let daemon = try await Daemon.start()
        let client = daemon.client()
        let bytes: [UInt8] = Array("abc ".utf8) + [0xFF, 0xFE, 0xC3] + Array(" 日本語\r\n".utf8)
        let path = daemon.folder + "/input.bin"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let tokenizer = try Tokenizer.named("o200k_base")
        let answer = try await client.count(paths: [path, path])
        #expect(answer.counts == [tokenizer.count(bytes), tokenizer.count(bytes)])
        #expect(answer.bytes == [bytes.count, bytes.count])
        await client.close()
        await daemon.stop()
    }

    @Test func largeBatchIsSpreadAndStillInOrder() async throws {
        let daemon = try await Daemon.start()
        let client = daemon.client()
        let texts = (0..<24).map { index in
            String(repeating: Self.texts[index % Self.texts.count] + " \(index * 37 % 1000) ", count: 300 + index * 50)
        }
        let tokenizer = try Tokenizer.named("o200k_base")
        let answer = try await client.count(texts)
        #expect(answer.counts == texts.map { tokenizer.count($0) })
        await client.close()
        await daemon.stop()
    }

    /// `"offsets": true`: the library's spans, with UTF-16 offsets and each token's bytes as text or hex.
    @Test func encodeWithOffsetsMatchesTheLibrary() async throws {
        let daemon = try await Daemon.start()
        let client = daemon.client()
        for vocab in ["o200k_base", "bert-base-uncased", "mistral-v1"] {
            let tokenizer = try Tokenizer.named(vocab)
            let answer = try await client.encode(Self.texts, vocab: vocab, offsets: true)
            let offsets = try #require(answer.offsets)
            #expect(answer.ids == Self.texts.map { tokenizer.encode($0) })
            #expect(offsets.map { $0.map(\.id) } == answer.ids)
            for (text, tokens) in zip(Self.texts, offsets) {
                let spans = tokenizer.encodeWithOffsets(text)
                #expect(tokens.map { TokenSpan(id: $0.id, start: $0.start, end: $0.end) } == spans, "\(vocab): \(text)")
                let utf16 = Array(text.utf16)
                let bytes = Array(text.utf8)
                for token in tokens {
                    // The UTF-16 span is the same stretch of the text as the byte span.
                    #expect(String(decoding: utf16[token.utf16Start..<token.utf16End], as: UTF16.self) == String(decoding: bytes[token.start..<token.end], as: UTF8.self))
                    let own = try #require(tokenizer.tokenBytes(of: token.id))
                    #expect(token.text.map { Array($0.utf8) } ?? token.hex.map(Self.bytes(fromHex:)) == own)
                    #expect((token.text == nil) != (token.hex == nil))
                }
            }
        }
        // Without the flag the answer has no offsets.
        #expect(try await client.encode(["hello"]).offsets == nil)
        #expect(try await client.encode(["hello"]).offsetArrays == nil)
        await client.close()
        await daemon.stop()
    }

    /// `"offset_arrays": true`: the same spans as `offsets`, as parallel lists; alone, no `offsets`.
    @Test func offsetArraysAreTheOffsetsAsLists() async throws {
        let daemon = try await Daemon.start()
        let client = daemon.client()
        for vocab in ["o200k_base", "bert-base-uncased", "mistral-v1"] {
            let both = try await client.encode(Self.texts, vocab: vocab, offsets: true, offsetArrays: true)
            let objects = try #require(both.offsets)
            let lists = try #require(both.offsetArrays)
            #expect(lists == objects.map { tokens in
                OffsetArrays(start: tokens.map(\.start), end: tokens.map(\.end), utf16Start: tokens.map(\.utf16Start), utf16End: tokens.map(\.utf16End))
            }, "\(vocab)")
            let alone = try await client.encode(Self.texts, vocab: vocab, offsetArrays: true)
            #expect(alone.offsets == nil)
            #expect(alone.offsetArrays == lists && alone.ids == both.ids)
            #expect(zip(lists, both.ids).allSatisfy { $0.start.count == $1.count })
        }
        await client.close()
        await daemon.stop()
    }

    static func bytes(fromHex hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<($0 + 2)], as: UTF8.self), radix: 16)! }
    }

    @Test func encodeAndDecodeRoundTrip() async throws {
        let daemon = try await Daemon.start()
        let client = daemon.client()
        let tokenizer = try Tokenizer.named("o200k_base")
        let encoded = try await client.encode(Self.texts)
        #expect(encoded.ids == Self.texts.map { tokenizer.encode($0) })
        let decoded = try await client.decode(encoded.ids)
        #expect(decoded.texts == Self.texts)
        #expect(decoded.lossy == Self.texts.map { _ in false })

        // A token that is one byte of a three-byte character decodes to U+FFFD, and says so.
        let partial = tokenizer.encode([0xE6])
        let lossy = try await client.decode([partial])
        #expect(lossy.texts == ["\u{FFFD}"] && lossy.lossy == [true])
        await client.close()
        await daemon.stop()
    }

    /// Any key of the catalogue is priced by the daemon exactly as `tokc cost --json` prices it; a key it does
    /// not know is `unknown_model` with the closest known keys.
    @Test func everyCatalogueKeyIsPricedAsTheCommandLinePricesIt() async throws {
        let daemon = try await Daemon.start()
        let client = daemon.client()
        let text = "The quick brown fox jumps over the lazy dog. 東京タワーは日本の電波塔です。"
        let file = daemon.folder + "/prompt.txt"
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        for key in ["together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo", "azure/gpt-4o", "bedrock_mantle/qwen.qwen3-235b-a22b-2507",
                    "deepinfra/Qwen/Qwen3.5-27B", "vertex_ai/claude-sonnet-4-5@20250929"] {
            var answer = try await client.cost([text], model: key, outputTokens: 100)
            let cli = Process()
            cli.executableURL = URL(fileURLWithPath: binaryBesideTests("tokc"))
            cli.arguments = ["cost", "--model", key, "--output-tokens", "100", "--json", file]
            let output = Pipe()
            cli.standardOutput = output
            try cli.run()
            let printed = output.fileHandleForReading.readDataToEndOfFile()
            cli.waitUntilExit()
            #expect(cli.terminationStatus == 0, "\(key)")
            var expected = try JSONDecoder().decode(CostResponse.self, from: printed)
            // The command line names the file it read; the daemon was given the text. The rest is the same.
            (answer.id, expected.id) = (.none, .none)
            #expect(answer == expected, "\(key)")
            #expect(answer.model == key && answer.inputTokens > 0 && answer.costUSD != nil, "\(key)")
        }
        let connection = try await daemon.raw()
        let unknown = try await connection.ask(#"{"id":1,"op":"cost","texts":["a"],"model":"together_ai/meta-llama/Llama-3.3-70B-Instruct-Turb"}"#)
        #expect(unknown.errorCode == "unknown_model")
        #expect(unknown.errorMessage?.contains("similar: together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo") == true, "\(unknown)")
        await client.close()
        await daemon.stop()
    }

    @Test func costPricesTokensAndFindsWhereTheBudgetEnds() async throws {
        let daemon = try await Daemon.start()
        let client = daemon.client()
        let text = "The quick brown fox jumps over the lazy dog. 東京タワーは日本の電波塔です。"
        let tokenizer = try Tokenizer.named("o200k_base")
        let ids = tokenizer.encode(text)

        let full = try await client.cost([text], model: "gpt-4o", outputTokens: 1000)
        #expect(full.vocab == "o200k_base" && !full.approximate)
        #expect(full.inputTokens == ids.count && full.outputTokens == 1000)
        #expect(full.inputCostUSD == Double(ids.count) * 2.5 / 1_000_000)
        #expect(full.outputCostUSD == 1000 * 10.0 / 1_000_000)
        #expect(full.costUSD == full.inputCostUSD! + full.outputCostUSD!)
        #expect(full.contextWindow == 128_000 && full.budget == 128_000 && full.fits)
        #expect(full.items == [CostResponse.Item(tokens: ids.count, fits: true, budgetEndByte: text.utf8.count)])
        #expect(full.priceDate == "2026-11-23" && full.priceSource != nil)

        let budget = 7
        let cut = try await client.cost([text, "hi"], model: "gpt-4o", budget: budget)
        let prefix = try tokenizer.decode(ids.prefix(budget))
        #expect(cut.items[0] == CostResponse.Item(tokens: ids.count, fits: false, budgetEndByte: prefix.count))
        #expect(Array(text.utf8.prefix(prefix.count)) == prefix)
        #expect(cut.items[1] == CostResponse.Item(tokens: 1, fits: true, budgetEndByte: 2))
        #expect(!cut.fits && cut.budget == budget)

        let estimate = try await client.cost([text], model: "gemini-2.5-pro")
        #expect(estimate.approximate && estimate.vocab == "o200k_base" && estimate.note?.contains("Gemini") == true)
        let proxy = try await client.cost([text], model: "gpt-4o", vocab: "cl100k_base")
        #expect(proxy.approximate && proxy.vocab == "cl100k_base" && proxy.note?.contains("not gpt-4o's own tokenizer (o200k_base)") == true)
        await client.close()
        await daemon.stop()
    }

    @Test func listsHealthAndStats() async throws {
        let daemon = try await Daemon.start { $0.preload = ["cl100k_base"] }
        let client = daemon.client()
        let vocabularies = try await client.vocabularies()
        #expect(vocabularies.defaults == ["bpe": "o200k_base", "wordpiece": "bert-base-uncased", "unigram": "unigram-multi-8k", "ungreedy": "ungreedy-multi-8k"])
        #expect(vocabularies.vocabularies.map(\.name) == shippedVocabularyNames)
        #expect(vocabularies.vocabularies.map(\.loaded) == shippedVocabularyNames.map { $0 == "cl100k_base" })
        #expect(vocabularies.vocabularies.map(\.vocabSize) == [
            200_019, 100_277, 50_257, 50_281, 201_088, 128_256, 202_048, 128_815, 32_000, 30_522, 8_000, 8_000,
            151_665, 248_070, 151_343, 154_856, 200_061, 65_000, 32_768, 32_768, 131_072, 262_144, 32_000, 256_000, 163_842,
        ])

        let models = try await client.models()
        let gpt4o = try #require(models.models.first { $0.name == "gpt-4o" })
        #expect(gpt4o.vocab == "o200k_base" && !gpt4o.approximate && gpt4o.inputUSDPerMillion == 2.5 && gpt4o.maxInputTokens == 128_000)
        #expect(models.pricesFrom.contains("LiteLLM"))

        let health = try await client.health()
        #expect(health.status == "ok" && health.version == TokcServer.version && health.pid == getpid())

        _ = try await client.count(["hello world"])
        let stats = try await client.stats()
        #expect(stats.requests["vocabularies"] == 1 && stats.requests["models"] == 1 && stats.requests["count"] == 1)
        #expect(stats.bytesTokenized == 11 && stats.tokens == 2)
        #expect(stats.connectionsOpen == 1 && stats.connectionsTotal == 1 && stats.inFlight == 1)
        #expect(stats.loadedVocabularies == ["cl100k_base", "o200k_base"])
        #expect(stats.errors.isEmpty)
        await client.close()
        await daemon.stop()
    }

    @Test func manyConcurrentCallsShareOneConnection() async throws {
        let daemon = try await Daemon.start()
        let client = daemon.client()
        let tokenizer = try Tokenizer.named("o200k_base")
        let results = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for index in 0..<200 {
                group.addTask { (index, try await client.count([String(repeating: "ab ", count: index)]).total) }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        for index in 0..<200 {
            #expect(results[index] == tokenizer.count(String(repeating: "ab ", count: index)))
        }
        let stats = try await client.stats()
        #expect(stats.connectionsTotal == 1)
        await client.close()
        await daemon.stop()
    }
}
