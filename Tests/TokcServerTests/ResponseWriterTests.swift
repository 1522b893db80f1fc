import Foundation
import NIOCore
import Testing
import TokcProtocol
@testable import TokcServer

/// The hand-written responses are byte for byte what `JSONEncoder.protocol` writes.
@Suite struct ResponseWriterTests {
    func both(_ value: some Encodable) throws -> (hand: String, encoder: String) {
        var buffer = ByteBuffer()
        try ResponseWriter.write(value, to: &buffer)
        let encoded = try JSONEncoder.protocol.encode(value)
        return (String(buffer: buffer), String(decoding: encoded, as: UTF8.self) + "\n")
    }

    static let awkward = "quote \" backslash \\ slash / nl \n cr \r tab \t bell \u{7} nul \u{0} del \u{7F} é 東京 😀"

    @Test func countEncodeAndErrorMatchTheEncoder() throws {
        let values: [any Encodable] = [
            CountResponse(id: .number(-42), vocab: "o200k_base", counts: [0, 1, 123_456_789], bytes: [0, 3, 999]),
            CountResponse(id: .string(Self.awkward), vocab: "v", model: "gpt-4o", approximate: false, counts: [], bytes: []),
            CountResponse(id: .none, vocab: "v", model: "claude", approximate: true, note: Self.awkward, counts: [7], bytes: [9]),
            EncodeResponse(id: .number(1), vocab: "o200k_base", ids: [[0, 4_294_967_295, 17], [], [5]]),
            EncodeResponse(id: .none, vocab: "x", ids: []),
            EncodeResponse(id: .number(2), vocab: "o200k_base", ids: [[7, 9], []], offsets: [[
                TokenOffset(id: 7, start: 0, end: 3, utf16Start: 0, utf16End: 1, text: Self.awkward),
                TokenOffset(id: 9, start: 3, end: 7, utf16Start: 1, utf16End: 3, hex: "f09f98"),
            ], []]),
            EncodeResponse(id: .number(3), vocab: "o200k_base", ids: [[7, 9], []], offsetArrays: [
                OffsetArrays(start: [0, 3], end: [3, 7], utf16Start: [0, 1], utf16End: [1, 123_456]), OffsetArrays(),
            ]),
            EncodeResponse(id: .number(4), vocab: "o200k_base", ids: [[7]], offsets: [[
                TokenOffset(id: 7, start: 0, end: 3, utf16Start: 0, utf16End: 1, text: "a"),
            ]], offsetArrays: [OffsetArrays(start: [0], end: [3], utf16Start: [0], utf16End: [1])]),
            ErrorResponse(id: .string("a"), error: ErrorBody(code: .invalidRequest, message: Self.awkward)),
            ErrorResponse(id: .none, error: ErrorBody(code: .malformedJSON, message: "m")),
        ]
        for value in values {
            let (hand, encoder) = try both(value)
            #expect(hand == encoder)
        }
    }

    @Test func healthParsesToTheSameObject() throws {
        let (hand, encoder) = try both(HealthResponse(id: .number(3), status: "ok", version: "0.1.0", pid: 1234, uptimeSeconds: 12.5))
        let parsedHand = try JSONSerialization.jsonObject(with: Data(hand.utf8)) as? NSDictionary
        let parsedEncoder = try JSONSerialization.jsonObject(with: Data(encoder.utf8)) as? NSDictionary
        #expect(parsedHand == parsedEncoder && parsedHand != nil)
    }
}
