#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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
        // Decoded tokens are at most 3/4 of the file; one buffer, filled in place, trimmed at the end.
        var tokenBytes = [UInt8](repeating: 0, count: content.count / 4 * 3 + 3)
        var tokenBytesCount = 0
        var entries: [(id: TokenID, range: Range<Int>)] = []
        entries.reserveCapacity(content.count / 16)

        let parsed: Result<Void, TokcError> = content.withUnsafeBufferPointer { file in
            tokenBytes.withUnsafeMutableBufferPointer { decoded in
                guard let base = file.baseAddress else { return .success(()) }
                var lineNumber = 0
                var lineStart = 0
                while lineStart < file.count {
                    lineNumber += 1
                    let lineEnd = memchr(base + lineStart, Int32(UInt8(ascii: "\n")), file.count - lineStart)
                        .map { UnsafeRawPointer($0) - UnsafeRawPointer(base) } ?? file.count
                    var contentEnd = lineEnd
                    if contentEnd > lineStart && file[contentEnd - 1] == UInt8(ascii: "\r") { contentEnd -= 1 }
                    defer { lineStart = lineEnd + 1 }
                    if contentEnd == lineStart {
                        // Only a final empty line (a trailing newline) is allowed.
                        if lineEnd >= file.count - 1 { continue }
                        return .failure(.malformedFile(path: path, line: lineNumber, expected: "'<base64 token> <rank>', found an empty line"))
                    }
                    // The rank is a few digits at the end: find its space from the right. A second space, if
                    // any, is in the token part, which then fails to decode; the error path says which.
                    var space = contentEnd - 1
                    while space > lineStart && file[space] != UInt8(ascii: " ") { space -= 1 }
                    let line = UnsafeBufferPointer(rebasing: file[lineStart..<contentEnd])
                    guard file[space] == UInt8(ascii: " "),
                          let rank = parseDecimal(UnsafeBufferPointer(rebasing: file[(space + 1)..<contentEnd])),
                          let length = Base64.decode(UnsafeBufferPointer(rebasing: file[lineStart..<space]), into: decoded.baseAddress! + tokenBytesCount),
                          length > 0
                    else {
                        return .failure(lineError(line, path: path, lineNumber: lineNumber))
                    }
                    entries.append((rank, tokenBytesCount..<tokenBytesCount + length))
                    tokenBytesCount += length
                }
                return .success(())
            }
        }
        try parsed.get()
        tokenBytes.removeLast(tokenBytes.count - tokenBytesCount)

        let table: TokenTable
        do {
            table = try TokenTable(bytes: tokenBytes, entries: entries)
        } catch {
            // Error path only: find the lines by a linear scan.
            // Every line but a final empty one holds an entry, so entry `i` is on line `i + 1`.
            func lines(of id: TokenID) -> [Int] { entries.indices.filter { entries[$0].id == id }.map { $0 + 1 } }
            switch error {
            case let .duplicateBytes(first, second):
                throw .malformedFile(path: path, line: lines(of: second).last ?? 0, expected: "a token not listed before, found the bytes of rank \(first) (line \(lines(of: first).first ?? 0)) again")
            case let .duplicateID(id):
                let found = lines(of: id)
                throw .malformedFile(path: path, line: found.dropFirst().first ?? 0, expected: "a rank not used before, found \(id) again (first on line \(found.first ?? 0))")
            case let .sparseIDs(highest, limit):
                throw .malformedFile(path: path, line: lines(of: highest).first ?? 0, expected: "a rank below \(limit) (twice the number of tokens plus 65,536), found \(highest)")
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

    /// Why `line` is not `<base64 token> <rank>`, checked in the order a reader would: spaces, rank, token.
    private static func lineError(_ line: UnsafeBufferPointer<UInt8>, path: String, lineNumber: Int) -> TokcError {
        guard let space = line.firstIndex(of: UInt8(ascii: " ")),
              line[(space + 1)...].firstIndex(of: UInt8(ascii: " ")) == nil
        else {
            return .malformedFile(path: path, line: lineNumber, expected: "'<base64 token> <rank>' with exactly one space")
        }
        guard parseDecimal(UnsafeBufferPointer(rebasing: line[(space + 1)...])) != nil else {
            return .malformedFile(path: path, line: lineNumber, expected: "a decimal rank below 4294967295 after the space")
        }
        var decoded: [UInt8] = []
        guard Base64.decode(UnsafeBufferPointer(rebasing: line[..<space]), appendingTo: &decoded) else {
            return .malformedFile(path: path, line: lineNumber, expected: "a padded base64 token before the space")
        }
        return .malformedFile(path: path, line: lineNumber, expected: "a non-empty token")
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
