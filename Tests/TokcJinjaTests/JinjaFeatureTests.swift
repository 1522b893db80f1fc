import Foundation
import Testing
import TokcJinja
import TokcTestSupport

/// The interpreter against Python's jinja2, feature by feature: `Tests/Fixtures/jinja-features.jsonl`, made by
/// `scripts/make-jinja-fixtures.py` with jinja2 3.1.6 in transformers' chat-template environment.
@Suite struct JinjaFeatureTests {
    static let records: [(id: String, template: String, variables: JinjaValue, output: String?, error: String?, message: String?)] = {
        let path = References.repositoryRoot + "/Tests/Fixtures/jinja-features.jsonl"
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return data.split(separator: UInt8(ascii: "\n")).compactMap { line in
            guard case .dictionary(let record)? = try? JinjaValue.parseJSON(Array(line)),
                  case .string(let id)? = record["id"], case .string(let template)? = record["template"] else { return nil }
            func text(_ key: String) -> String? {
                if case .string(let value)? = record[key] { return value }
                return nil
            }
            return (id, template, record["variables"] ?? .dictionary([]), text("output"), text("error"), text("message"))
        }
    }()

    static func variables(_ value: JinjaValue) -> [String: JinjaValue] {
        guard case .dictionary(let dictionary) = value else { return [:] }
        return Dictionary(uniqueKeysWithValues: dictionary.pairs)
    }

    @Test func everyFeatureRendersAsJinja2Does() throws {
        #expect(Self.records.count == 54)
        for record in Self.records {
            if let expected = record.output {
                let rendered = try? JinjaTemplate(record.template).render(Self.variables(record.variables))
                #expect(rendered == expected, "\(record.id)")
            } else {
                #expect(throws: JinjaError.self, "\(record.id) (jinja2: \(record.error ?? "?"))") {
                    try JinjaTemplate(record.template).render(Self.variables(record.variables))
                }
            }
        }
    }

    /// A template's own refusal carries its own words, for the CLI to print and the daemon to return.
    @Test func raiseExceptionCarriesTheTemplatesMessage() throws {
        let record = try #require(Self.records.first { $0.id == "raise" })
        #expect(throws: JinjaError.raised(try #require(record.message))) {
            try JinjaTemplate(record.template).render(Self.variables(record.variables))
        }
    }

    @Test func errorsNameTheLine() throws {
        #expect(throws: JinjaError.syntax("'{% endif %}' missing for the tag opened here", line: 2)) {
            try JinjaTemplate("a\n{% if true %}x\n")
        }
        #expect(throws: JinjaError.unsupported("the 'include' statement", line: 3)) {
            try JinjaTemplate("a\n\n{% include 'other.jinja' %}")
        }
        #expect(throws: JinjaError.unsupported("the 'center' filter", line: 1)) {
            try JinjaTemplate("{{ 'x' | center(9) }}").render([:])
        }
        #expect(throws: JinjaError.runtime("'messages' is undefined", line: 2)) {
            try JinjaTemplate("\n{{ messages[0] }}").render([:])
        }
    }

    /// transformers' AssistantTracker tag renders its body.
    @Test func generationBlocksRenderTheirBody() throws {
        #expect(try JinjaTemplate("a{% generation %}b{% endgeneration %}c").render([:]) == "abc")
    }

    /// Sandbox limits: a loop that would run for ever, output that doubles, recursion without end.
    @Test func limitsStopRunawayTemplates() throws {
        let limits = JinjaLimits(outputBytes: 1 << 20, loopIterations: 10_000, callDepth: 32)
        #expect(throws: JinjaError.limit("more than 10000 loop iterations (line 1)")) {
            try JinjaTemplate("{% for a in range(1000) %}{% for b in range(1000) %}x{% endfor %}{% endfor %}").render([:], limits: limits)
        }
        #expect(throws: JinjaError.limit("a string past 1048576 bytes")) {
            try JinjaTemplate("{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}").render([:], limits: limits)
        }
        #expect(throws: JinjaError.limit("calls nested deeper than 32 (line 1)")) {
            try JinjaTemplate("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}").render([:], limits: limits)
        }
        #expect(throws: JinjaError.limit("the output passed 1048576 bytes")) {
            try JinjaTemplate("{% for i in range(9000) %}{{ 'x' * 200 }}{% endfor %}").render([:], limits: limits)
        }
    }

    @Test func jsonKeepsKeyOrderAndPythonNumbers() throws {
        let value = try JinjaValue.parseJSON(#"{"b": 1, "a": [1.0, 2.50, 1e-3, 10000000000000000.0, "\u00e9\ud83d\ude00"]}"#)
        #expect(try JinjaTemplate("{{ v | tojson }}").render(["v": value]) == #"{"b": 1, "a": [1.0, 2.5, 0.001, 1e+16, "é😀"]}"#)
        #expect(throws: JinjaError.json("JSON: expected ',' or '}' at byte 8")) { try JinjaValue.parseJSON(#"{"a": 1 "b": 2}"#) }
    }
}

/// Inputs built to exhaust the parser's stack are refused with a limit, not a crash.
@Suite struct JinjaNestingTests {
    @Test func deepNestingIsRefused() throws {
        let parentheses = "{{ " + String(repeating: "(", count: 5_000) + "1" + String(repeating: ")", count: 5_000) + " }}"
        #expect(throws: JinjaError.limit("an expression nested deeper than 100 (line 1)")) { try JinjaTemplate(parentheses) }
        let minus = "{{ " + String(repeating: "- ", count: 5_000) + "1 }}"
        #expect(throws: JinjaError.limit("an expression nested deeper than 100 (line 1)")) { try JinjaTemplate(minus) }
        let blocks = String(repeating: "{% if true %}", count: 5_000) + String(repeating: "{% endif %}", count: 5_000)
        #expect(throws: JinjaError.limit("blocks nested deeper than 100 (line 1)")) { try JinjaTemplate(blocks) }
        #expect(throws: JinjaError.limit("range() of more than 1000000 numbers")) { try JinjaTemplate("{{ range(-9223372036854775807, 9223372036854775807) }}").render([:]) }
        #expect(throws: JinjaError.limit("a string past 67108864 bytes")) { try JinjaTemplate("{{ 'ab' * 9223372036854775807 }}").render([:]) }
        let nested = try JinjaTemplate(String(repeating: "{% if true %}", count: 50) + "x" + String(repeating: "{% endif %}", count: 50))
        #expect(try nested.render([:]) == "x")
    }
}
