import Foundation
import Testing
import TokcTestSupport
import Tokc
import TokcClient
import TokcProtocol
import TokcServer

/// Bad requests, sent as raw bytes: each gets an error object with its id, and the connection keeps serving.
@Suite(.serialized) struct ErrorTests {
    /// (request line, expected id as JSON text, expected code, a fragment of the message).
    static let cases: [(String, String, String, String)] = [
        (#"{"id":1,"op":"count","texts":["a"#, "null", "malformed_json", "the line is not valid JSON: a string is not closed at byte 32"),
        (#"{"id":1,"op":"count","texts":["a",]}"#, "null", "malformed_json", "the line is not valid JSON: unexpected ']' at byte 34"),
        (#"{"id":1,"op":"count","texts":["\ud800"]}"#, "null", "malformed_json", "a high surrogate \\ud800 without its low half at byte 37"),
        ("{\"id\":1,\"op\":\"count\",\"texts\":[\"\u{7}\"]}", "null", "malformed_json", "a control character inside a string must be escaped at byte 31"),
        (String(repeating: "[", count: 40) + String(repeating: "]", count: 40), "null", "malformed_json", "nesting deeper than 32 at byte 32"),
        (#"{"id":1,"op":"count","op":"count","texts":["a"]}"#, "1", "invalid_request", "field 'op' appears twice"),
        (#"{"id":1.5,"op":"health"}"#, "null", "invalid_request", "field 'id' must be an integer, a string or null"),
        ("[1,2,3]", "null", "malformed_json", "a request is a JSON object"),
        (#""just a string""#, "null", "malformed_json", "a request is a JSON object"),
        (#"{"id":2,"op":"translate"}"#, "2", "unknown_op", "unknown op 'translate'; ops: count, encode"),
        (#"{"id":3}"#, "3", "invalid_request", "missing field 'op'"),
        (#"{"id":"x","op":"count","texts":["a"],"vocab":"o300k"}"#, "\"x\"", "unknown_vocab", "unknown vocabulary 'o300k'; known: o200k_base, cl100k_base, r50k_base, p50k_base, o200k_harmony, llama3, llama4, deepseek-v3, mistral-v1, bert-base-uncased, unigram-multi-8k, ungreedy-multi-8k"),
        (#"{"id":5,"op":"count","texts":["a"],"model":"gpt4o"}"#, "5", "unknown_model", "similar: gpt-4o"),
        (#"{"id":7,"op":"count","texts":"hello"}"#, "7", "invalid_request", "field 'texts' must be a list of strings, not a string"),
        (#"{"id":8,"op":"count","texts":["a",3]}"#, "8", "invalid_request", "field 'texts[1]' must be a string, not a number"),
        (#"{"id":9,"op":"count","texts":["a"],"allow_special":"yes"}"#, "9", "invalid_request", "field 'allow_special' must be true or false"),
        (#"{"id":10,"op":"count","textz":["a"]}"#, "10", "invalid_request", "unknown field 'textz'"),
        (#"{"id":11,"op":"count","texts":["a"],"ids":[[1]]}"#, "11", "invalid_request", "field 'ids' is not read by op 'count'"),
        (#"{"id":12,"op":"count"}"#, "12", "invalid_request", "needs exactly one of 'texts' or 'paths'"),
        (#"{"id":13,"op":"count","texts":["a"],"paths":["/a"]}"#, "13", "invalid_request", "needs exactly one of 'texts' or 'paths'"),
        (#"{"id":14,"op":"count","paths":["relative.txt"]}"#, "14", "invalid_request", "is not absolute"),
        (#"{"id":15,"op":"count","paths":["/nonexistent/tokc-test"]}"#, "15", "unreadable_file", "/nonexistent/tokc-test: cannot read"),
        (#"{"id":16,"op":"decode","ids":[[9,4000000000]]}"#, "16", "unknown_token_id", "ids[0]: token id 4000000000 at position 1"),
        (#"{"id":17,"op":"decode","ids":[[-1]]}"#, "17", "invalid_request", "field 'ids[0][0]' is -1, not a token id (0 to 4294967295)"),
        (#"{"id":18,"op":"cost","texts":["a"]}"#, "18", "invalid_request", "op 'cost' needs 'model'"),
        (#"{"id":19,"op":"cost","texts":["a"],"model":"gpt-4o","budget":0}"#, "19", "invalid_request", "'budget' must be a positive"),
        (#"{"id":20,"op":"health","texts":["a"]}"#, "20", "invalid_request", "field 'texts' is not read by op 'health'"),
        (#"{"id":[1],"op":"health"}"#, "null", "invalid_request", "field 'id' must be an integer, a string or null"),
        (#"{"id":21,"op":"encode","texts":["a"],"offsets":1}"#, "21", "invalid_request", "field 'offsets' must be true or false"),
        (#"{"id":22,"op":"count","texts":["a"],"offsets":true}"#, "22", "invalid_request", "field 'offsets' is not read by op 'count'"),
        (#"{"id":23,"op":"encode","texts":["a"],"offset_arrays":"yes"}"#, "23", "invalid_request", "field 'offset_arrays' must be true or false"),
        (#"{"id":24,"op":"count","texts":["a"],"offset_arrays":true}"#, "24", "invalid_request", "field 'offset_arrays' is not read by op 'count'"),
    ]

    /// A model the price table lists with no vocabulary is `no_tokenizer`, and the connection goes on.
    @Test func aModelWithNoVocabularyIsNoTokenizer() async throws {
        let prices = NSTemporaryDirectory() + "tokc-prices-\(UUID().uuidString).json"
        try Data(#"{"format_version": 1, "models": [{"name": "mystery", "vocabulary": null, "approximate": true, "tokenizer_note": "nobody knows"}]}"#.utf8)
            .write(to: URL(fileURLWithPath: prices))
        let daemon = try await Daemon.start { $0.pricesFile = prices }
        let connection = try await daemon.raw()
        let refused = try await connection.ask(#"{"id":6,"op":"cost","texts":["a"],"model":"mystery"}"#)
        #expect(refused.errorCode == "no_tokenizer" && refused.errorMessage?.contains("'mystery'") == true, "\(refused)")
        #expect(try await connection.ask(#"{"id":7,"op":"count","texts":["hello world"]}"#)["counts"] as? [Int] == [2])
        await daemon.stop()
    }

    @Test func everyBadRequestGetsAnErrorAndTheConnectionGoesOn() async throws {
        let daemon = try await Daemon.start()
        let connection = try await daemon.raw()
        for (line, id, code, fragment) in Self.cases {
            try await connection.send(line + "\n")
            guard let answer = try await connection.readLine() else {
                Issue.record("connection closed after \(line)")
                break
            }
            let object = try #require(try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any])
            #expect(object.errorCode == code, "\(line) → \(answer)")
            #expect(object.errorMessage?.contains(fragment) == true, "\(line) → \(answer)")
            let idText = String(decoding: try JSONSerialization.data(withJSONObject: object["id"] ?? NSNull(), options: .fragmentsAllowed), as: UTF8.self)
            #expect(idText == id, "\(line) → \(answer)")
            #expect(Set(object.keys) == ["id", "error"], "\(answer)")
        }
        let health = try await connection.ask(#"{"id":99,"op":"health"}"#)
        #expect(health["status"] as? String == "ok" && health["id"] as? Int == 99)

        let stats = try await connection.ask(#"{"op":"stats"}"#)
        let errors = try #require(stats["errors"] as? [String: Int])
        #expect(errors.values.reduce(0, +) == Self.cases.count)
        #expect(errors["invalid_request"] == Self.cases.filter { $0.2 == "invalid_request" }.count)
        await daemon.stop()
    }

    @Test func anOversizedRequestIsDroppedAsItArrivesAndAnswered() async throws {
        let daemon = try await Daemon.start { $0.maxRequestBytes = 4096 }
        let connection = try await daemon.raw()
        let big = #"{"id":1,"op":"count","texts":[""# + String(repeating: "x", count: 100_000) + #""]}"#
        let tooLarge = try await connection.ask(big)
        #expect(tooLarge.errorCode == "request_too_large")
        #expect(tooLarge.errorMessage == "the request has \(big.utf8.count) bytes; this daemon takes at most 4096 bytes per line (--max-request-bytes)")
        // Within the limit, on the same connection, answered as usual.
        let fits = try await connection.ask(#"{"id":2,"op":"count","texts":["hello world"]}"#)
        #expect(fits["counts"] as? [Int] == [2] && fits["id"] as? Int == 2)
        await daemon.stop()
    }

    @Test func clientErrorsAreTyped() async throws {
        let daemon = try await Daemon.start()
        let client = daemon.client()
        await #expect(throws: TokcClientError.server(ErrorBody(code: .unknownVocab, message: "unknown vocabulary 'nope'; known: \(shippedVocabularyNames.joined(separator: ", "))"))) {
            _ = try await client.count(["a"], vocab: "nope")
        }
        // The connection survives an error answer.
        #expect(try await client.count(["hello world"]).total == 2)
        await client.close()
        await daemon.stop()

        let nobody = TokcClient(socketPath: daemon.folder + "/absent.sock")
        do {
            _ = try await nobody.health()
            Issue.record("expected connectFailed")
        } catch {
            guard case let .connectFailed(path, _) = error else {
                Issue.record("expected connectFailed, got \(error)")
                return
            }
            #expect(path == daemon.folder + "/absent.sock")
        }
    }
}
