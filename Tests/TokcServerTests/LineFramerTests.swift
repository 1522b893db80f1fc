import NIOCore
import Testing
import TokcProtocol

@Suite struct LineFramerTests {
    func frames(_ chunks: [String], limit: Int = 16) -> [String] {
        var framer = LineFramer(maxLineBytes: limit)
        var buffer = ByteBuffer()
        var result: [String] = []
        for chunk in chunks {
            buffer.writeString(chunk)
            while let frame = framer.nextFrame(&buffer) {
                switch frame {
                case let .line(line): result.append(String(buffer: line))
                case let .tooLarge(bytes): result.append("<too large: \(bytes)>")
                }
            }
        }
        return result
    }

    @Test func splitsLinesAcrossReadsAndDropsCRAndBlankLines() {
        #expect(frames(["ab", "c\nde", "f\r\n", "\n  \n\r\n", "g\n"]) == ["abc", "def", "g"])
    }

    @Test func anOverLongLineIsReportedWithItsLengthAndTheNextLineIsIntact() {
        // Arrives in pieces: dropped as it comes, reported at its newline.
        #expect(frames(["0123456789", "0123456789", "01234\nok\n"]) == ["<too large: 25>", "ok"])
        // Arrives whole.
        #expect(frames([String(repeating: "x", count: 40) + "\nok\n"]) == ["<too large: 40>", "ok"])
        // Exactly the limit is accepted.
        #expect(frames([String(repeating: "y", count: 16) + "\n"]) == [String(repeating: "y", count: 16)])
    }

    @Test func waitsForTheNewline() {
        #expect(frames(["{\"op\":", "\"health\"}"]) == [])
    }
}
