import Foundation
import Testing
import TokcProtocol
@testable import TokcServer

@Suite struct RequestParserTests {
    func parse(_ line: String) -> (request: ParsedRequest?, texts: [String], failure: RequestParser.Failure?) {
        let bytes = Array(line.utf8)
        return bytes.withUnsafeBytes { raw in
            switch RequestParser.parse(raw) {
            case let .success(request): return (request, (request.texts ?? []).map { $0.string(in: raw) }, nil)
            case let .failure(failure): return (nil, [], failure)
            }
        }
    }

    @Test func escapesAndSurrogatePairsDecodeToTheirUTF8() {
        let parsed = parse(#" { "op" : "count" , "texts" : [ "plain é 東京", "a\"b\\c\/d\n\r\t\b\f", "\u00e9\u6771\ud83d\ude00" ] , "id" : -7 } "#)
        #expect(parsed.failure == nil)
        #expect(parsed.texts == ["plain é 東京", "a\"b\\c/d\n\r\t\u{8}\u{C}", "é東😀"])
        #expect(parsed.request?.id == .number(-7))
    }

    @Test func stringsWithoutEscapesAreSlicesOfTheLine() throws {
        let line = Array(#"{"op":"count","texts":["in place","esc\naped"]}"#.utf8)
        let request = try line.withUnsafeBytes { try RequestParser.parse($0).get() }
        guard case let .slice(range)? = request.texts?.first else {
            Issue.record("expected a slice")
            return
        }
        #expect(Array(line[range]) == Array("in place".utf8))
        guard case .unescaped? = request.texts?.last else {
            Issue.record("expected an unescaped copy")
            return
        }
    }

    @Test func fieldsAndTheirTypes() {
        let parsed = parse(#"{"id":"a","op":"cost","model":"gpt-4o","vocab":null,"texts":["x"],"budget":10,"output_tokens":0,"allow_special":true}"#)
        #expect(parsed.request?.model == "gpt-4o" && parsed.request?.vocab == nil && parsed.request?.budget == 10)
        #expect(parsed.request?.outputTokens == 0 && parsed.request?.allowSpecial == true && parsed.request?.id == .string("a"))
        let decode = parse(#"{"op":"decode","ids":[[0,4294967295],[]]}"#)
        #expect(decode.request?.ids == [[0, 4_294_967_295], []])
        #expect(parse(#"{"op":"cost","model":"m","texts":["x"],"budget":1.5}"#).failure?.error.message == "field 'budget' must be an integer")
        #expect(parse(#"{"op":"decode","ids":[[4294967296]]}"#).failure?.error.message == "field 'ids[0][0]' is 4294967296, not a token id (0 to 4294967295)")
        #expect(parse(#"{"op":"count","vocab":3,"texts":[]}"#).failure?.error.message == "field 'vocab' must be a string, not a number")
    }

    @Test func malformedJSONSaysWhere() {
        let cases: [(String, String)] = [
            ("", "a value is missing at byte 0"),
            ("{} x", "unexpected 'x' after the value at byte 3"),
            (#"{"op" "count"}"#, "expected ':' after a key, found '\"' at byte 6"),
            ("{op:1}", "expected a key in quotes, found 'o' at byte 1"),
            (#"{"op":tru}"#, "unexpected 't' at byte 6"),
            (#"{"id":01}"#, "expected ',' or '}', found '1' at byte 7"),
            (#"{"id":-}"#, "a number has no digits at byte 7"),
            (#"{"a":"\x"}"#, "unknown escape 'x' after a backslash at byte 8"),
            (#"{"a":"\u12"}"#, "\\u needs four hex digits at byte 10"),
        ]
        for (line, message) in cases {
            let failure = parse(line).failure
            #expect(failure?.error.code == .malformedJSON, "\(line)")
            #expect(failure?.error.message.contains(message) == true, "\(line): \(failure?.error.message ?? "no failure")")
        }
        let invalidUTF8: [UInt8] = Array(#"{"op":"count","texts":[""#.utf8) + [0xC3, 0x28] + Array(#""]}"#.utf8)
        let failure = invalidUTF8.withUnsafeBytes { raw -> RequestParser.Failure? in
            if case let .failure(failure) = RequestParser.parse(raw) { return failure }
            return nil
        }
        #expect(failure?.error.message == "the line is not valid JSON: a string is not UTF-8 at byte 24")
    }

    /// Specials at every offset around the eight-byte fast path decode as Foundation decodes them.
    @Test func specialsAtEveryOffsetDecodeLikeFoundation() throws {
        let specials = ["\\\"", "\\\\", "\\n", "\\u00e9", "é", "東", "😀", "\\ud83d\\ude00", "~", " "]
        for special in specials {
            for offset in 0..<20 {
                for tail in [0, 1, 7, 8, 9] {
                    let literal = String(repeating: "a", count: offset) + special + String(repeating: "b", count: tail)
                    let line = #"{"op":"count","texts":[""# + literal + #""]}"#
                    let expected = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                    let parsed = parse(line)
                    #expect(parsed.texts == expected["texts"] as? [String], "\(line)")
                }
            }
        }
    }
}
