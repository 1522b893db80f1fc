import Foundation
import Testing
import Tokc

/// The README's promises, held to the code: its Swift example compiles and runs (it is written out below and
/// must equal the README's text), and its test command is the one CI runs.
@Suite struct ReadmeTests {
    static func readme() throws -> String {
        String(decoding: try FileIO.readAll(Fixtures.repositoryRoot + "/README.md"), as: UTF8.self)
    }

    /// The README example, verbatim between the markers.
    static func example() throws -> (count: Int, ids: [TokenID], bytes: [UInt8], withSpecials: [TokenID], text: String) {
        // README example start
        let tok = try Tokenizer.named("o200k_base")
        let text = "Tokens, exactly: 東京タワーは日本の電波塔です。"
        let count = tok.count(text)                  // counts without storing ids
        let ids = tok.encode(text)                   // [UInt32]
        let bytes = try tok.decode(ids)              // the UTF-8 of `text`, exactly
        let withSpecials = tok.encode("<|endoftext|>", allowedSpecial: .all)  // [199999]
        // README example end
        return (count, ids, bytes, withSpecials, text)
    }

    @Test func exampleRunsAndSaysWhatItDoes() throws {
        let result = try Self.example()
        #expect(result.count == result.ids.count)
        #expect(result.bytes == Array(result.text.utf8))
        #expect(result.withSpecials == [199_999])
    }

    @Test func exampleIsTheREADMEText() throws {
        let source = String(decoding: try FileIO.readAll(#filePath), as: UTF8.self)
        let start = try #require(source.range(of: "// README example start\n"))
        let end = try #require(source.range(of: "        // README example end"))
        let code = source[start.upperBound..<end.lowerBound].split(separator: "\n").map { $0.dropFirst(8) }.joined(separator: "\n")
        let readme = try Self.readme()
        let block = try #require(readme.range(of: "<!-- example:start -->\n```swift\nimport Tokc\n\n"))
        let blockEnd = try #require(readme.range(of: "\n```\n<!-- example:end -->"))
        #expect(String(readme[block.upperBound..<blockEnd.lowerBound]) == code)
    }

    @Test func ciRunsTheREADMETestCommand() throws {
        let ci = String(decoding: try FileIO.readAll(Fixtures.repositoryRoot + "/.ci/run"), as: UTF8.self)
        let line = try #require(ci.split(separator: "\n").first { $0.hasPrefix("TEST_COMMAND=") })
        let command = line.dropFirst("TEST_COMMAND='".count).dropLast()
        let setUp = try Self.readme().components(separatedBy: "```sh\n")[1].components(separatedBy: "\n```")[0]
            .split(separator: "\n")
        #expect(setUp.count == 2)
        #expect(setUp.last.map(String.init) == String(command))
        #expect(setUp.first?.contains("tokc count --scheme bpe") == true)
    }
}
