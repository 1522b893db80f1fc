/// The `.tiktoken` file format: one token per line, `base64(token bytes) SP rank LF`. The rank is the token id
/// and the merge priority. The file holds neither the split pattern nor the special tokens: those come from
/// the manifest that names the file (`Vocabularies/manifest.json`).
public enum TiktokenFormat {
    /// Parses `.tiktoken` content. `path` only names the file in errors.
    ///
    /// Errors name the 1-based line: a line without exactly one space, a token that is not padded base64 or is
    /// empty, a rank that is not a decimal below 2³², a repeated token or rank; and, for the whole file, a
    /// vocabulary that lacks one of the 256 single bytes that byte-level BPE needs.
    public static func parse(_ content: [UInt8], path: String) throws(TokcError) -> BPEEncoder {
        var tokenBytes: [UInt8] = []
        tokenBytes.reserveCapacity(content.count / 2)
        var entries: [(id: TokenID, range: Range<Int>)] = []
        entries.reserveCapacity(content.count / 12)
        var entryLines: [Int] = []  // the line of each entry, to name lines in errors found while indexing
        entryLines.reserveCapacity(content.count / 12)

        let parsed: Result<Void, TokcError> = content.withUnsafeBufferPointer { file in
            var lineNumber = 0
            var lineStart = 0
            while lineStart < file.count {
                lineNumber += 1
                var lineEnd = lineStart
                while lineEnd < file.count && file[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
                var contentEnd = lineEnd
                if contentEnd > lineStart && file[contentEnd - 1] == UInt8(ascii: "\r") { contentEnd -= 1 }
                defer { lineStart = lineEnd + 1 }
                if contentEnd == lineStart {
                    // Only a final empty line (a trailing newline) is allowed.
                    if lineEnd >= file.count - 1 { continue }
                    return .failure(.malformedFile(path: path, line: lineNumber, expected: "'<base64 token> <rank>', found an empty line"))
                }
                let line = UnsafeBufferPointer(rebasing: file[lineStart..<contentEnd])
                guard let space = line.firstIndex(of: UInt8(ascii: " ")),
                      line[(space + 1)...].firstIndex(of: UInt8(ascii: " ")) == nil
                else {
                    return .failure(.malformedFile(path: path, line: lineNumber, expected: "'<base64 token> <rank>' with exactly one space"))
                }
                let rankText = UnsafeBufferPointer(rebasing: line[(space + 1)...])
                guard let rank = parseDecimal(rankText) else {
                    return .failure(.malformedFile(path: path, line: lineNumber, expected: "a decimal rank below 4294967295 after the space"))
                }
                let start = tokenBytes.count
                guard Base64.decode(UnsafeBufferPointer(rebasing: line[..<space]), appendingTo: &tokenBytes) else {
                    return .failure(.malformedFile(path: path, line: lineNumber, expected: "a padded base64 token before the space"))
                }
                guard tokenBytes.count > start else {
                    return .failure(.malformedFile(path: path, line: lineNumber, expected: "a non-empty token"))
                }
                entries.append((rank, start..<tokenBytes.count))
                entryLines.append(lineNumber)
            }
            return .success(())
        }
        try parsed.get()

        let table: TokenTable
        do {
            table = try TokenTable(bytes: tokenBytes, entries: entries)
        } catch {
            // Error path only: find the lines by a linear scan.
            func lines(of id: TokenID) -> [Int] { entries.indices.filter { entries[$0].id == id }.map { entryLines[$0] } }
            switch error {
            case let .duplicateBytes(first, second):
                throw .malformedFile(path: path, line: lines(of: second).last ?? 0, expected: "a token not listed before, found the bytes of rank \(first) (line \(lines(of: first).first ?? 0)) again")
            case let .duplicateID(id):
                let found = lines(of: id)
                throw .malformedFile(path: path, line: found.dropFirst().first ?? 0, expected: "a rank not used before, found \(id) again (first on line \(found.first ?? 0))")
            case .emptyToken, .tooLarge:
                throw .invalidVocabulary(path: path, reason: "too large to index (at most 4 GiB of token bytes and 2³¹ tokens)")
            }
        }
        guard let encoder = BPEEncoder(table: table) else {
            let missing = (0...UInt8.max).first { byte in withUnsafePointer(to: byte) { table.id(of: $0, count: 1) == nil } }!
            throw .invalidVocabulary(path: path, reason: "byte-level BPE needs all 256 single bytes as tokens; byte 0x\(String(missing, radix: 16, uppercase: true)) is missing")
        }
        return encoder
    }

    /// Writes `encoder`'s tokens in `.tiktoken` form, in id order.
    public static func serialize(_ encoder: BPEEncoder) -> [UInt8] {
        var output: [UInt8] = []
        for id in 0..<TokenID(encoder.idLimit) {
            guard let bytes = encoder.table.bytes(of: id) else { continue }
            output += Base64.encode(bytes).utf8
            output.append(UInt8(ascii: " "))
            output += String(id).utf8
            output.append(UInt8(ascii: "\n"))
        }
        return output
    }

    private static func parseDecimal(_ text: UnsafeBufferPointer<UInt8>) -> TokenID? {
        guard !text.isEmpty, text.count <= 10 else { return nil }
        var value: UInt64 = 0
        for byte in text {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + UInt64(byte - UInt8(ascii: "0"))
        }
        return value < UInt64(TokenID.max) ? TokenID(value) : nil
    }
}
