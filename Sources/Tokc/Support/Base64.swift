/// Standard base64 (RFC 4648 §4, `+/`, `=` padding), decoded straight into an output array: the `.tiktoken`
/// reader decodes 200,000 short tokens into one buffer without a `Data` per line.
enum Base64 {
    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        for (value, symbol) in alphabet.enumerated() { table[Int(symbol)] = UInt8(value) }
        return table
    }()

    /// Appends the decoding of `text` to `output`. Returns false (output then holds a partial decoding) if
    /// `text` is not canonical padded base64.
    static func decode(_ text: UnsafeBufferPointer<UInt8>, appendingTo output: inout [UInt8]) -> Bool {
        guard text.count % 4 == 0 else { return false }
        var index = 0
        while index < text.count {
            let isLast = index + 4 == text.count
            let a = decodeTable[Int(text[index])], b = decodeTable[Int(text[index + 1])]
            guard a != 0xFF, b != 0xFF else { return false }
            output.append(a << 2 | b >> 4)
            let third = text[index + 2], fourth = text[index + 3]
            if isLast && third == UInt8(ascii: "=") {
                guard fourth == UInt8(ascii: "="), b & 0x0F == 0 else { return false }
                return true
            }
            let c = decodeTable[Int(third)]
            guard c != 0xFF else { return false }
            output.append(b << 4 | c >> 2)
            if isLast && fourth == UInt8(ascii: "=") {
                guard c & 0x03 == 0 else { return false }
                return true
            }
            let d = decodeTable[Int(fourth)]
            guard d != 0xFF else { return false }
            output.append(c << 6 | d)
            index += 4
        }
        return true
    }

    static func encode(_ bytes: some Collection<UInt8>) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next(), third = iterator.next()
            output.append(alphabet[Int(first >> 2)])
            output.append(alphabet[Int((first & 0x03) << 4 | (second ?? 0) >> 4)])
            output.append(second.map { alphabet[Int(($0 & 0x0F) << 2 | (third ?? 0) >> 6)] } ?? UInt8(ascii: "="))
            output.append(third.map { alphabet[Int($0 & 0x3F)] } ?? UInt8(ascii: "="))
        }
        return String(decoding: output, as: UTF8.self)
    }
}
